"""Whether the helper classes a sibling module lends through a star import fit the calls the
file makes of them.

Course repositories often keep an ``activation.py`` of another assignment beside the cell
under check: its ``Tanh`` has no ``__call__``, no ``derivative``, or a ``backward`` without
the ``state`` keyword the cell passes. The file cannot run with it as it is; lstmlint's own
helper of that name (``extract.STAND_IN_HELPERS``) stands in where it fits every such call.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from lstmlint.pytree import python_tree


def unfit_helpers(tree: ast.Module, sibling: ast.Module, stand_ins: dict[str, str]) -> list[str]:
    """The classes of ``sibling`` named in ``stand_ins`` (name -> source) that some call in
    ``tree`` cannot be made of, while the stand-in of that name takes every call."""
    classes = {
        stmt.name: stmt
        for stmt in sibling.body
        if isinstance(stmt, ast.ClassDef) and stmt.name in stand_ins
    }
    defined_here = {getattr(stmt, "name", None) for stmt in tree.body}
    classes = {name: node for name, node in classes.items() if name not in defined_here}
    calls = _calls_of_instances(tree, classes)
    unfit = []
    for name, node in classes.items():
        made = calls.get(name, [])
        standing_in = _class_in(stand_ins[name])
        if any(not _takes(node, *c) for c in made) and all(_takes(standing_in, *c) for c in made):
            unfit.append(name)
    return sorted(unfit)


def _class_in(source: str) -> ast.ClassDef:
    node = python_tree(source).body[0]
    assert isinstance(node, ast.ClassDef)
    return node


def _calls_of_instances(
    tree: ast.Module, classes: Iterable[str]
) -> dict[str, list[tuple[str, ast.Call]]]:
    """class name -> (method, call) for every call of an instance (``__call__``) or of one of
    its methods, where the instance is held by a name or attribute assigned ``Class(...)``."""
    classes = set(classes)
    holders: dict[str, str] = {}  # the holder's source (`self.act`) -> its class
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in classes
        ):
            for target in node.targets:
                if isinstance(target, (ast.Name, ast.Attribute)):
                    holders[ast.unparse(target)] = node.value.func.id
    found: dict[str, list[tuple[str, ast.Call]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, (ast.Name, ast.Attribute)) and ast.unparse(node.func) in holders:
            found.setdefault(holders[ast.unparse(node.func)], []).append(("__call__", node))
        elif isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) in holders:
            owner = holders[ast.unparse(node.func.value)]
            found.setdefault(owner, []).append((node.func.attr, node))
    return found


def _takes(cls: ast.ClassDef, method: str, call: ast.Call) -> bool:
    """Whether ``cls`` defines ``method`` so that ``call`` binds to its parameters. A class
    with a base may inherit what it lacks: it is taken to fit."""
    if cls.bases or cls.keywords:
        return True
    definition = next(
        (s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == method), None
    )
    if definition is None:
        return False
    arguments = definition.args
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return True  # `*args` or `**kwargs` at the call: their length is not known here
    positional = [*arguments.posonlyargs, *arguments.args][1:]  # past `self`
    if len(call.args) > len(positional) and arguments.vararg is None:
        return False
    by_keyword = {a.arg for a in [*arguments.args, *arguments.kwonlyargs]}
    given = {a.arg for a in positional[: len(call.args)]}
    for keyword in call.keywords:
        if keyword.arg in given or (keyword.arg not in by_keyword and arguments.kwarg is None):
            return False
        given.add(keyword.arg)
    needed = [a.arg for a in positional[: len(positional) - len(arguments.defaults)]]
    needed += [
        a.arg
        for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if default is None
    ]
    return all(name in given for name in needed)

"""The arguments a module's own code passes to a function: a notebook's demonstration cell
(``xt = np.random.randn(3, 10)``, ``parameters = {"Wax": ...}``, ``rnn_cell_forward(xt, ...)``).

Only statements made of NumPy's array constructors and random draws, literals, dict and
tuple displays, arithmetic and names they bound before are ever run; any other statement is
left out, and a call that needs what it binds gets no arguments from here. The statements are
checked again where they run (``arguments``), so what the child runs is what this module
accepts, whoever built the text.
"""

from __future__ import annotations

import ast
from typing import Any

from lstmlint.pytree import python_tree

# the NumPy functions a demonstration may call to make its arrays
CONSTRUCTORS = frozenset(
    {
        "seed",
        "randn",
        "rand",
        "random",
        "random_sample",
        "normal",
        "uniform",
        "standard_normal",
        "randint",
        "zeros",
        "ones",
        "full",
        "eye",
        "array",
        "asarray",
        "arange",
        "linspace",
        "zeros_like",
        "ones_like",
        "reshape",
    }
)
MAX_STATEMENTS = 200


def numpy_aliases(tree: ast.Module) -> set[str]:
    """The names ``tree`` binds to the NumPy module at its top level."""
    names = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            names |= {a.asname or a.name for a in stmt.names if a.name == "numpy"}
    return names


def find(tree: ast.Module, function: str) -> dict[str, Any] | None:
    """The first top-level call of ``function`` whose arguments are names and literals, with
    the statements before it that may run: ``{"statements", "args", "kwargs", "line"}``."""
    aliases = numpy_aliases(tree)
    if not aliases:
        return None
    kept: list[str] = []
    for stmt in tree.body[:MAX_STATEMENTS]:
        call = _call_of(stmt, function)
        if call is not None:
            if not all(_plain(a) for a in [*call.args, *(k.value for k in call.keywords)]):
                continue
            if any(k.arg is None for k in call.keywords) or any(
                isinstance(a, ast.Starred) for a in call.args
            ):
                continue
            return {
                "statements": "\n".join(kept),
                "aliases": sorted(aliases),
                "args": [ast.unparse(a) for a in call.args],
                "kwargs": {k.arg: ast.unparse(k.value) for k in call.keywords},
                "line": stmt.lineno,
            }
        if allowed(stmt, aliases):
            kept.append(ast.unparse(stmt))
    return None


def arguments(site: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Run the call site's statements (each checked again) and evaluate its arguments."""
    import numpy

    aliases = set(site["aliases"])
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update(dict.fromkeys(aliases, numpy))
    for stmt in python_tree(site["statements"]).body:
        if not allowed(stmt, aliases):
            raise ValueError(f"a statement that may not run: {ast.unparse(stmt)[:60]}")
        exec(compile(ast.Module(body=[stmt], type_ignores=[]), "<call site>", "exec"), namespace)

    def value(text: str) -> Any:
        node = python_tree(text, mode="eval").body
        if not _plain(node):
            raise ValueError(f"an argument that is not a name or a literal: {text[:60]}")
        return eval(compile(ast.Expression(node), "<call site>", "eval"), namespace)

    return [value(a) for a in site["args"]], {k: value(v) for k, v in site["kwargs"].items()}


def _call_of(stmt: ast.stmt, function: str) -> ast.Call | None:
    value = stmt.value if isinstance(stmt, (ast.Assign, ast.Expr)) else None
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == function
    ):
        return value
    return None


def _plain(node: ast.AST) -> bool:
    return isinstance(node, (ast.Name, ast.Constant))


def allowed(stmt: ast.stmt, aliases: set[str]) -> bool:
    """Whether ``stmt`` only makes arrays: an assignment to names, tuples of names or a dict's
    item, or a bare ``np.random.seed(...)``, of an expression ``_making_arrays`` accepts."""
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Call) and _making_arrays(stmt.value, aliases)
    if not isinstance(stmt, ast.Assign):
        return False
    return all(_target(t) for t in stmt.targets) and _making_arrays(stmt.value, aliases)


def _target(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return not node.id.startswith("_")
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_target(e) for e in node.elts)
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant)
    )


def _making_arrays(node: ast.AST, aliases: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            if not _constructor(sub.func, aliases) or any(k.arg is None for k in sub.keywords):
                return False
        elif isinstance(sub, ast.Attribute):
            if not (_constructor(sub, aliases) or _inside_constructor(sub, aliases)):
                if sub.attr not in ("T", "shape"):
                    return False
        elif isinstance(sub, ast.Name):
            if sub.id.startswith("_"):
                return False
        elif not isinstance(
            sub,
            (
                ast.Constant,
                ast.Tuple,
                ast.List,
                ast.Dict,
                ast.BinOp,
                ast.UnaryOp,
                ast.Subscript,
                ast.Slice,
                ast.Load,
                ast.Store,
                ast.keyword,
                ast.operator,
                ast.unaryop,
            ),
        ):
            return False
    return True


def _constructor(func: ast.AST, aliases: set[str]) -> bool:
    """``np.zeros``, ``np.random.randn``: a constructor reached from a NumPy alias."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in aliases or not parts:
        return False
    parts.reverse()
    return parts[-1] in CONSTRUCTORS and parts[:-1] in ([], ["random"])


def _inside_constructor(node: ast.Attribute, aliases: set[str]) -> bool:
    """``np.random`` within ``np.random.randn``: a step of a constructor's dotted name."""
    value = node.value
    return isinstance(value, ast.Name) and value.id in aliases and node.attr == "random"

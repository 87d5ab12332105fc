"""Functions that read a module-level variable where their own argument holds the same value.

A notebook often builds its test values at the top level (``Wf = np.random.randn(5, 8)``,
``parameters = {"Wf": Wf, ...}``) and then calls ``lstm_cell_backward(da, dc, cache)``, whose
``parameters`` come from the cache. A function that reads ``Wf`` instead of
``parameters["Wf"]`` gets the top-level test value: its gradients are right only while that
value happens to equal the parameters it was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.names import dotted, string_key, walk


@dataclass
class GlobalRead:
    """``name`` read from the module at ``node``, while the function's ``holder`` (a local
    name or an attribute of one, ``self.params``) is a dict that holds it under that key."""

    statement: cst.CSTNode
    node: cst.Name
    name: str
    holder: str
    quote: str


def global_reads(module: cst.Module) -> list[GlobalRead]:
    """Every such read, in the order of the module's functions."""
    top = _module_variables(module)
    if not top:
        return []
    keyed = _dict_keys(module)
    found: list[GlobalRead] = []
    for func in _functions(module):
        own = _locals(func)
        for statement in _statements(func):
            for node in _names_read(statement):
                name = node.value
                if name in own or name not in top:
                    continue
                holders = [
                    (h, q) for h, q in keyed.get(name, []) if h.split(".")[0] in own and h != name
                ]
                holders = list(dict.fromkeys(holders))
                if len({h for h, _ in holders}) == 1:
                    holder, quote = holders[0]
                    found.append(GlobalRead(statement, node, name, holder, quote))
    return found


def _module_variables(module: cst.Module) -> set[str]:
    """Names assigned a computed value (``np.random.randn(5, 8)``, not ``0.1``) by plain
    assignments at the top level (notebook cells included)."""
    names: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(n, cst.Call) for n in walk(small.value)
                ):
                    for target in small.targets:
                        names.update(_bound(target.target))
    return names


def _dict_keys(module: cst.Module) -> dict[str, list[tuple[str, str]]]:
    """For each string key: the names of dicts seen holding it, ``P["Wf"]`` or
    ``P = {"Wf": Wf}``, with the key's quote character."""
    keyed: dict[str, list[tuple[str, str]]] = {}
    for node in walk(module):
        holder = dotted(node.value) if isinstance(node, cst.Subscript) else None
        if holder is not None and holder.count(".") <= 1:
            element = node.slice[0] if len(node.slice) == 1 else None
            index = element.slice if element is not None else None
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                key = string_key(index.value)
                if key:
                    keyed.setdefault(key, []).append((holder, index.value.quote))
        elif (
            isinstance(node, cst.Assign)
            and isinstance(node.value, cst.Dict)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
        ):
            for element in node.value.elements:
                if isinstance(element, cst.DictElement) and isinstance(
                    element.key, cst.SimpleString
                ):
                    key = string_key(element.key)
                    if key:
                        holder = node.targets[0].target.value
                        keyed.setdefault(key, []).append((holder, element.key.quote))
    return keyed


def _functions(module: cst.Module) -> list[cst.FunctionDef]:
    return [n for n in walk(module) if isinstance(n, cst.FunctionDef)]


def _statements(func: cst.FunctionDef) -> list[cst.CSTNode]:
    """The small statements of ``func``'s own body (not of functions defined inside it)."""
    found: list[cst.CSTNode] = []

    def visit(node: cst.CSTNode) -> None:
        if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Lambda) and node is not func:
            return
        if isinstance(node, cst.BaseSmallStatement):
            found.append(node)
            return
        for child in node.children:
            visit(child)

    visit(func.body)
    return found


def _locals(func: cst.FunctionDef) -> set[str]:
    """Every name ``func`` binds (a local everywhere in it), less those it declares global."""
    own = {p.name.value for p in walk(func.params) if isinstance(p, cst.Param)}
    shared: set[str] = set()
    for node in walk(func.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                own.update(_bound(target.target))
        elif isinstance(node, cst.AugAssign | cst.AnnAssign | cst.For | cst.CompFor):
            own.update(_bound(node.target))
        elif isinstance(node, cst.NamedExpr | cst.AsName):
            own.update(_bound(node.target if isinstance(node, cst.NamedExpr) else node.name))
        elif isinstance(node, cst.FunctionDef | cst.ClassDef):
            own.add(node.name.value)
        elif isinstance(node, cst.ImportAlias) and node.asname is None:
            own.add(_first(node.name))
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            own.update(_bound(node.name.name))
        elif isinstance(node, cst.Global | cst.Nonlocal):
            shared.update(item.name.value for item in node.names)
    return own - shared


def _first(node: cst.BaseExpression) -> str:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _bound(target: cst.BaseExpression) -> set[str]:
    """The names a target binds: ``a``, ``a, (b, *c)``; not ``x[i]`` or ``self.x``."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return set().union(*(_bound(e.value) for e in target.elements))
    if isinstance(target, cst.StarredElement):
        return _bound(target.value)
    return set()


def _names_read(statement: cst.CSTNode) -> list[cst.Name]:
    """The names ``statement`` reads: every name but attribute names and keyword names."""
    keywords = {id(n.keyword) for n in walk(statement) if isinstance(n, cst.Arg) and n.keyword}
    return [
        n
        for n in walk(statement, attribute_names=False)
        if isinstance(n, cst.Name) and id(n) not in keywords
    ]

"""Two names for one array or list, each written as a history of its own.

``c = a`` after ``a = np.zeros((n_a, m, T))`` does not make a second array: ``c`` and ``a`` are
one, so ``c[:, :, t] = c_next`` overwrites the hidden states that ``a[:, :, t] = a_next`` just
stored (and ``zs = fs = []`` makes one list that both histories are appended to). The forward
then returns the wrong histories, and the backward that reads them computes the gradient of
another network.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.accumulators import assignment_pairs
from lstmlint.analysis.names import code_of, dotted, key_of

ARRAY_MAKERS = {"zeros": "zeros_like", "zeros_like": "zeros_like", "ones": "ones_like"}
ARRAY_MAKERS |= {"ones_like": "ones_like", "empty": "zeros_like", "empty_like": "zeros_like"}
GROWERS = ("append", "extend", "insert")


@dataclass
class SharedHistory:
    node: cst.BaseExpression  # the value both names were given
    names: tuple[str, ...]  # the names that are one object, in the order they were bound
    fix: str | None  # a new object for the later name (``np.zeros_like(a)``), where one is plain


def shared_histories(model) -> list[SharedHistory]:
    """Names bound to one fresh array or list (``c = a`` after ``a = np.zeros(...)``, or
    ``zs = fs = []``) that are both written element by element later in the same function,
    with neither bound to anything else in between."""
    scopes: dict[int, list] = {}
    seen: set[int] = set()
    for point in model.points:
        if id(point.statement) not in seen:
            seen.add(id(point.statement))
            scopes.setdefault(id(point.scope), []).append(point.statement)
    found = []
    for statements in scopes.values():
        for index, statement in enumerate(statements):
            shared = _shared_at(statement, statements[:index], model)
            if shared is not None and _both_written(shared.names, statements[index + 1 :]):
                found.append(shared)
    return found


def _shared_at(statement, before: list, model) -> SharedHistory | None:
    if not isinstance(statement, cst.Assign):
        return None
    keys = [key_of(t.target) for t in statement.targets]
    if len(keys) > 1 and all(keys) and _fresh(statement.value) is not None:
        return SharedHistory(statement.value, tuple(keys), None)  # zs = fs = []
    pairs = assignment_pairs(statement)
    if len(pairs) != 1 or pairs[0][1] is None:
        return None
    target, value = pairs[0]
    name, source = key_of(target), key_of(value)
    if not name or not source or name == source:
        return None
    maker = _last_binding(source, before)
    if maker is None:
        return None
    made = _fresh(maker)
    if made is None:
        return None
    head = (dotted(maker.func) or "").rpartition(".")[0] if made in ARRAY_MAKERS else ""
    fix = f"{head}.{ARRAY_MAKERS[made]}({code_of(value)})" if head else None
    return SharedHistory(value, (source, name), fix)


def _fresh(value: cst.BaseExpression) -> str | None:
    """What makes a new object here: a NumPy array maker's name, or "list" / "dict"."""
    if isinstance(value, cst.List):
        return "list"
    if isinstance(value, cst.Dict):
        return "dict"
    if isinstance(value, cst.Call):
        name = dotted(value.func) or ""
        head, _, function = name.rpartition(".")
        if head and function in ARRAY_MAKERS:
            return function
        if name in ("list", "dict") and not value.args:
            return name
    return None


def _last_binding(key: str, statements: list) -> cst.BaseExpression | None:
    """The value ``key`` was last bound to by one of ``statements`` (None if not plainly)."""
    for statement in reversed(statements):
        if isinstance(statement, cst.Assign):
            for target, value in assignment_pairs(statement):
                if key_of(target) == key:
                    return value
            if any(key_of(t.target) == key for t in statement.targets):
                return statement.value
    return None


def _both_written(names: tuple[str, ...], after: list) -> bool:
    written: set[str] = set()
    for statement in after:
        if isinstance(statement, cst.Assign):
            for target, _ in assignment_pairs(statement):
                if key_of(target) in names:
                    return False  # bound to something else: no longer one object
        for target in _written(statement):
            if target in names:
                written.add(target)
        if len(written) > 1:
            return True
    return False


def _written(statement) -> list[str]:
    """The keys whose elements ``statement`` writes: ``a[t] = ...``, ``a[t] += ...``,
    ``hs.append(h)``."""
    if isinstance(statement, cst.Assign):
        targets = [t.target for t in statement.targets]
    elif isinstance(statement, cst.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Call):
        func = statement.value.func
        if isinstance(func, cst.Attribute) and func.attr.value in GROWERS:
            return [k for k in [key_of(func.value)] if k]
        return []
    else:
        return []
    return [k for t in targets if isinstance(t, cst.Subscript) for k in [key_of(t.value)] if k]

"""Small helpers for naming expressions: dotted call names and keys for values that flow."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Hashable
from contextlib import contextmanager
from types import UnionType

import libcst as cst


def dotted(node: cst.BaseExpression) -> str | None:
    """``np.tanh`` for an attribute chain of names, ``sigmoid`` for a name, else None."""
    # type() rather than isinstance in the hottest helpers: libcst's node classes are abstract
    # base classes, whose isinstance is slow, and these classes have no subclasses
    kind = type(node)
    if kind is cst.Name:
        return node.value
    if kind is cst.Attribute:
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_key(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.SimpleString:
        value = memoised("string", node, _evaluated)
        return value if isinstance(value, str) else None
    return None


def _evaluated(node: cst.SimpleString) -> str | bytes:
    return node.evaluated_value


def key_of(node: cst.BaseExpression) -> str | None:
    """A stable key for a storage location: ``h``, ``self.hs``, ``cache['h']``, ``self.params['Wf']``."""
    kind = type(node)
    if kind is cst.Name:
        return node.value
    if kind is cst.Attribute:
        base = key_of(node.value)
        return f"{base}.{node.attr.value}" if base else None
    if kind is cst.Subscript and len(node.slice) == 1:
        element = node.slice[0].slice
        if isinstance(element, cst.Index):
            text = string_key(element.value)
            base = key_of(node.value)
            if text is not None and base:
                return f"{base}[{text!r}]"
    return None


def self_attribute(node: cst.CSTNode) -> str | None:
    """``x`` for ``self.x``, else None."""
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
    ):
        return node.attr.value
    return None


def last_name(key: str | None) -> str | None:
    """The final component of a key: ``bf`` for ``self.params['bf']``, ``b_f`` for ``b_f``."""
    if not key:
        return None
    if key.endswith("]"):
        inner = key[key.rfind("[") + 1 : -1]
        return inner.strip("'\"")
    return key.rsplit(".", 1)[-1]


def code_of(node: cst.CSTNode) -> str:
    return memoised("code", node, _EMPTY_MODULE.code_for_node)


_EMPTY_MODULE = cst.Module(body=[])


_CHILD_FIELDS: dict[type, object] = {}
_LAYOUT_FIELDS = (
    "whitespace",
    "lpar",
    "rpar",
    "lbracket",
    "rbracket",
    "lbrace",
    "rbrace",
    "comma",
    "semicolon",
    "colon",
    "leading_lines",
    "lines_after_decorators",
    "trailing_whitespace",
    "header",
    "footer",
    "newline",
    "equal",
    "star",
    "dot",
    "asynchronous",
)


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct child nodes, read from the node's fields (cheaper than ``node.children``)."""
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind) or _child_fields(kind)
    found: list[cst.CSTNode] = []
    for value in fields(node):
        kind = type(value)
        known = _NODE_TYPES.get(kind)
        if known is None:
            known = _is_node(kind)
        if known:
            found.append(value)
        elif kind is list or kind is tuple:
            found.extend(item for item in value if _is_node(type(item)))
    return found


def _child_fields(kind: type):
    """A function giving the values of the fields of ``kind`` that may hold child nodes, as a
    tuple. Whitespace, comments, commas and brackets are nodes too, and most of a tree: no query
    looks at them, so they are never visited."""
    import dataclasses
    from operator import attrgetter

    names = [f.name for f in dataclasses.fields(kind) if not f.name.startswith(_LAYOUT_FIELDS)]
    if not names:
        getter = _no_fields
    elif len(names) == 1:
        one = attrgetter(names[0])
        getter = lambda node: (one(node),)  # noqa: E731 - attrgetter of one name gives no tuple
    else:
        getter = attrgetter(*names)
    _CHILD_FIELDS[kind] = getter
    return getter


def _no_fields(node: cst.CSTNode) -> tuple:
    return ()


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    # CSTNode is an abstract base class: isinstance on it is slow, and this runs on every field
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return known


def walk(node: cst.CSTNode, *, attribute_names: bool = True) -> list[cst.CSTNode]:
    """Every node below ``node`` (itself first, in source order), without libcst's visitor
    machinery, which rebuilds nodes as it goes. With ``attribute_names=False`` the ``attr`` of
    ``a.b`` is left out (it is not a variable). Inside a tree being analysed (``indexed``) this
    is a slice of one precomputed order, so the many small queries of the rules cost little."""
    found = _WHERE.get(id(node))
    if found is not None:
        index, start = found
        nodes = index.order[start : index.ends[start]]
        if attribute_names:
            return nodes
        attrs = index.attrs
        return [n for n in nodes if id(n) not in attrs]
    return list(_walk(node, attribute_names))


def _walk(node: cst.CSTNode, attribute_names: bool):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not attribute_names and isinstance(current, cst.Attribute):
            stack.append(current.value)
            continue
        stack.extend(reversed(children(current)))


class _Index:
    """The nodes of one tree in source order, where each subtree ends, and the ``attr`` names."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.order: list[cst.CSTNode] = []
        self.ends: list[int] = []
        self.attrs: set[int] = set()
        self.memo: dict[tuple[Hashable, int], object] = {}
        self.kinds: dict[type | UnionType, tuple[list[int], list[cst.CSTNode]]] = {}
        order, ends = self.order, self.ends
        stack: list = [root]
        while stack:
            current = stack.pop()
            if type(current) is int:  # the end marker of the subtree that starts there
                ends[current] = len(order)
                continue
            position = len(order)
            _WHERE[id(current)] = (self, position)
            order.append(current)
            ends.append(0)
            stack.append(position)
            if type(current) is cst.Attribute:
                self.attrs.add(id(current.attr))
            stack.extend(reversed(children(current)))

    def of_kind(self, kind: type | UnionType) -> tuple[list[int], list[cst.CSTNode]]:
        """Where the nodes of ``kind`` sit in the order, and the nodes (found once per kind)."""
        found = self.kinds.get(kind)
        if found is None:
            starts = [i for i, n in enumerate(self.order) if _is_a(type(n), kind)]
            found = self.kinds[kind] = (starts, [self.order[i] for i in starts])
        return found

    def forget(self) -> None:
        for node in self.order:
            _WHERE.pop(id(node), None)


_WHERE: dict[int, tuple[_Index, int]] = {}


@contextmanager
def indexed(root: cst.CSTNode):
    """While inside, walks below ``root`` are slices and ``memoised`` results are kept; the
    nodes are held, so no other object can take one of their ids meanwhile."""
    index = _Index(root)
    try:
        yield
    finally:
        index.forget()


def nodes_of(node: cst.CSTNode, kind: type | UnionType) -> list:
    """The nodes below ``node`` (itself first) that are a ``kind``, in source order."""
    found = _WHERE.get(id(node))
    if found is None:
        return [n for n in walk(node) if _is_a(type(n), kind)]
    index, start = found
    starts, nodes = index.of_kind(kind)
    return nodes[bisect_left(starts, start) : bisect_left(starts, index.ends[start])]


_IS_A: dict[tuple[type, type | UnionType], bool] = {}


def _is_a(kind: type, wanted: type | UnionType) -> bool:
    known = _IS_A.get((kind, wanted))
    if known is None:
        known = _IS_A[(kind, wanted)] = issubclass(kind, wanted)
    return known


def parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """Each node below ``root``, by id, mapped to the node it sits in (computed once per node of
    an ``indexed`` tree, from where each subtree ends)."""
    return memoised("parents", root, _parents)


def _parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    found: dict[int, cst.CSTNode] = {}
    where = _WHERE.get(id(root))
    if where is None:
        for node in walk(root):
            for child in children(node):
                found[id(child)] = node
        return found
    index, start = where
    open_: list[int] = []
    for position in range(start, index.ends[start]):
        while open_ and index.ends[open_[-1]] <= position:
            open_.pop()
        if open_:
            found[id(index.order[position])] = index.order[open_[-1]]
        open_.append(position)
    return found


def memoised(what: Hashable, node: cst.CSTNode, compute):
    """``compute(node)``, computed once per node of an ``indexed`` tree (trees never change)."""
    found = _WHERE.get(id(node))
    if found is None:
        return compute(node)
    memo, key = found[0].memo, (what, id(node))
    if key not in memo:
        memo[key] = compute(node)
    return memo[key]


NAMED_GATE = re.compile(r"d_?([figozrn])(t|_t|_?raw|_?pre|s)?")


def named_gate(name: str) -> str | None:
    """The gate a gradient's name names: ``di``, ``d_i``, ``dit``, ``di_raw`` -> ``i``."""
    match = NAMED_GATE.fullmatch(name)
    return match.group(1) if match else None

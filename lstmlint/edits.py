"""Text edits that fix a finding, in the coordinates of the analysed source text.

- ``Edit``: replace a span (1-based lines and columns, end-exclusive) with new code.
- ``apply_edits`` / ``apply_groups``: apply edits to a text; a group (the edits of one finding)
  is applied whole or not at all, and never over another group's edit.
- ``operand`` and ``numpy_function``: how the rules spell a replacement so that it means the
  same in its place (parentheses where precedence needs them) and uses the file's own names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lstmlint.diagnostics import Span

if TYPE_CHECKING:
    import libcst as cst

# Python ends lines at \r\n, \r and \n only (str.splitlines also splits at \f, \x1c, ...)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Edit:
    """Replace ``span`` of the analysed text (1-based lines and columns) with ``replacement``."""

    span: Span
    replacement: str

    def to_dict(self) -> dict:
        return {
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "replacement": self.replacement,
        }


def line_starts(text: str) -> list[int]:
    """Offset of the first character of every line (and one past the end of the text)."""
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text)), len(text) + 1]


def _offset(starts: list[int], line: int, column: int) -> int:
    line = min(max(line, 1), len(starts) - 1)
    return starts[line - 1] + column - 1


def _range(starts: list[int], span: Span) -> tuple[int, int]:
    return _offset(starts, span.line, span.column), _offset(starts, span.end_line, span.end_column)


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    import bisect

    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


def _clashes(begin: int, end: int, placed: list[tuple[int, int, Edit]]) -> bool:
    for b, e, _ in placed:
        if begin < e and b < end:
            return True
        if begin == end and (begin == b == e or b < begin < e):
            return True  # two insertions at one place: their order would be a guess
        if b == e and begin < b < end:
            return True
    return False


@dataclass
class Applied:
    """The outcome of ``apply_groups``: the new text, which groups went in, and a position map."""

    text: str
    groups: list[int]  # indices of the applied groups
    _old_starts: list[int]
    _new_starts: list[int]
    _changes: list[tuple[int, int, int]]  # (begin, end, replacement length) in the old text

    def map_span(self, span: Span) -> Span:
        """Where ``span`` of the old text lies in the new one: positions outside every edit
        move with the text, positions inside an edit widen to the whole replacement."""
        begin, end = _range(self._old_starts, span)
        return Span(
            *_position(self._new_starts, self._map(begin, start=True)),
            *_position(self._new_starts, self._map(end, start=False)),
        )

    def _map(self, offset: int, start: bool) -> int:
        shift = 0
        for begin, end, length in self._changes:  # sorted, never overlapping
            if end <= offset:
                shift += length - (end - begin)
            elif begin < offset:
                return (begin if start else begin + length) + shift
            else:
                break
        return offset + shift


def apply_groups(text: str, groups: Sequence[Sequence[Edit]]) -> Applied:
    """``text`` with every group of edits applied whose edits overlap neither each other nor an
    earlier group's; the others are left for a later pass, after the text is analysed again."""
    starts = line_starts(text)
    placed: list[tuple[int, int, Edit]] = []
    applied: list[int] = []
    for index, group in enumerate(groups):
        ranges = []
        for edit in group:
            begin, end = _range(starts, edit.span)
            if end < begin or _clashes(begin, end, placed + ranges):
                break
            ranges.append((begin, end, edit))
        else:
            if ranges:
                placed.extend(ranges)
                applied.append(index)
    placed.sort(key=lambda item: item[0])
    pieces, last = [], 0
    for begin, end, edit in placed:
        pieces += [text[last:begin], edit.replacement]
        last = end
    pieces.append(text[last:])
    new = "".join(pieces)
    changes = [(b, e, len(edit.replacement)) for b, e, edit in placed]
    return Applied(new, applied, starts, line_starts(new), changes)


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, list[Edit]]:
    """``text`` with every edit that does not overlap an earlier one applied, and those edits.

    Overlapping edits are left for a later pass, after the file has been analysed again.
    """
    edits = list(edits)
    result = apply_groups(text, [[edit] for edit in edits])
    kept = [edits[i] for i in result.groups]
    starts = line_starts(text)
    return result.text, sorted(kept, key=lambda edit: _range(starts, edit.span))


# --- spelling replacements ------------------------------------------------------------------

ATOM = 100
_BINARY = {
    "Power": 90,
    "Multiply": 70,
    "Divide": 70,
    "FloorDivide": 70,
    "Modulo": 70,
    "MatrixMultiply": 70,
    "Add": 60,
    "Subtract": 60,
    "LeftShift": 55,
    "RightShift": 55,
    "BitAnd": 54,
    "BitXor": 53,
    "BitOr": 52,
}


def precedence(node: cst.CSTNode) -> int:
    """How tightly an expression binds (higher: tighter); parenthesised ones are atoms."""
    import libcst as cst

    if getattr(node, "lpar", None):
        return ATOM
    if isinstance(node, cst.BinaryOperation):
        return _BINARY[type(node.operator).__name__]
    if isinstance(node, cst.UnaryOperation):
        return 40 if isinstance(node.operator, cst.Not) else 80
    if isinstance(node, cst.Await):
        return 95
    if isinstance(node, cst.Comparison):
        return 45
    if isinstance(node, cst.BooleanOperation):
        return 35 if isinstance(node.operator, cst.And) else 30
    if isinstance(node, cst.IfExp):
        return 20
    if isinstance(node, cst.Lambda):
        return 10
    if isinstance(node, cst.NamedExpr | cst.Tuple | cst.StarredElement | cst.Yield):
        return 0
    return ATOM


def _parent(root: cst.CSTNode, node: cst.CSTNode) -> cst.CSTNode | None:
    from lstmlint.analysis.names import children

    stack = [root]
    while stack:
        current = stack.pop()
        for child in children(current):
            if child is node:
                return current
            stack.append(child)
    return None


def _needed(parent: cst.CSTNode | None, node: cst.CSTNode) -> int | None:
    """The lowest precedence an expression may have in ``node``'s place (None: parenthesise)."""
    import libcst as cst

    if parent is None:
        return None
    if isinstance(parent, cst.BinaryOperation):
        own = _BINARY[type(parent.operator).__name__]
        if isinstance(parent.operator, cst.Power):
            return ATOM if parent.left is node else 80
        return own if parent.left is node else own + 1
    if isinstance(parent, cst.UnaryOperation):
        return 45 if isinstance(parent.operator, cst.Not) else 80
    if isinstance(parent, cst.Comparison | cst.ComparisonTarget):
        return 46
    if isinstance(parent, cst.BooleanOperation):
        return 31 if isinstance(parent.operator, cst.Or) else 36
    if isinstance(parent, cst.IfExp):
        return 21
    if isinstance(parent, cst.Attribute | cst.Subscript | cst.Call | cst.Await):
        head = getattr(parent, "value", None) is node or getattr(parent, "func", None) is node
        return ATOM if head else 11
    if isinstance(
        parent,
        cst.Arg
        | cst.Index
        | cst.Element
        | cst.DictElement
        | cst.Assign
        | cst.AugAssign
        | cst.AnnAssign
        | cst.Return
        | cst.Expr
        | cst.Slice,
    ):
        return 11
    return None


def operand(node: cst.BaseExpression, replacement: str, within: cst.CSTNode) -> str:
    """``replacement`` for ``node`` (somewhere in ``within``, e.g. its statement), in
    parentheses when its precedence is too low for that place: ``(1 - g**2) * dg``."""
    import libcst as cst

    if getattr(node, "lpar", None):
        return replacement  # the node's own parentheses stay around the replacement
    try:
        parsed = cst.parse_expression(replacement)
    except cst.ParserSyntaxError:
        return f"({replacement})"
    parent = _parent(within, node)
    needed = _needed(parent, node)
    if needed is not None and precedence(parsed) >= needed:
        return replacement
    if _both_products(parent, parsed):
        return replacement  # a * (b * c) is a * b * c: elementwise products associate
    return f"({replacement})"


def _both_products(parent: cst.CSTNode | None, parsed: cst.CSTNode) -> bool:
    import libcst as cst

    return (
        isinstance(parent, cst.BinaryOperation)
        and isinstance(parent.operator, cst.Multiply)
        and isinstance(parsed, cst.BinaryOperation)
        and isinstance(parsed.operator, cst.Multiply)
        and not parsed.lpar
    )


def numpy_function(aliases: dict[str, str], name: str) -> str | None:
    """How the module spells ``numpy.<name>``: ``np.tanh``, ``numpy.tanh``, ``tanh`` (imported
    from numpy), or None when the module has no name for it."""
    for local, full in sorted(aliases.items()):
        if full == "numpy":
            return f"{local}.{name}"
    for local, full in sorted(aliases.items()):
        if full == f"numpy.{name}":
            return local
    return None

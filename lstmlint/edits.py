"""Text edits that fix a finding, in the coordinates of the analysed source text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lstmlint.diagnostics import Span


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


def _offsets(text: str) -> list[int]:
    starts, total = [0], 0
    for line in text.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, list[Edit]]:
    """``text`` with every edit that does not overlap an earlier one applied, and those edits.

    Overlapping edits are left for a later pass, after the file has been analysed again.
    """
    starts = _offsets(text)

    def offset(line: int, column: int) -> int:
        return starts[min(line, len(starts)) - 1] + column - 1

    placed: list[tuple[int, int, Edit]] = []
    for edit in edits:
        begin = offset(edit.span.line, edit.span.column)
        end = offset(edit.span.end_line, edit.span.end_column)
        if any(begin < e and b < end or (begin == end == b) for b, e, _ in placed):
            continue
        if any((b, e, x.replacement) == (begin, end, edit.replacement) for b, e, x in placed):
            continue
        placed.append((begin, end, edit))
    for begin, end, edit in sorted(placed, key=lambda item: item[0], reverse=True):
        text = text[:begin] + edit.replacement + text[end:]
    return text, [edit for _, _, edit in sorted(placed, key=lambda item: item[0])]

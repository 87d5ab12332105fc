"""The user's text with a chosen set of fixes applied, for running it in memory.

Fixes of findings on the same expression overlap (``tanh(tanh(C[t]), derivative=True)`` gets
a derivative fix, and its ``C[t]`` an index fix). Running "every known fix" needs both, so an
inner edit is folded into the replacement of the edit around it: the inner edit's original
text, wherever it appears as whole tokens in the outer replacement, becomes the inner
replacement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lstmlint.edits import Edit, line_starts


def with_fixes(text: str, edits: Iterable[Edit]) -> tuple[str, bool]:
    """``text`` with ``edits`` applied, and whether every edit could be applied."""
    starts = line_starts(text)

    def offset(line: int, column: int) -> int:
        return starts[min(line, len(starts)) - 1] + column - 1

    items = []
    for edit in edits:
        begin = offset(edit.span.line, edit.span.column)
        end = offset(edit.span.end_line, edit.span.end_column)
        items.append([begin, end, edit.replacement])
    items.sort(key=lambda item: (item[0] - item[1], item[0]))  # widest first
    kept: list[list] = []
    complete = True
    for begin, end, replacement in items:
        outer = next((k for k in kept if k[0] <= begin and end <= k[1]), None)
        if outer is not None:
            if (begin, end, replacement) == tuple(outer):
                continue  # the same edit twice
            original = text[begin:end]
            if original:
                # whole tokens only: an index fix of `t` must not touch the `t` of `tanh`
                pattern = rf"(?<![\w.]){re.escape(original)}(?!\w)"
                outer[2] = re.sub(pattern, replacement.replace("\\", "\\\\"), outer[2])
            continue
        if any(begin < k[1] and k[0] < end for k in kept):
            complete = False  # a partial overlap has no meaning to fold
            continue
        kept.append([begin, end, replacement])
    for begin, end, replacement in sorted(kept, key=lambda item: item[0], reverse=True):
        text = text[:begin] + replacement + text[end:]
    return text, complete

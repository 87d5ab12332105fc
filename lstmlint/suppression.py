"""``# noqa`` comments on a line and ``# lstmlint: noqa`` for a whole file."""

from __future__ import annotations

import re

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(r"#\s*lstmlint:\s*noqa\b", re.IGNORECASE)
FILE_NOQA_LINES = 10


def file_is_disabled(lines: list[str]) -> bool:
    return any(_FILE_NOQA.search(line) for line in lines[:FILE_NOQA_LINES])


def line_suppresses(line: str, code: str) -> bool:
    if "#" not in line:
        return False
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if not codes:
            return True
        if code.upper() in {c.upper() for c in re.split(r"[\s,]+", codes) if c}:
            return True
    return False

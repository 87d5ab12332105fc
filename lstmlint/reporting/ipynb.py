"""Where a notebook cell's line is stored in the .ipynb file itself, and editing it in place.

A finding in a notebook is reported as (cell, line in the cell, column). CI annotations
(GitHub, GitLab, SARIF) need a line of the file, so the notebook's JSON text is scanned for the
strings of each code cell's ``source`` and every character of the cell is mapped back to its
offset in the file. The same map lets ``--add-noqa`` edit one source line without
re-serialising (and so reformatting) the rest of the notebook.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_WS = re.compile(r"[ \t\r\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class NotebookTextError(ValueError):
    pass


@dataclass
class JsonString:
    """A string value of the JSON text: its decoded value and where each character sits."""

    start: int  # offset of the opening quote
    end: int  # offset after the closing quote
    value: str
    offsets: list[int]  # offsets[i]: file offset of value[i]; offsets[len(value)]: closing quote


def _decode(text: str, start: int, end: int) -> JsonString:
    offsets: list[int] = []
    out: list[str] = []
    i = start + 1
    stop = end - 1
    while i < stop:
        char = text[i]
        if char != "\\":
            out.append(char)
            offsets.append(i)
            i += 1
            continue
        kind = text[i + 1]
        if kind == "u":
            code = int(text[i + 2 : i + 6], 16)
            width = 6
            if (
                0xD800 <= code <= 0xDBFF
                and text[i + 6 : i + 8] == "\\u"
                and 0xDC00 <= int(text[i + 8 : i + 12] or "0", 16) <= 0xDFFF
            ):
                low = int(text[i + 8 : i + 12], 16)
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                width = 12
            out.append(chr(code))
            offsets.append(i)
            i += width
        else:
            out.append(json.loads(f'"\\{kind}"'))
            offsets.append(i)
            i += 2
    offsets.append(stop)
    return JsonString(start, end, "".join(out), offsets)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def value(self):
        self._skip()
        if self.pos >= len(self.text):
            raise NotebookTextError("unexpected end of the notebook text")
        char = self.text[self.pos]
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        if char == '"':
            return self._string()
        match = _SCALAR.match(self.text, self.pos)
        if not match:
            raise NotebookTextError(f"unexpected character at offset {self.pos}")
        self.pos = match.end()
        return json.loads(match.group())

    def _string(self) -> JsonString:
        match = _STRING.match(self.text, self.pos)
        if not match:
            raise NotebookTextError(f"unterminated string at offset {self.pos}")
        self.pos = match.end()
        return _decode(self.text, match.start(), match.end())

    def _expect(self, char: str) -> None:
        self._skip()
        if self.text[self.pos : self.pos + 1] != char:
            raise NotebookTextError(f"expected {char!r} at offset {self.pos}")
        self.pos += 1

    def _object(self) -> dict:
        self.pos += 1
        result: dict = {}
        self._skip()
        if self.text[self.pos : self.pos + 1] == "}":
            self.pos += 1
            return result
        while True:
            self._skip()
            key = self._string().value
            self._expect(":")
            result[key] = self.value()
            self._skip()
            if self.text[self.pos : self.pos + 1] == ",":
                self.pos += 1
                continue
            self._expect("}")
            return result

    def _array(self) -> list:
        self.pos += 1
        result: list = []
        self._skip()
        if self.text[self.pos : self.pos + 1] == "]":
            self.pos += 1
            return result
        while True:
            result.append(self.value())
            self._skip()
            if self.text[self.pos : self.pos + 1] == ",":
                self.pos += 1
                continue
            self._expect("]")
            return result


class CellText:
    """The source strings of one cell, and the start of each of its lines."""

    def __init__(self, pieces: list[JsonString]) -> None:
        self.pieces = pieces
        self.joined = "".join(p.value for p in pieces)
        self._owner: list[tuple[int, int]] = []  # joined offset -> (piece, index in piece)
        for number, piece in enumerate(pieces):
            self._owner.extend((number, index) for index in range(len(piece.value)))
        self.line_starts = [0]
        i = 0
        text = self.joined
        while i < len(text):
            if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
                i += 2
                self.line_starts.append(i)
                continue
            if text[i] in "\r\n":
                self.line_starts.append(i + 1)
            i += 1

    def line_span(self, line: int) -> tuple[int, int] | None:
        """(start, end) offsets in ``joined`` of cell line ``line`` (1-based), without newline."""
        if not 1 <= line <= len(self.line_starts):
            return None
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.joined)
        while end > start and self.joined[end - 1] in "\r\n":
            end -= 1
        return start, end

    def file_offset(self, joined_offset: int) -> int | None:
        if not self.pieces:
            return None
        if joined_offset >= len(self._owner):
            last = self.pieces[-1]
            return last.offsets[-1]
        number, index = self._owner[joined_offset]
        return self.pieces[number].offsets[index]


class NotebookText:
    """The JSON text of a notebook with the file position of every code-cell character."""

    def __init__(self, text: str) -> None:
        self.text = text.removeprefix("\ufeff")
        self._bom = len(text) - len(self.text)
        data = _Parser(self.text).value()
        if not isinstance(data, dict):
            raise NotebookTextError("the top level is not a JSON object")
        self.cells: dict[int, CellText] = {}
        if isinstance(data.get("cells"), list):
            cells, key = data["cells"], "source"
        elif isinstance(data.get("worksheets"), list):  # nbformat 3
            cells = [  # as lstmlint.notebook numbers them
                c
                for w in data["worksheets"]
                if isinstance(w, dict) and isinstance(w.get("cells"), list)
                for c in w["cells"]
            ]
            key = "input"
        else:
            raise NotebookTextError("the notebook has no 'cells' list")
        for index, cell in enumerate(cells):
            if not isinstance(cell, dict):
                continue
            source = cell.get(key, cell.get("source"))
            if isinstance(source, JsonString):
                self.cells[index] = CellText([source])
            elif isinstance(source, list):
                self.cells[index] = CellText([p for p in source if isinstance(p, JsonString)])
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def _file_position(self, offset: int) -> tuple[int, int]:
        import bisect

        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def position(self, cell: int, line: int, column: int = 1) -> tuple[int, int] | None:
        """(file line, file column), 1-based, of a cell's line and column; None if unknown."""
        text = self.cells.get(cell)
        if text is None:
            return None
        span = text.line_span(line)
        if span is None:
            return None
        start, end = span
        offset = text.file_offset(min(start + max(column, 1) - 1, end))
        if offset is None:
            return None
        return self._file_position(offset)

    def line_text(self, cell: int, line: int) -> str | None:
        text = self.cells.get(cell)
        span = text.line_span(line) if text is not None else None
        return None if span is None else text.joined[span[0] : span[1]]

    def replace_line(self, cell: int, line: int, new: str) -> str:
        """The notebook text with cell line ``line`` replaced by ``new`` (newline kept).

        Only the characters of that line change in the file: the rest of the notebook keeps
        its formatting, key order and escapes. The line must lie within one source string.
        """
        text = self.cells.get(cell)
        span = text.line_span(line) if text is not None else None
        if span is None:
            raise NotebookTextError(f"cell {cell} has no line {line}")
        start, end = span
        old = text.joined[start:end]
        prefix = 0
        # the smallest edit: keep the common prefix and suffix of the old and new line
        while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < min(len(old), len(new)) - prefix
            and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
        ):
            suffix += 1
        cut_start, cut_end = start + prefix, end - suffix
        inserted = new[prefix : len(new) - suffix]
        if cut_start == cut_end:
            anchor = self._insertion_offset(text, cut_start, start)
            first = last = anchor
        else:
            owners = {text._owner[i][0] for i in range(cut_start, cut_end)}
            if len(owners) != 1:
                raise NotebookTextError("the line is split across source strings")
            first = text.file_offset(cut_start)
            piece, index = text._owner[cut_end - 1]
            last = text.pieces[piece].offsets[index + 1]
        encoded = json.dumps(inserted, ensure_ascii=False)[1:-1]
        return self._bom * "\ufeff" + self.text[:first] + encoded + self.text[last:]

    @staticmethod
    def _insertion_offset(text: CellText, at: int, line_start: int) -> int:
        """File offset at which to insert before joined offset ``at`` (in the line's string)."""
        if at < len(text._owner):
            if at > line_start:  # insert after the previous character, in its string
                piece, index = text._owner[at - 1]
                return text.pieces[piece].offsets[index + 1]
            return text.file_offset(at)
        return text.pieces[-1].offsets[-1]


def read(path) -> NotebookText:
    from pathlib import Path

    data = Path(path).read_bytes()
    return NotebookText(data.decode("utf-8"))

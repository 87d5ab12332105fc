"""Reading a file into the Python text lstmlint analyses, with a map back to where it came from."""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from lstmlint import notebook

MAX_FILE_BYTES = 10 * 1024 * 1024


class UnreadableFile(Exception):
    """The file cannot be turned into Python text; the message says why, for the user."""


@dataclass
class CellSpan:
    index: int  # position in the notebook's cells array
    first_line: int  # 1-based line of the cell's first line in the analysed text
    line_count: int


@dataclass
class SourceDocument:
    path: str
    text: str  # what is parsed: masked and joined for notebooks
    display_lines: list[str]  # the user's own lines, for snippets
    cells: list[CellSpan] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_notebook(self) -> bool:
        return self.cells is not None

    def locate(self, line: int) -> tuple[int | None, int]:
        """Map an analysed-text line to (cell index, line within the cell)."""
        if self.cells is None:
            return None, line
        for cell in self.cells:
            if cell.first_line <= line < cell.first_line + cell.line_count:
                return cell.index, line - cell.first_line + 1
        last = self.cells[-1]
        return last.index, max(1, line - last.first_line + 1)

    def chunks(self) -> list[tuple[int, int]]:
        """(first line, line count) of each independently parsable piece: cells, or the file."""
        if self.cells is None:
            return [(1, len(self.text.split("\n")))]
        return [(c.first_line, c.line_count) for c in self.cells]


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_python(data: bytes) -> str:
    """Decode source bytes as Python does: BOM, then a coding cookie, then UTF-8."""
    if b"\x00" in data:
        raise UnreadableFile("contains NUL bytes; it looks like a binary file, not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UnreadableFile(
            f"cannot be decoded: {getattr(exc, 'msg', exc)}; a file that is not UTF-8 needs a coding "
            "declaration such as '# -*- coding: latin-1 -*-'"
        ) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnreadableFile(
            f"cannot be decoded as {encoding} ({exc.__class__.__name__}); "
            "add a coding declaration such as '# -*- coding: latin-1 -*-'"
        ) from None
    return text.removeprefix("\ufeff")


def read_document(path: Path, display: str) -> SourceDocument:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(
                f"is {size / 1e6:.1f} MB, larger than the {MAX_FILE_BYTES // 2**20} MiB limit; skipped"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    if path.suffix == ".ipynb":
        return notebook.read_notebook(data, display)
    text = normalise_newlines(decode_python(data))
    return SourceDocument(path=display, text=text, display_lines=text.split("\n"))

"""Reading a file into the Python text lstmlint analyses, with a map back to where it came from."""

from __future__ import annotations

import io
import stat
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from lstmlint import notebook

MAX_FILE_BYTES = 10 * 2**20  # a Python file larger than this is refused unread
MAX_NOTEBOOK_BYTES = 64 * 2**20  # notebooks carry their outputs (images), so they may be larger


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


def _line_of(data: bytes, position: int) -> int:
    return (
        data.count(b"\n", 0, position)
        + data.count(b"\r", 0, position)
        - data.count(b"\r\n", 0, position)
        + 1
    )


def decode_python(data: bytes) -> str:
    """Decode source bytes as Python does: BOM, then a coding cookie, then UTF-8.

    Line endings are kept as they are; the BOM is dropped.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UnreadableFile(
            f"contains NUL bytes (the first on line {_line_of(data, nul)}); "
            "it looks like a binary file, not Python source"
        )
    declared = True
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = str(getattr(exc, "msg", None) or exc)
        if message.startswith("unknown encoding"):
            name = message.rsplit(":", 1)[-1].strip()
            raise UnreadableFile(
                f"cannot be decoded: its coding declaration names an unknown encoding ({name})"
            ) from None
        if message.startswith("encoding problem"):
            raise UnreadableFile(
                "cannot be decoded: it starts with a UTF-8 byte-order mark but declares another encoding"
            ) from None
        encoding, declared = "utf-8", False  # not UTF-8 and no declaration: find the bad byte
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} on line {_line_of(data, exc.start)}"
        if declared and encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig"):
            raise UnreadableFile(
                f"cannot be decoded as {encoding}, the encoding its coding declaration names ({where})"
            ) from None
        raise UnreadableFile(
            f"cannot be decoded: it is not valid UTF-8 ({where}); a file in another encoding needs "
            "a coding declaration on its first or second line, such as '# -*- coding: latin-1 -*-'"
        ) from None
    except LookupError:
        raise UnreadableFile(f"cannot be decoded: unknown encoding {encoding!r}") from None
    return text.removeprefix("\ufeff")


def read_document(path: Path, display: str) -> SourceDocument:
    notebook_file = path.suffix == ".ipynb"
    limit = MAX_NOTEBOOK_BYTES if notebook_file else MAX_FILE_BYTES
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("is not a regular file (a device, pipe or socket); skipped")
        if info.st_size > limit:
            raise UnreadableFile(
                f"is {info.st_size / 2**20:.1f} MiB, larger than the {limit // 2**20} MiB limit "
                f"for {'notebooks' if notebook_file else 'Python files'}; skipped"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    if notebook_file:
        return notebook.read_notebook(data, display)
    text = normalise_newlines(decode_python(data))
    return SourceDocument(path=display, text=text, display_lines=text.split("\n"))

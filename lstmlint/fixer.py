"""Applying the edits of findings to the files on disk (``--fix``, ``--diff``).

A file is fixed in memory in passes, like ruff does, and written once at the end:

1. The first pass takes the findings the caller allowed (for ``--fix``: the ones a gradient
   check confirmed) that carry edits, and applies every finding's edits that overlap no other
   finding's, smallest finding first, so that an inner fix (``C[t]`` -> ``C[t + 1]``) goes in
   before the fix of the expression around it. A finding's edits go in together or not at all.
2. Every allowed finding whose edits did not go in stays *pending*, with its place (cell, lines)
   carried through the edits that did: lines move with the text, a place inside an edit widens
   to the replacement.
3. Each later pass analyses the new text again (static rules only, no gradient checks) and
   applies the edits of a new finding only when it *corresponds to a pending finding*: the same
   rule, the same cell, and lines that overlap the pending finding's mapped lines (the closest
   column wins when several do). Each pending finding is used once, and dropped once its
   edits go in. So a later pass can only finish fixes that were allowed in the first pass;
   it never fixes something new that the re-analysis brings up and nobody verified.
4. The loop stops when a pass applies nothing, nothing is pending, or after ``MAX_PASSES``.

Nothing is written unless the result parses (``ast``; in notebooks each changed cell, with its
IPython lines masked as the analysis masks them). Python files keep their encoding (BOM,
coding cookie), line endings (each line its own, so mixed endings stay mixed) and
permissions; notebooks change only the ``source`` strings of the edited code cells, in the
list-or-string form and the JSON layout they had. Files are replaced atomically
(``reporting.write_atomic``: a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import difflib
import io
import json
import re
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lstmlint.diagnostics import Diagnostic, Span
from lstmlint.edits import Applied, Edit, apply_groups
from lstmlint.pytree import python_tree

MAX_PASSES = 10


class FixError(Exception):
    """A file that cannot be fixed; the message says why, for the user."""


@dataclass
class FileFix:
    """What fixing one file did (in memory; ``write`` puts it on disk)."""

    path: Path
    display: str
    fixed: int = 0  # findings whose edits went in
    error: str | None = None  # why nothing is written
    original: bytes = b""
    data: bytes = b""  # the fixed file
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (label, old, new)

    @property
    def changed(self) -> bool:
        return self.error is None and self.data != self.original

    def diff(self) -> str:
        """A unified diff of the change (for notebooks, one per changed cell)."""
        out = []
        for label, old, new in self.changes:
            out.extend(
                difflib.unified_diff(
                    _diff_lines(old), _diff_lines(new), fromfile=label, tofile=label
                )
            )
        return "".join(out)


def _diff_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        return [line + "\n" for line in lines[:-1]]
    return [line + "\n" for line in lines[:-1]] + [lines[-1] + "\n\\ No newline at end of file\n"]


# --- the text being fixed: a Python file, or the code cells of a notebook --------------------


class _PythonSource:
    """A Python file as one chunk of text (key None), with its original line endings."""

    def __init__(self, path: Path, display: str, data: bytes) -> None:
        from lstmlint.sources import UnreadableFile, decode_python

        self.path, self.display = path, display
        self.bom = data.startswith(b"\xef\xbb\xbf")
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            self.text = decode_python(data)
        except (SyntaxError, UnreadableFile) as exc:
            raise FixError(f"cannot be decoded: {exc}") from None
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.original = self.text

    def chunks(self) -> dict[int | None, str]:
        return {None: self.text}

    def update(self, key: int | None, text: str) -> None:
        self.text = text

    def document(self):
        from lstmlint.sources import SourceDocument, normalise_newlines

        text = normalise_newlines(self.text)
        return SourceDocument(path=self.display, text=text, display_lines=text.split("\n"))

    def locate(self, doc, span: Span) -> tuple[int | None, Span]:
        return None, span

    def check(self) -> None:
        try:
            python_tree(self.text)
        except (SyntaxError, ValueError) as exc:
            try:
                python_tree(self.original)
            except (SyntaxError, ValueError):
                raise FixError("it does not parse; fix its syntax errors first") from None
            raise FixError(
                f"the fixed code would not parse ({_reason(exc)}); nothing written"
            ) from None

    def encode(self) -> bytes:
        try:
            data = self.text.encode(self.encoding)
        except UnicodeEncodeError:
            raise FixError(f"the fixed code cannot be encoded as {self.encoding}") from None
        return b"\xef\xbb\xbf" + data if self.bom else data

    def changes(self) -> list[tuple[str, str, str]]:
        if self.text == self.original:
            return []
        return [(self.display, self.original, self.text)]


def _reason(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        return f"{exc.msg}, line {exc.lineno}"
    return str(exc)


class _NotebookSource:
    """The code cells of a notebook (keyed by their index in ``cells``) in its JSON text."""

    def __init__(self, path: Path, display: str, data: bytes) -> None:
        from lstmlint.reporting.ipynb import NotebookText, NotebookTextError

        self.path, self.display = path, display
        self.bom = data.startswith(b"\xef\xbb\xbf")
        try:
            self.json = data.decode("utf-8").removeprefix("\ufeff")
            notebook = NotebookText(self.json)
        except (UnicodeDecodeError, NotebookTextError, RecursionError) as exc:
            raise FixError(f"cannot be read as a notebook: {exc}") from None
        self.sources = {index: cell.joined for index, cell in notebook.cells.items()}
        self.originals = dict(self.sources)
        self.edited: set[int] = set()

    def chunks(self) -> dict[int | None, str]:
        return dict(self.sources)

    def update(self, key: int | None, text: str) -> None:
        if key in self.sources and self.sources[key] != text:
            self.sources[key] = text
            self.edited.add(key)

    def _json_text(self) -> str:
        from lstmlint.reporting.ipynb import NotebookText

        text = self.json
        cells = NotebookText(text).cells if self.edited else {}
        # later cells first, so that the offsets of the earlier ones stay valid
        for index in sorted(self.edited, reverse=True):
            text = _replace_source(text, cells[index], self.sources[index])
        return text

    def document(self):
        from lstmlint.notebook import read_notebook

        return read_notebook(self._json_text().encode("utf-8"), self.display)

    def locate(self, doc, span: Span) -> tuple[int | None, Span]:
        cell, line = doc.locate(span.line)
        end_cell, end_line = doc.locate(span.end_line)
        if cell != end_cell:
            raise ValueError("an edit across cells")
        return cell, Span(line, span.column, end_line, span.end_column)

    def check(self) -> None:
        from lstmlint.notebook import mask_cell

        for index in sorted(self.edited):
            try:
                python_tree("\n".join(mask_cell(self.sources[index].replace("\r\n", "\n"))))
            except (SyntaxError, ValueError) as exc:
                raise FixError(
                    f"the fixed code of cell {index} would not parse ({_reason(exc)}); nothing written"
                ) from None

    def encode(self) -> bytes:
        text = self._json_text()
        try:
            json.loads(text)
        except ValueError as exc:  # never expected: the sources are re-encoded by json.dumps
            raise FixError(f"the fixed notebook would not be valid JSON ({exc})") from None
        return (b"\xef\xbb\xbf" if self.bom else b"") + text.encode("utf-8")

    def changes(self) -> list[tuple[str, str, str]]:
        return [
            (f"{self.display}:cell {index}", self.originals[index], self.sources[index])
            for index in sorted(self.edited)
            if self.sources[index] != self.originals[index]
        ]


_LEADING_SPACE = re.compile(r"\s*")


def _replace_source(text: str, cell, source: str) -> str:
    """``text`` with the JSON value of ``cell``'s source replaced by ``source``, in the same
    form (a list of lines or one string) and layout; unchanged lines keep their spelling."""
    pieces = cell.pieces
    first, last = pieces[0], pieces[-1]
    before = text[: first.start].rstrip()
    non_ascii = any(ord(c) > 127 for c in text)

    def encoded(value: str) -> str:
        return json.dumps(value, ensure_ascii=not non_ascii)

    if not before.endswith("["):
        return text[: first.start] + encoded(source) + text[last.end :]
    if len(pieces) >= 2:
        separator = text[first.end : pieces[1].start]
    else:
        separator = "," + text[len(before) : first.start]
    lines = source.split("\n")
    values = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    spelled = [
        text[pieces[i].start : pieces[i].end]
        if i < len(pieces) and pieces[i].value == value
        else encoded(value)
        for i, value in enumerate(values)
    ]
    return text[: first.start] + separator.join(spelled) + text[last.end :]


def _source(path: Path, display: str, data: bytes):
    if path.suffix == ".ipynb":
        return _NotebookSource(path, display, data)
    return _PythonSource(path, display, data)


# --- the passes --------------------------------------------------------------------------------


@dataclass
class _Pending:
    code: str
    key: int | None
    span: Span


def _finding_edits(source, doc, diag: Diagnostic) -> tuple[int | None, list[Edit]] | None:
    """The finding's edits in the coordinates of its chunk (one cell), or None."""
    keys, local = set(), []
    try:
        for edit in diag.edits:
            key, span = source.locate(doc, edit.span)
            keys.add(key)
            local.append(Edit(span, edit.replacement))
    except ValueError:
        return None
    if len(keys) != 1:
        return None
    return keys.pop(), local


def _size(edits: list[Edit]) -> tuple:
    span = edits[0].span
    lines = sum(e.span.end_line - e.span.line for e in edits)
    columns = sum(
        e.span.end_column - e.span.column for e in edits if e.span.line == e.span.end_line
    )
    return (lines, columns, span.line, span.column)


def _match(diag: Diagnostic, pending: list[_Pending]) -> _Pending | None:
    best, distance = None, None
    for item in pending:
        if item.code != diag.code or item.key != diag.cell:
            continue
        if item.span.end_line < diag.span.line or diag.span.end_line < item.span.line:
            continue
        gap = (abs(item.span.line - diag.span.line), abs(item.span.column - diag.span.column))
        if distance is None or gap < distance:
            best, distance = item, gap
    return best


def fix_file(
    path: Path,
    display: str,
    diagnostics: Iterable[Diagnostic],
    selection,
    allowed: Callable[[Diagnostic], bool],
    expected_text: str | None = None,
) -> FileFix:
    """Fix one file in memory: the edits of the ``allowed`` findings among ``diagnostics``
    (a run's findings for this file), then the passes described in the module docstring.
    ``expected_text``, the analysed text the findings came from, guards against a file that
    changed since it was checked."""
    from lstmlint.engine import lint_document

    result = FileFix(path=path, display=display)
    try:
        result.original = result.data = path.read_bytes()
        source = _source(path, display, result.original)
        doc = source.document()
        if expected_text is not None and doc.text != expected_text:
            raise FixError("changed since it was checked; run lstmlint again")
        found = [d for d in diagnostics if d.edits and allowed(d)]
        pending: list[_Pending] | None = None
        for _ in range(MAX_PASSES):
            if pending is not None:
                if not pending:
                    break
                doc = source.document()
                fresh = lint_document(doc, selection, path)
                found = []
                claimed: set[int] = set()
                for diag in fresh:
                    item = _match(diag, pending) if diag.edits else None
                    if item is not None and id(item) not in claimed:
                        claimed.add(id(item))
                        found.append((diag, item))
            else:
                found = [(diag, None) for diag in found]
            applied, pending = _pass(source, doc, found, pending)
            result.fixed += applied
            if not applied:
                break
        source.check()
        result.data = source.encode()
        result.changes = source.changes()
    except FixError as exc:
        result.error = str(exc)
        result.fixed = 0
    except OSError as exc:
        result.error = f"cannot be read: {exc.strerror or exc}"
        result.fixed = 0
    return result


def _pass(source, doc, found, pending: list[_Pending] | None) -> tuple[int, list[_Pending]]:
    """Apply one pass; returns the number of findings fixed and what stays pending."""
    by_key: dict[int | None, list[tuple[list[Edit], Diagnostic, _Pending | None]]] = {}
    for diag, item in found:
        located = _finding_edits(source, doc, diag)
        if located is None:
            continue
        key, edits = located
        by_key.setdefault(key, []).append((edits, diag, item))
    fixed = 0
    remaining: list[_Pending] = []
    chunks = source.chunks()
    mapped: dict[int | None, Applied] = {}
    left: list[tuple[int | None, Diagnostic, _Pending | None]] = []
    for key, entries in by_key.items():
        if key not in chunks:
            continue
        entries.sort(key=lambda entry: _size(entry[0]))
        outcome = apply_groups(chunks[key], [edits for edits, _, _ in entries])
        mapped[key] = outcome
        source.update(key, outcome.text)
        done = set(outcome.groups)
        fixed += len(done)
        for number, (_, diag, item) in enumerate(entries):
            if number not in done:
                left.append((key, diag, item))
    if pending is None:  # first pass: every allowed finding not fixed yet stays pending
        for key, diag, _ in left:
            remaining.append(_Pending(diag.code, key, diag.span))
    else:
        used = {id(item) for _, item in found if item is not None}
        kept = {id(item) for _, _, item in left if item is not None}
        remaining = [item for item in pending if id(item) not in used or id(item) in kept]
    for item in remaining:
        if item.key in mapped:
            item.span = mapped[item.key].map_span(item.span)
    return fixed, remaining


def write(fix: FileFix) -> None:
    """Put a fixed file on disk atomically (nothing when it did not change or failed)."""
    from lstmlint.reporting import write_atomic

    if not fix.changed:
        return
    # an editor may have saved the file while the fixes were being worked out: keep its save
    if fix.path.read_bytes() != fix.original:
        raise FixError("changed while it was being fixed; run lstmlint again")
    write_atomic(fix.path, fix.data)

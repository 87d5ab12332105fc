"""What the machine-readable reporters share: paths, file positions (notebooks too), messages."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lstmlint.diagnostics import Diagnostic


def report_path(path: str, base: Path) -> str | None:
    """``path`` relative to ``base`` with forward slashes, or None when it lies outside."""
    absolute = Path(path).absolute()
    try:
        return absolute.relative_to(base.absolute()).as_posix()
    except ValueError:
        return None


def ci_base(*variables: str) -> Path:
    """The project folder a CI system names in one of ``variables``, else the working folder."""
    for name in variables:
        value = os.environ.get(name)
        if value and Path(value).is_dir():
            return Path(value).absolute()
    return Path.cwd()


@dataclass(frozen=True)
class Region:
    """1-based position in the file itself; columns are end-exclusive, None when unknown."""

    line: int
    column: int | None
    end_line: int
    end_column: int | None

    @property
    def single_line(self) -> bool:
        return self.line == self.end_line


class Locator:
    """File positions of findings; for notebooks the line of the .ipynb file holding it."""

    def __init__(self) -> None:
        self._notebooks: dict[str, object] = {}

    def _notebook(self, path: str):
        if path not in self._notebooks:
            from lstmlint.reporting.ipynb import NotebookText, NotebookTextError

            try:
                self._notebooks[path] = NotebookText(Path(path).read_bytes().decode("utf-8"))
            except (OSError, UnicodeDecodeError, NotebookTextError, RecursionError):
                self._notebooks[path] = None
        return self._notebooks[path]

    def region(self, diag: Diagnostic) -> Region:
        span = diag.span
        if diag.cell is None:
            if span.end_line < span.line or (
                span.end_line == span.line and span.end_column <= span.column
            ):
                return Region(span.line, None, span.line, None)
            return Region(span.line, span.column, span.end_line, span.end_column)
        notebook = self._notebook(diag.path)
        if notebook is None:
            return Region(1, None, 1, None)
        start = notebook.position(diag.cell, span.line, span.column)
        end = notebook.position(diag.cell, span.end_line, span.end_column)
        if start is None:
            return Region(1, None, 1, None)
        if end is None or end < start:
            return Region(start[0], None, start[0], None)
        if end[0] == start[0] and end[1] <= start[1]:
            return Region(start[0], None, start[0], None)
        return Region(start[0], start[1], end[0], end[1])


def reported_edits(result, diag: Diagnostic) -> list:
    """A finding's edits in the coordinates it is reported in: for notebooks, lines of its cell."""
    from lstmlint.diagnostics import Span
    from lstmlint.edits import Edit

    doc = result.document
    if diag.cell is None or doc is None or doc.cells is None:
        return list(diag.edits)
    local = []
    for edit in diag.edits:
        cell, line = doc.locate(edit.span.line)
        _, end_line = doc.locate(edit.span.end_line)
        if cell != diag.cell:
            return []  # never expected: a finding's edits stay in its cell
        local.append(
            Edit(Span(line, edit.span.column, end_line, edit.span.end_column), edit.replacement)
        )
    return local


def where(diag: Diagnostic) -> str:
    """How a finding's place is said in a message: ``cell 3, line 2`` in notebooks."""
    if diag.cell is not None:
        return f"cell {diag.cell}, line {diag.span.line}, column {diag.span.column}"
    return f"line {diag.span.line}, column {diag.span.column}"


def details(diag: Diagnostic) -> list[str]:
    """The lines that follow a finding's message: evidence and the fix."""
    from lstmlint.confirm import evidence_line

    lines = []
    evidence = evidence_line(diag.confirmation)
    if evidence:
        lines.append(evidence)
    if diag.fix:
        lines.append(f"fix: {diag.fix}")
    return lines

"""``# noqa`` comments: suppressing a line, finding unused ones, and adding them (``--add-noqa``).

- ``# noqa: LST101`` (codes separated by commas or spaces) or a bare ``# noqa`` on the first or
  last line of a finding suppresses it; ``# lstmlint: noqa`` in the first ten lines of a file
  turns the whole file off.
- ``--warn-unused-noqa`` (or selecting LST002) reports the ``LST...`` codes of a ``# noqa``
  comment that suppress nothing on that line, that no rule has, or whose rule is not enabled.
  Other linters' codes and bare ``# noqa`` are left alone.
- ``--add-noqa`` appends (or merges into an existing ``# noqa:``) the codes of every current
  finding, editing files atomically and keeping their encoding, newlines and permissions; in
  notebooks only the characters of the cell line change in the JSON text.
"""

from __future__ import annotations

import contextvars
import io
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lstmlint.diagnostics import Diagnostic, Severity, Span

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Za-z0-9_\-]+")
_OWN_CODE = re.compile(r"LST\d+$", re.IGNORECASE)
_FILE_NOQA = re.compile(r"#\s*lstmlint:\s*noqa\b", re.IGNORECASE)
FILE_NOQA_LINES = 10

_line_noqa = contextvars.ContextVar("lstmlint_line_noqa", default=True)


def file_is_disabled(lines: list[str]) -> bool:
    return any(_FILE_NOQA.search(line) for line in lines[:FILE_NOQA_LINES])


def line_suppresses(line: str, code: str) -> bool:
    if "#" not in line or not _line_noqa.get():
        return False
    return _suppresses(line, code)


def _suppresses(line: str, code: str) -> bool:
    for match in _NOQA.finditer(line):
        codes = match.group("codes")
        if not codes:
            return True
        if code.upper() in {c.upper() for c in re.split(r"[\s,]+", codes) if c}:
            return True
    return False


@contextmanager
def line_noqa_deferred() -> Iterator[None]:
    """Within the block the engine keeps findings under ``# noqa``, so the caller can see
    which directives are used (``apply``) before dropping them."""
    token = _line_noqa.set(False)
    try:
        yield
    finally:
        _line_noqa.reset(token)


# --- directives ---------------------------------------------------------------------------------


@dataclass
class Directive:
    line: int  # 1-based line in the document's display lines
    column: int  # 1-based column of the "#"
    end_column: int  # end-exclusive column of the directive
    codes: list[tuple[str, int, int]] | None  # (code as written, column, end column); None: bare
    used: set[str] = field(default_factory=set)


def _comment_positions(lines: list[str]) -> list[tuple[int, int, str]] | None:
    """(line, 0-based column, text) of each comment token of a chunk, or None if it does not
    tokenize."""
    text = "\n".join(lines) + "\n"
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.start[1], token.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return found


def _chunks(doc) -> list[tuple[int, int]]:
    if doc.cells is None:
        return [(1, len(doc.display_lines))]
    return [(c.first_line, c.line_count) for c in doc.cells]


def directives(doc) -> list[Directive]:
    """The ``# noqa`` directives in real comments of a document (its display lines)."""
    found: list[Directive] = []
    for first, count in _chunks(doc):
        lines = doc.display_lines[first - 1 : first - 1 + count]
        comments = _comment_positions(lines)
        if comments is None:  # not tokenizable: every '#' may start a comment
            comments = [
                (n, line.index("#"), line[line.index("#") :])
                for n, line in enumerate(lines, 1)
                if "#" in line
            ]
        for row, column, comment in comments:
            for match in _NOQA.finditer(comment):
                base = column + match.start()
                codes = None
                if match.group("codes"):
                    offset = column + match.start("codes")
                    codes = [
                        (m.group(), offset + m.start() + 1, offset + m.end() + 1)
                        for m in _CODE.finditer(match.group("codes"))
                    ]
                found.append(Directive(first + row - 1, base + 1, column + match.end() + 1, codes))
    return found


def _analysed_line(doc, diag: Diagnostic) -> int:
    if diag.cell is None or doc.cells is None:
        return diag.span.line
    for cell in doc.cells:
        if cell.index == diag.cell:
            return cell.first_line + diag.span.line - 1
    return diag.span.line


def apply(doc, diagnostics: list[Diagnostic], found: list[Directive]) -> list[Diagnostic]:
    """Drop the findings a ``# noqa`` suppresses (as the engine does) and mark the directives
    that suppressed them as used."""
    by_line: dict[int, list[Directive]] = defaultdict(list)
    for directive in found:
        by_line[directive.line].append(directive)
    kept = []
    for diag in diagnostics:
        first = _analysed_line(doc, diag)
        last = first + diag.span.end_line - diag.span.line
        suppressed = False
        for number in sorted({first, last}):
            if 1 <= number <= len(doc.display_lines) and _suppresses(
                doc.display_lines[number - 1], diag.code
            ):
                suppressed = True
                for directive in by_line.get(number, []):
                    if directive.codes is None or diag.code.upper() in {
                        c.upper() for c, _, _ in directive.codes
                    }:
                        directive.used.add(diag.code.upper())
        if not suppressed:
            kept.append(diag)
    return kept


def unused(doc, found: list[Directive], known: dict[str, str], enabled) -> list[Diagnostic]:
    """LST002 findings for the directives' ``LST...`` codes that suppressed nothing."""
    from lstmlint.registry import UNUSED_NOQA

    code, name, _ = UNUSED_NOQA
    out = []
    for directive in found:
        if directive.codes is None:
            continue
        written = [(c.upper(), start, end) for c, start, end in directive.codes]
        if code in {c for c, _, _ in written}:
            continue  # a directive that names LST002 itself is never reported
        groups: dict[str, list[str]] = {"unused": [], "unknown": [], "non-enabled": []}
        spans = []
        for value, start, end in written:
            if not _OWN_CODE.match(value) or value in directive.used:
                continue
            if value not in known:
                groups["unknown"].append(value)
            elif not enabled(value, known[value]):
                groups["non-enabled"].append(value)
            else:
                groups["unused"].append(value)
            spans.append((start, end))
        if not spans:
            continue
        detail = "; ".join(
            f"{kind}: {', '.join(f'`{c}`' for c in codes)}"
            for kind, codes in groups.items()
            if codes
        )
        stale = [c for codes in groups.values() for c in codes]
        if len(stale) == len(written):
            fix = "remove the `# noqa` comment"
        else:
            fix = f"remove {', '.join(f'`{c}`' for c in stale)} from the `# noqa` comment"
        cell, line = doc.locate(directive.line)
        out.append(
            Diagnostic(
                path=doc.path,
                code=code,
                name=name,
                message=f"unused `noqa` directive ({detail})",
                span=Span(line, directive.column, line, directive.end_column),
                severity=Severity.WARNING,
                fix=fix,
                cell=cell,
            )
        )
    return out


# --- adding directives --------------------------------------------------------------------------

NOT_SUPPRESSIBLE = {"LST000", "LST001", "LST002"}


def _comment_safe_lines(lines: list[str]) -> set[int] | None:
    """1-based lines of a chunk whose end is outside strings and not a backslash continuation,
    so that a comment can be appended; None if the chunk does not tokenize."""
    text = "\n".join(lines) + "\n"
    safe = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL):
                safe.add(token.start[0])
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return safe


def with_codes(line: str, codes: Iterable[str]) -> str:
    """``line`` with a ``# noqa`` for ``codes``, merged into an existing ``# noqa: ...``."""
    codes = sorted({c.upper() for c in codes})
    for match in _NOQA.finditer(line):
        existing = match.group("codes")
        if not existing:
            return line  # a bare noqa already covers everything
        have = [c for c in re.split(r"[\s,]+", existing) if c]
        missing = [c for c in codes if c not in {h.upper() for h in have}]
        if not missing:
            return line
        merged = ", ".join([*have, *missing])
        return line[: match.start("codes")] + merged + line[match.end("codes") :]
    stripped = line.rstrip()
    return f"{stripped}  # noqa: {', '.join(codes)}"


@dataclass
class NoqaPlan:
    """The lines of one file to give a ``# noqa`` (display-line number -> codes)."""

    lines: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    skipped: int = 0  # findings whose lines cannot take a comment (inside a string)


def plan(doc, diagnostics: list[Diagnostic]) -> NoqaPlan:
    result = NoqaPlan()
    safe: set[int] = set()
    for first, count in _chunks(doc):
        lines = doc.display_lines[first - 1 : first - 1 + count]
        chunk_safe = _comment_safe_lines(lines)
        if chunk_safe is None:
            chunk_safe = {n for n, line in enumerate(lines, 1) if not line.rstrip().endswith("\\")}
        safe.update(first + n - 1 for n in chunk_safe)
    for diag in diagnostics:
        if diag.code in NOT_SUPPRESSIBLE:
            continue
        first = _analysed_line(doc, diag)
        last = first + diag.span.end_line - diag.span.line
        target = next((n for n in (first, last) if n in safe), None)
        if target is None:
            result.skipped += 1
            continue
        result.lines[target].add(diag.code)
    return result


_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


def add_to_python(path: Path, plan: NoqaPlan) -> int:
    """Apply a plan to a Python file; returns the number of lines changed."""
    from lstmlint.reporting import write_atomic
    from lstmlint.sources import decode_python

    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = decode_python(data)
    parts = [(m.group(1), m.group(2)) for m in _LINE.finditer(text)]
    if parts and parts[-1] == ("", ""):
        parts.pop()
    changed = 0
    for number, codes in plan.lines.items():
        if 1 <= number <= len(parts):
            body, end = parts[number - 1]
            new = with_codes(body, codes)
            if new != body:
                parts[number - 1] = (new, end)
                changed += 1
    if changed:
        encoded = "".join(body + end for body, end in parts).encode(
            "utf-8" if encoding == "utf-8-sig" else encoding
        )
        if bom and not encoded.startswith(b"\xef\xbb\xbf"):
            encoded = b"\xef\xbb\xbf" + encoded
        write_atomic(path, encoded)
    return changed


def add_to_notebook(path: Path, doc, plan: NoqaPlan) -> int:
    from lstmlint.reporting import write_atomic
    from lstmlint.reporting.ipynb import NotebookText

    data = path.read_bytes()
    text = data.decode("utf-8")
    changed = 0
    for number, codes in sorted(plan.lines.items()):
        cell, line = doc.locate(number)
        notebook = NotebookText(text)
        old = notebook.line_text(cell, line)
        if old is None:
            continue
        new = with_codes(old, codes)
        if new != old:
            text = notebook.replace_line(cell, line, new)
            changed += 1
    if changed:
        write_atomic(path, text.encode("utf-8"))
    return changed

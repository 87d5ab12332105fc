"""Fingerprints that survive lines moving, and the baseline file built from them.

A finding's fingerprint is a hash of its rule code, the text of its (first) line with the
comment and all whitespace removed, and the qualified name of the function or class around it
(``LSTM.backward``). Adding or removing lines above a finding, or reformatting it, leaves the
fingerprint alone; changing the flagged line or moving it to another function does not.
Identical fingerprints in one file are told apart by their order (``occurrence``).

``--write-baseline FILE`` stores the current findings; ``--baseline FILE`` then hides every
finding that matches one in the file (same path, code and fingerprint, counted: two stored
findings hide at most two). Paths in the file are relative to the file's own folder, so it can
be committed and used from any working directory.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lstmlint.diagnostics import Diagnostic
from lstmlint.pytree import python_tree

FORMAT_VERSION = 1
_SCOPE = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")


class BaselineError(Exception):
    """The baseline file is missing or malformed (the CLI exits with status 2)."""


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``#`` comment (a ``#`` inside quotes is kept)."""
    quote = None
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif char in "'\"":
            quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else char
            i += len(quote)
            continue
        elif char == "#":
            return line[:i]
        i += 1
    return line


def normalise(line: str) -> str:
    return "".join(strip_comment(line).split())


def _ast_scopes(text: str) -> list[tuple[int, int, str]] | None:
    try:
        tree = python_tree(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    scopes: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                scopes.append((first, child.end_lineno or child.lineno, name))
                walk(child, f"{name}.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return scopes


def _indent_scope(lines: list[str], number: int) -> str:
    """The enclosing def/class of line ``number`` judged by indentation (for broken code)."""
    if not 1 <= number <= len(lines):
        return ""
    target = lines[number - 1]
    indent = len(target) - len(target.lstrip()) if target.strip() else 10**9
    names = []
    for line in reversed(lines[: number - 1]):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        width = len(line) - len(line.lstrip())
        if width >= indent:
            continue
        match = _SCOPE.match(line)
        if match:
            names.append(match.group(3))
        indent = width
        if indent == 0:
            break
    return ".".join(reversed(names))


class Fingerprints:
    """Fingerprints of a run's findings (computed once per document)."""

    def __init__(self) -> None:
        self._scopes: dict[int, list[tuple[int, int, str]] | None] = {}

    def _scope(self, doc, line: int) -> str:
        key = id(doc)
        if key not in self._scopes:
            self._scopes[key] = _ast_scopes(doc.text)
        scopes = self._scopes[key]
        if scopes is None:
            return _indent_scope(doc.text.split("\n"), line)
        inside = [s for s in scopes if s[0] <= line <= s[1]]
        return max(inside, key=lambda s: (s[0], -s[1]))[2] if inside else ""

    def base(self, diag: Diagnostic, doc) -> str:
        text, scope = "", ""
        if doc is not None:
            line = diag.span.line
            if diag.cell is not None and doc.cells is not None:
                for cell in doc.cells:
                    if cell.index == diag.cell:
                        line = cell.first_line + diag.span.line - 1
            if 1 <= line <= len(doc.display_lines):
                text = normalise(doc.display_lines[line - 1])
            scope = self._scope(doc, line)
        digest = hashlib.sha256(f"{diag.code}\0{text}\0{scope}".encode()).hexdigest()
        return digest[:16]

    def of_results(self, results) -> dict[int, tuple[str, int]]:
        """id(diagnostic) -> (fingerprint, occurrence among equal fingerprints in its file)."""
        out: dict[int, tuple[str, int]] = {}
        for result in results:
            seen: Counter = Counter()
            for diag in result.diagnostics:
                value = self.base(diag, result.document)
                out[id(diag)] = (value, seen[value])
                seen[value] += 1
        return out


def _relative(path: str, folder: Path) -> str:
    absolute = Path(path).absolute()
    try:
        return absolute.relative_to(folder).as_posix()
    except ValueError:
        import os

        try:
            return Path(os.path.relpath(absolute, folder)).as_posix()
        except ValueError:  # another drive
            return absolute.as_posix()


@dataclass
class Baseline:
    folder: Path
    counts: Counter

    def filter(self, results, fingerprints: dict[int, tuple[str, int]]) -> int:
        """Remove the findings the baseline holds; returns how many were removed."""
        remaining = Counter(self.counts)
        hidden = 0
        for result in results:
            path = _relative(result.path, self.folder)
            kept = []
            for diag in result.diagnostics:
                key = (path, diag.code, fingerprints[id(diag)][0])
                if remaining[key] > 0:
                    remaining[key] -= 1
                    hidden += 1
                else:
                    kept.append(diag)
            result.diagnostics = kept
        return hidden


def write(path: Path, results, fingerprints: dict[int, tuple[str, int]]) -> int:
    from lstmlint import __version__
    from lstmlint.reporting import write_atomic

    path = Path(path)
    folder = path.absolute().parent
    records = []
    for result in results:
        rel = _relative(result.path, folder)
        for diag in result.diagnostics:
            records.append(
                {
                    "path": rel,
                    "code": diag.code,
                    "fingerprint": fingerprints[id(diag)][0],
                    "cell": diag.cell,
                    "line": diag.span.line,
                    "message": diag.message,
                }
            )
    records.sort(
        key=lambda r: (r["path"], -1 if r["cell"] is None else r["cell"], r["line"], r["code"])
    )
    document = {
        "lstmlint-baseline": FORMAT_VERSION,
        "generated-by": f"lstmlint {__version__}",
        "comment": "Findings recorded by `lstmlint --write-baseline`; `--baseline` hides them. "
        "Matching uses path, code and fingerprint; line and message are for readers.",
        "findings": records,
    }
    write_atomic(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode())
    return len(records)


def load(path: Path) -> Baseline:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{path}: no such baseline file (create it with --write-baseline {path})"
        ) from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a lstmlint baseline: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or "lstmlint-baseline" not in data:
        raise BaselineError(f"{path}: not a lstmlint baseline (no 'lstmlint-baseline' version key)")
    if data["lstmlint-baseline"] != FORMAT_VERSION:
        raise BaselineError(
            f"{path}: baseline format {data['lstmlint-baseline']!r} is not supported "
            f"(this lstmlint reads format {FORMAT_VERSION}); write it again with --write-baseline"
        )
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: 'findings' must be a list")
    counts: Counter = Counter()
    for number, record in enumerate(findings):
        if not isinstance(record, dict) or not all(
            isinstance(record.get(key), str) for key in ("path", "code", "fingerprint")
        ):
            raise BaselineError(
                f"{path}: finding {number} needs string 'path', 'code' and 'fingerprint'"
            )
        counts[(record["path"], record["code"], record["fingerprint"])] += 1
    return Baseline(path.absolute().parent, counts)

"""``--format concise``: one line per finding, ``path:line:col: CODE message``.

Notebook findings read ``path:cell N:line:col: CODE message`` (as ruff writes them). Notes
follow as ``path: note: ...`` and a last line counts the findings.
"""

from __future__ import annotations

from typing import TextIO

from lstmlint.diagnostics import Diagnostic


def location(diag: Diagnostic) -> str:
    if diag.cell is not None:
        return f"{diag.path}:cell {diag.cell}:{diag.span.line}:{diag.span.column}"
    return f"{diag.path}:{diag.span.line}:{diag.span.column}"


def write(results, out: TextIO, context=None) -> None:
    from lstmlint.reporting import Context

    context = context or Context()
    count = 0
    for result in results:
        for diag in result.diagnostics:
            message = " ".join(diag.message.split())
            out.write(f"{location(diag)}: {diag.code} {message}\n")
            count += 1
    for result in results:
        for note in result.notes:
            out.write(f"{result.path}: note: {note}\n")
    extra = []
    if context.refuted_hidden:
        extra.append(f"{context.refuted_hidden} refuted and hidden")
    if context.baseline_hidden:
        extra.append(f"{context.baseline_hidden} in the baseline hidden")
    suffix = f" ({'; '.join(extra)})" if extra else ""
    if count:
        out.write(f"Found {count} finding{'s' if count != 1 else ''}.{suffix}\n")
    else:
        checked = sum(1 for r in results if not r.unreadable)
        out.write(
            f"All checks passed ({checked} file{'s' if checked != 1 else ''} checked).{suffix}\n"
        )

"""``--format text``: findings with the offending line and a marker, then a summary (rich)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TextIO

from lstmlint.confirm import evidence_line
from lstmlint.diagnostics import Diagnostic, Severity
from lstmlint.rulesdoc import help_url

if TYPE_CHECKING:
    from lstmlint.engine import FileResult

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold cyan"}


def _location(diag: Diagnostic) -> str:
    if diag.cell is not None:
        return f"{diag.path}:cell {diag.cell}:{diag.span.line}:{diag.span.column}"
    return f"{diag.path}:{diag.span.line}:{diag.span.column}"


def _source_line(result: FileResult, diag: Diagnostic) -> str | None:
    doc = result.document
    if doc is None:
        return None
    line = diag.span.line
    if diag.cell is not None and doc.cells is not None:
        for cell in doc.cells:
            if cell.index == diag.cell:
                line = cell.first_line + diag.span.line - 1
    if 1 <= line <= len(doc.display_lines):
        return doc.display_lines[line - 1]
    return None


def _render(console, result: FileResult, diag: Diagnostic, fixable: bool = False) -> None:
    """One finding as one block, printed at once (each print costs rich a layout pass)."""
    from rich.text import Text

    block = Text()
    block.append(_location(diag), style="bold")
    block.append(": ")
    block.append(diag.code, style=f"{_STYLE[diag.severity]} link {help_url(diag.code)}")
    if fixable:
        block.append(" [*]", style="cyan")
    block.append(f" {diag.name} ", style="dim")
    block.append(diag.message)
    gutter = " " * len(str(diag.span.line))
    source = _source_line(result, diag)
    if source is not None:
        block.append(f"\n{gutter} |\n", style="blue")
        block.append(f"{diag.span.line} | {source.expandtabs(4)}", style="blue")
        start = max(diag.span.column - 1, 0)
        end = (
            diag.span.end_column - 1
            if diag.span.end_line == diag.span.line
            else len(source.rstrip())
        )
        block.append(f"\n{gutter} | ", style="blue")
        block.append(" " * start + "^" * max(1, end - start), style=_STYLE[diag.severity])
    evidence = evidence_line(diag.confirmation)
    if evidence:
        style = {"confirmed": "green", "refuted": "magenta"}.get(
            diag.confirmation["status"], "yellow"
        )
        block.append(f"\n{gutter} = {evidence}", style=style)
    if diag.fix:
        block.append(f"\n{gutter} = fix: {diag.fix}", style="cyan")
    block.append("\n")
    console.print(block, soft_wrap=True)


def write(results: list[FileResult], out: TextIO, context=None) -> None:
    from lstmlint.reporting import Context

    context = context or Context()
    color, refuted_hidden = context.color, context.refuted_hidden
    diagnostics = [(r, d) for r in results for d in r.diagnostics]
    notes = [(r.path, n) for r in results for n in r.notes]
    checked = sum(1 for r in results if not r.unreadable)
    reach = harness_reach(results)
    if not diagnostics and not notes:
        out.write(f"All checks passed ({checked} file{'s' if checked != 1 else ''} checked).\n")
        if reach:
            out.write(reach + "\n")
        _hidden_lines(out, None, context)
        return
    from rich.console import Console

    console = Console(
        file=out, force_terminal=color, no_color=color is False, highlight=False, soft_wrap=False
    )
    for result, diag in diagnostics:
        _render(console, result, diag, context.fixable(diag))
    from rich.markup import escape

    for path, note in notes:  # the text is the user's (paths, code): never markup
        console.print(
            f"[dim]note:[/dim] {escape(f'{path}: {note}')}", highlight=False, soft_wrap=True
        )
    if not diagnostics:
        console.print(f"All checks passed ({checked} file{'s' if checked != 1 else ''} checked).")
        if reach:
            console.print(reach, highlight=False, soft_wrap=True)
        _hidden_lines(out, console, context)
        return
    per_rule = Counter((d.code, d.name) for _, d in diagnostics)
    files = len({d.path for _, d in diagnostics})
    console.print(
        f"[bold]Found {len(diagnostics)} finding{'s' if len(diagnostics) != 1 else ''} "
        f"in {files} file{'s' if files != 1 else ''}[/bold] ({checked} checked)."
    )
    for (code, name), count in sorted(per_rule.items()):
        console.print(f"  {count:>4}  {code}  {name}", highlight=False)
    if reach:
        console.print(reach, highlight=False, soft_wrap=True)
    _fixable_line(console, [d for _, d in diagnostics], context)
    if refuted_hidden:
        console.print(
            f"[dim]{refuted_hidden} finding{'s' if refuted_hidden != 1 else ''} refuted by the gradient check "
            "and hidden (--show-refuted lists them).[/dim]"
        )
    _hidden_lines(out, console, context, refuted=False)


def harness_reach(results: list[FileResult]) -> str | None:
    """In how many files with hand-written gradient code the user's own code was checked."""
    records = [r.harness for r in results if r.harness and r.harness["status"] != "no-backward"]
    if not records:
        return None
    checked = sum(record["status"] == "checked" for record in records)
    partly = sum(bool(record.get("not_checked")) for record in records)
    why = " (--harness-report FILE says why not)" if checked < len(records) or partly else ""
    some = f", {partly} of them not at every entry point" if partly else ""
    return (
        f"Your own code's gradients were checked in {checked} of {len(records)} "
        f"file{'s' if len(records) != 1 else ''} with a backward{some}{why}."
    )


def _fixable_line(console, diagnostics: list[Diagnostic], context) -> None:
    from lstmlint.reporting import fix_applicable

    fixable = sum(1 for d in diagnostics if context.fixable(d))
    unsafe = sum(1 for d in diagnostics if fix_applicable(d, True) and not context.fixable(d))
    parts = []
    if fixable:
        flags = "--fix --unsafe-fixes" if context.unsafe_fixes else "--fix"
        parts.append(f"[*] {fixable} fixable with {flags}")
    if unsafe:
        parts.append(
            f"{unsafe} more fixable with --fix --unsafe-fixes (no gradient check verified them)"
        )
    if parts:
        console.print("; ".join(parts) + ".", highlight=False, markup=False, soft_wrap=True)


def _hidden_lines(out: TextIO, console, context, refuted: bool = True) -> None:
    lines = []
    if refuted and context.refuted_hidden:
        n = context.refuted_hidden
        lines.append(
            f"{n} finding{'s' if n != 1 else ''} refuted by the gradient check and hidden "
            "(--show-refuted lists them)."
        )
    if context.baseline_hidden:
        n = context.baseline_hidden
        lines.append(f"{n} finding{'s' if n != 1 else ''} in the baseline hidden.")
    for line in lines:
        if console is None:
            out.write(line + "\n")
        else:
            console.print(f"[dim]{line}[/dim]", highlight=False)

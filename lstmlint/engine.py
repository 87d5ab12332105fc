"""How one file goes through lstmlint: read, parse, model, rules, suppressions."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lstmlint import sources, suppression
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.prefilter import may_hold_rnn_code, may_hold_rnn_code_syntax
from lstmlint.registry import READ_ERROR, SYNTAX_ERROR
from lstmlint.selection import Selection

if TYPE_CHECKING:
    from lstmlint.analysis.model import RnnModel


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: bool = False
    analysed: bool = False  # the file reached the rules (it may hold recurrent code)
    document: sources.SourceDocument | None = None
    modules: list[str] = field(default_factory=list)  # sibling modules the analysis read
    # a confirmation failed for a reason of the moment (a time limit on a busy machine, a
    # process that could not start): the result is not cached, so the next run tries again
    transient: bool = False
    # how checking the user's own code went (``--harness-report``): status, entry, inputs,
    # parameters, reason; None where it was not tried
    harness: dict | None = None


def _located(doc: sources.SourceDocument, span: Span) -> tuple[int | None, Span]:
    cell, line = doc.locate(span.line)
    if cell is None:
        return None, span
    _, end_line = doc.locate(span.end_line)
    return cell, Span(line, span.column, end_line, span.end_column)


def _make(doc, code, name, message, span, severity, fix=None, facts=None, edits=()) -> Diagnostic:
    cell, local = _located(doc, span)
    return Diagnostic(
        edits=list(edits),
        path=doc.path,
        code=code,
        name=name,
        message=message,
        span=local,
        severity=severity,
        fix=fix,
        cell=cell,
        facts=facts or {},
    )


def check_file(path: Path, display: str, selection: Selection) -> FileResult:
    result = FileResult(path=display)
    try:
        doc = sources.read_document(path, display)
    except sources.UnreadableFile as exc:
        result.unreadable = True
        code, name, _ = READ_ERROR
        if selection.enabled(code, name):
            result.diagnostics.append(
                Diagnostic(
                    display, code, name, f"{display} {exc}", Span(1, 1, 1, 1), Severity.ERROR
                )
            )
        return result
    result.notes.extend(doc.notes)
    if not doc.text.strip() or suppression.file_is_disabled(doc.display_lines):
        return result
    if not may_hold_rnn_code(doc.text.encode("utf-8", "surrogatepass")):
        return result
    if not doc.is_notebook and not may_hold_rnn_code_syntax(doc.text):
        return result
    with _collector_paused():
        result.diagnostics = lint_document(doc, selection, Path(path), result.notes, result.modules)
    result.analysed = True
    result.document = doc  # to show the offending lines, and to run the file's own code

    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector keeps scanning the thousands of tree nodes a parse allocates,
    which costs a tenth of the analysis; a tree holds no cycles and is freed by reference
    counting, so the collector waits until the file is done."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def lint_document(
    doc: sources.SourceDocument,
    selection: Selection,
    path: Path | None = None,
    notes: list[str] | None = None,
    modules: list[str] | None = None,
) -> list[Diagnostic]:
    """Findings of one document; problems that are not findings are appended to ``notes``.

    The paths of the sibling modules the analysis read (``from utils import sigmoid``) are
    appended to ``modules``: the findings depend on them too (the result cache checks them).
    """
    from lstmlint.parse import parse_document

    notes = notes if notes is not None else []
    found: list[Diagnostic] = []
    parsed = parse_document(doc)
    code, name, _ = SYNTAX_ERROR
    for problem in parsed.problems:
        if selection.enabled(code, name):
            span = Span(problem.line, problem.column, problem.line, problem.column + 1)
            found.append(
                _make(doc, code, name, f"syntax error: {problem.message}", span, Severity.ERROR)
            )
    notes.extend(getattr(parsed, "notes", []))
    rules = selection.rules()
    # a file let through for its syntax errors may, once repaired, show no recurrent code at all
    if parsed.problems and not doc.is_notebook and not may_hold_rnn_code_syntax(parsed.text):
        rules = []
    if parsed.module is not None and rules:
        from lstmlint.analysis.helpers import ModuleLoader
        from lstmlint.analysis.model import RnnModel
        from lstmlint.analysis.names import indexed

        loader = ModuleLoader()
        model = RnnModel(parsed.module, path=path, loader=loader, text=parsed.text)
        with indexed(parsed.module):
            found.extend(_check_rules(model, doc, rules, notes))
        if modules is not None:  # every module the loader read or tried to, by resolved path
            modules.extend(str(p) for p in getattr(loader, "_cache", {}))
    kept = [d for d in _dedupe(found) if not _suppressed(doc, d)]
    return sorted(kept, key=Diagnostic.sort_key)


def _check_rules(
    model: RnnModel, doc: sources.SourceDocument, rules: list, notes: list[str]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for rule_class in rules:
        rule = rule_class()
        try:
            reports = list(rule.check(model))
        except RecursionError:
            notes.append(f"{rule.code} skipped: the code is too deeply nested to analyse")
            continue
        except Exception as exc:  # a rule bug must cost one rule on one file, never the run
            notes.append(
                f"{rule.code} skipped after an internal error ({exc.__class__.__name__}: {exc}); please report it"
            )
            continue
        for report in reports:
            span = model.span(report.node)
            found.append(
                _make(
                    doc,
                    rule.code,
                    rule.name,
                    report.message,
                    span,
                    rule.severity,
                    report.fix,
                    report.facts,
                    [Edit(model.span(node), text) for node, text in report.edits],
                )
            )
    return found


def _dedupe(found: list[Diagnostic]) -> list[Diagnostic]:
    seen, unique = set(), []
    for diag in found:
        key = (diag.code, diag.cell, diag.span)
        if key not in seen:
            seen.add(key)
            unique.append(diag)
    return unique


def _analysed_line(doc: sources.SourceDocument, diag: Diagnostic) -> int:
    if diag.cell is None or doc.cells is None:
        return diag.span.line
    for cell in doc.cells:
        if cell.index == diag.cell:
            return cell.first_line + diag.span.line - 1
    return diag.span.line


def _suppressed(doc: sources.SourceDocument, diag: Diagnostic) -> bool:
    first = _analysed_line(doc, diag)
    last = first + diag.span.end_line - diag.span.line
    for number in {first, last}:
        if 1 <= number <= len(doc.display_lines) and suppression.line_suppresses(
            doc.display_lines[number - 1], diag.code
        ):
            return True
    return False

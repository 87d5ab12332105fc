"""Checking the discovered files: rules per file, then the confirmation of every finding."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lstmlint.cli import Settings
    from lstmlint.discovery import Target
    from lstmlint.engine import FileResult


def run(targets: list[Target], settings: Settings, progress=None) -> list[FileResult]:
    """The results of ``targets`` in their order, each finding with its confirmation."""
    collect = settings.warn_unused_noqa
    results: list[FileResult] = []
    if progress is None:
        results = [_check(t, _file_selection(settings, t.path), collect) for t in targets]
    else:
        with progress:
            task = progress.add_task("", total=len(targets))
            for target in targets:
                progress.update(task, description=target.display)
                results.append(_check(target, _file_selection(settings, target.path), collect))
                progress.advance(task)
    if settings.confirm != "off":
        from lstmlint.confirm import confirm_results

        confirm_results(results, settings)
    return results


def _file_selection(settings: Settings, path: Path):
    from lstmlint.config import path_matches
    from lstmlint.selection import Layer

    absolute = path.absolute()
    ignored = [
        code
        for pattern, codes in settings.per_file_ignores
        if path_matches(absolute, pattern, settings.root)
        for code in codes
    ]
    return settings.selection.then(Layer(ignore=tuple(ignored))) if ignored else settings.selection


def _check(target, selection, collect_noqa: bool):
    from lstmlint import sources, suppression
    from lstmlint.engine import check_file

    if not collect_noqa:
        return check_file(target.path, target.display, selection)
    with suppression.line_noqa_deferred():
        result = check_file(target.path, target.display, selection)
    if result.unreadable:
        return result
    doc = result.document
    if doc is None:
        try:
            doc = sources.read_document(target.path, target.display)
        except sources.UnreadableFile:
            return result
    if suppression.file_is_disabled(doc.display_lines):
        return result
    found = suppression.directives(doc)
    result.diagnostics = suppression.apply(doc, result.diagnostics, found)
    if selection.enabled("LST002", "unused-noqa"):
        from lstmlint.diagnostics import Diagnostic
        from lstmlint.selection import known_codes

        extra = suppression.unused(doc, found, known_codes(), selection.enabled)
        result.diagnostics = sorted(result.diagnostics + extra, key=Diagnostic.sort_key)
    if result.diagnostics:
        result.document = doc
    return result

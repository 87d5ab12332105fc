"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

- ``tool.driver.rules``: every code with id, name, short and full description, help text and
  markdown from the rule documentation, ``helpUri`` (also linked in ``help.markdown``, which
  GitHub shows), default level and tags.
- ``results``: level, message (with the confirmation evidence and the fix), a location with a
  ``uri`` relative to ``%SRCROOT%`` (the working folder, given in ``originalUriBaseIds``) and a
  region in the file itself (for notebooks: the line and columns of the .ipynb JSON text where
  the cell line is stored; the cell and its line are in ``properties``).
- ``partialFingerprints``: the stable fingerprint (rule, normalised line text, enclosing
  function) with its occurrence, as ``primaryLocationLineHash`` and ``lstmlint/v1``; edits
  above a finding do not change it.
- ``properties.confirmation``: the gradient-check evidence (status, method, reason, evidence).
- ``fixes``: for a finding with edits that ``--fix`` or ``--fix --unsafe-fixes`` would apply,
  one fix (the words of the fix as its description) whose ``artifactChanges`` replace regions
  of the file; in a notebook the regions are in the .ipynb JSON text and the inserted text is
  JSON-escaped, so applying them to the file gives what ``--fix`` writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from lstmlint.diagnostics import Severity
from lstmlint.reporting.common import Locator, details, report_path, where

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
PROBLEM_SEVERITY = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "recommendation",
}
MAX_DESCRIPTION = 1024


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def rule_descriptor(info) -> dict:
    from lstmlint.rulesdoc import markdown_body

    sections = dict(info.sections)
    full = sections.get("What it finds", info.summary)
    text_parts = [f"{info.code} {info.name}: {info.summary}", ""]
    for title, body in info.sections:
        text_parts += [title, body, ""]
    text_parts.append(f"Documentation: {info.url}")
    tags = ["correctness" if info.severity is not Severity.INFO else "advice"]
    if info.proved:
        tags.append("gradient")
    if info.code < "LST100":
        tags = ["lstmlint"]
    return {
        "id": info.code,
        "name": info.name,
        "shortDescription": {"text": _clip(info.summary)},
        "fullDescription": {"text": _clip(full)},
        "help": {
            "text": "\n".join(text_parts),
            "markdown": f"**{info.code} {info.name}**: {info.summary}\n\n"
            + markdown_body(info, "####")
            + f"\n[Documentation of {info.code}]({info.url})\n",
        },
        "helpUri": info.url,
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": PROBLEM_SEVERITY[info.severity],
        },
    }


def _file_uri(path: Path) -> str:
    uri = path.absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _fix(locator: Locator, result, diag, artifact: dict) -> dict | None:
    from lstmlint.reporting import fix_applicable
    from lstmlint.reporting.common import reported_edits

    if not fix_applicable(diag, unsafe=True):
        return None
    replacements = []
    for edit in reported_edits(result, diag):
        span, text = edit.span, edit.replacement
        if diag.cell is not None:
            notebook = locator._notebook(diag.path)
            start = notebook and notebook.position(diag.cell, span.line, span.column)
            end = notebook and notebook.position(diag.cell, span.end_line, span.end_column)
            if not start or not end or span.line != span.end_line:
                return None  # a change across lines of a cell is not one region of the JSON text
            region = (*start, *end)
            text = json.dumps(text, ensure_ascii=False)[1:-1]
        else:
            region = (span.line, span.column, span.end_line, span.end_column)
        replacements.append(
            {
                "deletedRegion": dict(
                    zip(("startLine", "startColumn", "endLine", "endColumn"), region, strict=True)
                ),
                "insertedContent": {"text": text},
            }
        )
    if not replacements:
        return None
    return {
        "description": {"text": _sentence(diag.fix or "apply the fix")},
        "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}],
    }


def log(results, context=None) -> dict:
    from lstmlint import __version__
    from lstmlint.reporting import Context
    from lstmlint.rulesdoc import DOCS_URL, all_infos

    context = context or Context()
    infos = all_infos()
    index = {info.code: number for number, info in enumerate(infos)}
    locator = Locator()
    sarif_results = []
    notifications = []
    for result in results:
        relative = report_path(result.path, context.base)
        if relative is not None:
            artifact = {"uri": relative, "uriBaseId": "%SRCROOT%"}
        else:
            artifact = {"uri": Path(result.path).absolute().as_uri()}
        for diag in result.diagnostics:
            region = locator.region(diag)
            sarif_region: dict = {"startLine": region.line}
            if region.column is not None:
                sarif_region["startColumn"] = region.column
            if region.end_line != region.line or region.end_column is not None:
                sarif_region["endLine"] = region.end_line
            if region.end_column is not None:
                sarif_region["endColumn"] = region.end_column
            fingerprint, occurrence = context.fingerprint(diag)
            text = diag.message
            if diag.cell is not None:
                text = f"{text} ({where(diag)} of the notebook)"
            text = " ".join(_sentence(part) for part in [text, *details(diag)])
            properties: dict = {"name": diag.name}
            if diag.cell is not None:
                properties.update(
                    cell=diag.cell,
                    cellLine=diag.span.line,
                    cellColumn=diag.span.column,
                    cellEndLine=diag.span.end_line,
                    cellEndColumn=diag.span.end_column,
                )
            if diag.fix:
                properties["fix"] = diag.fix
            if diag.confirmation is not None:
                properties["confirmation"] = diag.confirmation
            entry = {
                "ruleId": diag.code,
                "level": LEVELS[diag.severity],
                "message": {"text": text},
                "locations": [
                    {"physicalLocation": {"artifactLocation": artifact, "region": sarif_region}}
                ],
                "partialFingerprints": {
                    "primaryLocationLineHash": f"{fingerprint}:{occurrence + 1}",
                    "lstmlint/v1": f"{fingerprint}:{occurrence}",
                },
                "properties": properties,
            }
            if diag.code in index:
                entry["ruleIndex"] = index[diag.code]
            fix = _fix(locator, result, diag, artifact)
            if fix is not None:
                entry["fixes"] = [fix]
            sarif_results.append(entry)
        for note in result.notes:
            notifications.append(
                {
                    "level": "note",
                    "message": {"text": note},
                    "locations": [{"physicalLocation": {"artifactLocation": artifact}}],
                }
            )
    invocation: dict = {
        "executionSuccessful": not any(r.unreadable for r in results),
        "workingDirectory": {"uri": _file_uri(Path.cwd())},
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lstmlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": DOCS_URL,
                        "rules": [rule_descriptor(info) for info in infos],
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _file_uri(context.base)}},
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def write(results, out: TextIO, context=None) -> None:
    json.dump(log(results, context), out, indent=2, ensure_ascii=False)
    out.write("\n")

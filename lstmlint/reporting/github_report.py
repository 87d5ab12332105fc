"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

``::error title=...,file=...,line=...,endLine=...,col=...,endColumn=...::message``, with
GitHub's escaping (``%``, CR and LF in the message; also ``:`` and ``,`` in the properties).
``col``/``endColumn`` are left out when a finding spans lines (GitHub rejects them then).
Notebook findings point at the line of the .ipynb file where that cell line is stored, and at
its columns in the JSON text, so the annotation lands on the right line of the file view.
Paths are relative to ``$GITHUB_WORKSPACE`` when set, else to the working folder.
"""

from __future__ import annotations

from typing import TextIO

from lstmlint.diagnostics import Severity
from lstmlint.reporting.common import Locator, ci_base, details, report_path, where

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, properties: dict[str, object], message: str) -> str:
    rendered = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{level} {rendered}::{escape_data(message)}"


def write(results, out: TextIO, context=None) -> None:
    base = ci_base("GITHUB_WORKSPACE")
    locator = Locator()
    for result in results:
        path = report_path(result.path, base) or result.path
        for diag in result.diagnostics:
            region = locator.region(diag)
            properties: dict[str, object] = {
                "title": f"lstmlint {diag.code} ({diag.name})",
                "file": path,
                "line": region.line,
                "endLine": region.end_line,
            }
            if region.single_line and region.column is not None:
                properties["col"] = region.column
                properties["endColumn"] = region.end_column
            head = f"{diag.code} {diag.message}"
            if diag.cell is not None:
                head = f"{where(diag)}: {head}"
            message = "\n".join([head, *details(diag)])
            out.write(command(LEVELS[diag.severity], properties, message) + "\n")
        for note in result.notes:
            out.write(
                command("notice", {"title": "lstmlint note", "file": path}, f"{path}: {note}")
                + "\n"
            )

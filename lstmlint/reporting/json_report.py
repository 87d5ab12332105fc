"""``--format json``: one JSON array of findings, each with its help URL and fingerprint.

``fix`` is the fix in words; ``edits`` its machine form (``line``, ``column``, ``end_line``,
``end_column``, ``replacement``, in the finding's own coordinates: cell lines in notebooks),
and ``applicability`` says whether ``--fix`` applies them (``safe``: a gradient check verified
the finding) or only ``--fix --unsafe-fixes`` does (``unsafe``).
"""

from __future__ import annotations

import json
from typing import TextIO

from lstmlint.engine import FileResult


def _applicability(diag) -> str | None:
    from lstmlint.reporting import fix_applicable

    if fix_applicable(diag):
        return "safe"
    return "unsafe" if fix_applicable(diag, unsafe=True) else None


def write(results: list[FileResult], out: TextIO, context=None) -> None:
    from lstmlint.reporting import Context
    from lstmlint.reporting.common import reported_edits
    from lstmlint.rulesdoc import help_url

    context = context or Context()
    records = []
    for result in results:
        for diag in result.diagnostics:
            record = diag.to_dict()
            record["url"] = help_url(diag.code)
            fingerprint, occurrence = context.fingerprint(diag)
            record["fingerprint"] = f"{fingerprint}:{occurrence}"
            record["edits"] = [edit.to_dict() for edit in reported_edits(result, diag)]
            record["applicability"] = _applicability(diag) if record["edits"] else None
            records.append(record)
    json.dump(records, out, indent=2)
    out.write("\n")

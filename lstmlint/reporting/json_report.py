"""``--format json``: one JSON array of findings, each with its help URL and fingerprint."""

from __future__ import annotations

import json
from typing import TextIO

from lstmlint.engine import FileResult


def write(results: list[FileResult], out: TextIO, context=None) -> None:
    from lstmlint.reporting import Context
    from lstmlint.rulesdoc import help_url

    context = context or Context()
    records = []
    for result in results:
        for diag in result.diagnostics:
            record = diag.to_dict()
            record["url"] = help_url(diag.code)
            fingerprint, occurrence = context.fingerprint(diag)
            record["fingerprint"] = f"{fingerprint}:{occurrence}"
            records.append(record)
    json.dump(records, out, indent=2)
    out.write("\n")

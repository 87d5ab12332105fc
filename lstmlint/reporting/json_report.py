"""``--format json``: one JSON array of findings."""

from __future__ import annotations

import json
from typing import TextIO

from lstmlint.engine import FileResult


def write(results: list[FileResult], out: TextIO) -> None:
    records = [diag.to_dict() for result in results for diag in result.diagnostics]
    json.dump(records, out, indent=2)
    out.write("\n")

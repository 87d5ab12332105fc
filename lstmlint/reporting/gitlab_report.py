"""``--format gitlab``: a GitLab Code Quality report (a JSON array of CodeClimate issues).

Each issue has ``description``, ``check_name``, ``fingerprint``, ``severity`` and
``location.path`` / ``location.lines.begin``. The fingerprint hashes the path, the code, the
finding's stable fingerprint (line text and enclosing function, not the line number) and its
occurrence, so every finding has its own and it survives edits above it, which is what GitLab's
merge-request widget compares. Notebook findings point at the line of the .ipynb file. Paths
are relative to ``$CI_PROJECT_DIR`` when set, else to the working folder.
"""

from __future__ import annotations

import hashlib
import json
from typing import TextIO

from lstmlint.diagnostics import Severity
from lstmlint.reporting.common import Locator, ci_base, details, report_path, where

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}
CATEGORIES = {Severity.ERROR: "Bug Risk", Severity.WARNING: "Bug Risk", Severity.INFO: "Style"}


def write(results, out: TextIO, context=None) -> None:
    from lstmlint.reporting import Context
    from lstmlint.rulesdoc import help_url

    context = context or Context()
    base = ci_base("CI_PROJECT_DIR")
    locator = Locator()
    issues = []
    seen: set[str] = set()
    for result in results:
        path = report_path(result.path, base) or result.path
        for diag in result.diagnostics:
            region = locator.region(diag)
            stable, occurrence = context.fingerprint(diag)
            key = f"{path}\0{diag.code}\0{stable}\0{occurrence}"
            fingerprint = hashlib.md5(key.encode()).hexdigest()
            while fingerprint in seen:  # never two issues with one fingerprint
                key += "\0"
                fingerprint = hashlib.md5(key.encode()).hexdigest()
            seen.add(fingerprint)
            description = f"{diag.code} {diag.name}: {diag.message}"
            if diag.cell is not None:
                description = f"{description} ({where(diag)})"
            body = "\n\n".join([*details(diag), f"Documentation: {help_url(diag.code)}"])
            issues.append(
                {
                    "type": "issue",
                    "description": description,
                    "check_name": diag.code,
                    "content": {"body": body},
                    "categories": [CATEGORIES[diag.severity]],
                    "fingerprint": fingerprint,
                    "severity": SEVERITIES[diag.severity],
                    "location": {
                        "path": path,
                        "lines": {"begin": region.line, "end": region.end_line},
                    },
                }
            )
    json.dump(issues, out, indent=2)
    out.write("\n")

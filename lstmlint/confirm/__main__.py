"""Child process: read experiment specs (JSON) on stdin, write one confirmation per spec on stdout."""

from __future__ import annotations

import json
import sys

from lstmlint.analysis.interp import Unknown
from lstmlint.confirm.experiment import Unbound, run
from lstmlint.reference import SlotError


def main() -> None:
    specs = json.load(sys.stdin)
    results = []
    for spec in specs:
        try:
            results.append(run(spec))
        except (Unbound, Unknown, SlotError) as exc:
            results.append(
                {"status": "unconfirmed", "method": "reference", "reason": str(exc), "evidence": []}
            )
        except Exception as exc:  # one broken experiment must not lose the others
            reason = f"the experiment failed ({exc.__class__.__name__}: {exc})"
            results.append(
                {"status": "unconfirmed", "method": "reference", "reason": reason, "evidence": []}
            )
    json.dump(results, sys.stdout)


main()

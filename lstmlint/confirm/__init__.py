"""Dynamic confirmation: prove each gradient finding with the bundled reference models.

Findings carry an experiment spec in ``facts["experiment"]`` (see ``analysis.experiments``).
All specs of a run are deduplicated and run in child processes (one per core when there are
many) with a time limit, so that nothing an experiment does can hang or crash lstmlint. Each
finding then gets a ``confirmation``: confirmed, refuted, unconfirmed (with the reason) or
advice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from lstmlint.diagnostics import Diagnostic

DEFAULT_TIMEOUT = 60.0
PROVABLE = ("LST1", "LST2", "LST301", "LST302", "LST303")


def _no_experiment(diag: Diagnostic) -> dict:
    if not diag.code.startswith(PROVABLE):
        return {"status": "advice", "method": None, "reason": None, "evidence": []}
    reason = diag.facts.get("unconfirmed") or "no reference experiment matches this code yet"
    return {"status": "unconfirmed", "method": None, "reason": reason, "evidence": []}


def confirm(diagnostics: Iterable[Diagnostic], timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Attach a confirmation to every diagnostic (in place). False when the experiments could
    not be run at that moment (their process failed or timed out), else True."""
    pending: dict[str, list[Diagnostic]] = {}
    specs: list[dict] = []
    for diag in diagnostics:
        if diag.code in ("LST000", "LST001"):
            continue
        spec = diag.facts.get("experiment")
        if spec is None:
            diag.confirmation = _no_experiment(diag)
            continue
        key = json.dumps(spec, sort_keys=True)
        if key not in pending:
            pending[key] = []
            specs.append(spec)
        pending[key].append(diag)
    if not specs:
        return True
    results, ran = _run(specs, timeout)
    for key, result in zip(pending, results, strict=True):
        for diag in pending[key]:
            # one copy each: what is added to one finding's confirmation later (the reason the
            # user's own code was not run) must not be added again through the others
            diag.confirmation = {**result, "evidence": list(result.get("evidence", []))}
    return ran


def confirm_results(results: list, settings) -> None:
    """Attach a confirmation to every finding of ``results`` (``FileResult``s), in place."""
    ran = confirm(
        (d for r in results for d in r.diagnostics if d.code != "LST002"),
        settings.confirm_timeout,
    )
    if not ran:
        for result in results:
            result.transient = result.transient or any(
                d.facts.get("experiment") for d in result.diagnostics
            )
    if settings.confirm in ("auto", "exec"):
        from lstmlint.harness import run_user_code

        run_user_code(results, settings)


SPECS_PER_PROCESS = 8  # fewer than this many experiments are not worth another process


def _run(specs: list[dict], timeout: float) -> tuple[list[dict], bool]:
    """The result of every spec, and whether the experiments ran (False: a process failure).
    The specs are shared out among one child process per core, each with the time limit."""
    from concurrent.futures import ThreadPoolExecutor

    from lstmlint.settings import cores

    count = max(1, min(cores(), len(specs) // SPECS_PER_PROCESS))
    size = -(-len(specs) // count)
    parts = [specs[i : i + size] for i in range(0, len(specs), size)]
    if len(parts) == 1:
        return _run_part(specs, timeout)
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        answers = list(pool.map(lambda part: _run_part(part, timeout), parts))
    return [r for results, _ in answers for r in results], all(ran for _, ran in answers)


def _run_part(specs: list[dict], timeout: float) -> tuple[list[dict], bool]:
    def failed(reason: str) -> tuple[list[dict], bool]:
        unconfirmed = {"status": "unconfirmed", "method": "reference", "reason": reason}
        return [{**unconfirmed, "evidence": []} for _ in specs], False

    from lstmlint.child_process import ChildFailed, ask

    try:
        results = ask("lstmlint.confirm", specs, timeout)
    except ChildFailed as exc:
        return failed(f"the experiment process {exc}")
    if not isinstance(results, list) or len(results) != len(specs):
        return failed("the experiment process returned an unexpected answer")
    return results, True


def evidence_line(confirmation: dict | None) -> str | None:
    """One line for the text report: the worst parameters before and after the fix."""
    if not confirmation:
        return None
    status = confirmation["status"]
    if status == "advice":
        return None
    # the reference models stand in for the user's code unless it was run itself
    where = " on your code" if confirmation.get("method") == "your-code" else ""
    if status in ("refuted", "unconfirmed"):
        return f"{status}{where}: {confirmation.get('reason') or ''}".rstrip(": ")
    parts = []
    for item in confirmation.get("evidence", [])[:2]:
        if "param" in item:
            fixed = item.get("fixed_error")
            after = f" -> {fixed:.1e} with the fix" if fixed is not None else ""
            parts.append(f"d{item['param']} rel. error {item['error']:.1e}{after}")
        elif "probe" in item:
            parts.append(
                f"{item['probe']} gives {item['result']}; {item['fixed_result']} with the fix"
            )
    if confirmation.get("fix_verified") is False:
        parts.append("the fixes together did not make your code's gradients exact")
    text = "; ".join(parts) if parts else "gradient error removed by the fix"
    return f"confirmed{where}: {text}"

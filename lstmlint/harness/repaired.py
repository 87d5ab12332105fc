"""Repairs the search proved (``repair.py``, run in the child) as findings: LST901 at the edited
code, confirmed on the user's code, with the edit as its fix."""

from __future__ import annotations

from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.harness.repair import KINDS

REPAIRED = ("LST901", "repaired-gradient")


def place(outcomes: list[dict], original: str, all_fixed: str | None) -> None:
    """Give each repair's edit the place it has in the user's text (``edit["at"]``): an edit of
    the text with every fix applied keeps its place where that line is the user's own."""
    mine = original.splitlines()
    for outcome in outcomes:
        base = original if outcome.get("repair_base") != "all_fixed" else all_fixed or ""
        theirs = base.splitlines()
        for repair in outcome.get("repairs", []):
            edits = repair.get("edits") or [repair["edit"]]
            lines = [i for e in edits for i in range(e["line"] - 1, e["end_line"])]
            same = len(mine) == len(theirs) and all(mine[i] == theirs[i] for i in lines)
            repair["at"] = edits if same else None


def report(result, doc, outcome: dict, selection, lacking: list | None = None) -> dict | None:
    """An LST901 finding per placed repair; the outcome after the last repair, or None. A
    repair on the line of a finding in ``lacking`` (one without an automatic fix) becomes that
    finding's fix and proof instead."""
    from lstmlint.engine import _analysed_line, _make, _suppressed

    repairs = outcome.get("repairs") or []
    code, name = REPAIRED
    if not repairs or not selection.enabled(code, name):
        return None
    for repair in repairs:
        placed = repair["at"]
        if placed is None:
            continue
        edit = placed[-1]
        spans = [Span(e["line"], e["column"], e["end_line"], e["end_column"]) for e in placed]
        span = spans[-1]
        old = _text(doc.text, edit)
        before, after = repair["before"]["params"], repair["after"]["params"]
        fixed = sorted(
            n for n, p in after.items() if p["verdict"] == "PASS" and before[n]["verdict"] != "PASS"
        )
        if not fixed:  # defensive: the search accepts no edit that repairs nothing
            continue
        confirmation = {
            "status": "confirmed",
            "method": "your-code",
            "reason": f"inputs: {repair['after'].get('how')}",
            "evidence": [
                {"param": n, "error": before[n]["error"], "fixed_error": after[n]["error"]}
                for n in fixed
            ],
        }
        owner = next(
            (
                d
                for d in lacking or []
                if edit["line"] <= _analysed_line(doc, d) <= edit["end_line"]
            ),
            None,
        )
        if owner is not None and len(placed) == 1:
            owner.edits = [Edit(span, edit["replacement"])]
            owner.fix = f"write `{_short(edit['replacement'])}`"
            owner.confirmation = {
                **confirmation,
                "reason": f"the repair search: `{_short(old)}` -> "
                f"`{_short(edit['replacement'])}` makes the gradients exact; {confirmation['reason']}",
            }
            continue
        changes = " with ".join(
            f"`{_short(_text(doc.text, e))}` -> `{_short(e['replacement'])}`" for e in placed
        )
        kinds = "; ".join(dict.fromkeys(KINDS[e["kind"]] for e in placed))
        diag = _make(
            doc,
            code,
            name,
            f"{changes} {'make' if len(placed) > 1 else 'makes'} the gradients of "
            f"{', '.join(fixed)} exact ({kinds})",
            span,
            Severity.ERROR,
            f"write `{_short(edit['replacement'])}`"
            + "".join(
                f" and `{_short(e['replacement'])}` at line {e['line']}" for e in placed[:-1]
            ),
            edits=[Edit(s, e["replacement"]) for s, e in zip(spans, placed, strict=True)],
        )
        diag.confirmation = confirmation
        if not _suppressed(doc, diag) and not any(_same(diag, d) for d in result.diagnostics):
            result.diagnostics.append(diag)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return repairs[-1]["after"]


def _same(diag: Diagnostic, other: Diagnostic) -> bool:
    """The same repair, found for another entry point that reaches the same code."""
    return (other.code, other.span, other.edits) == (diag.code, diag.span, diag.edits)


def _text(text: str, edit: dict) -> str:
    lines = text.splitlines(keepends=True)[edit["line"] - 1 : edit["end_line"]]
    if len(lines) == 1:
        return lines[0][edit["column"] - 1 : edit["end_column"] - 1]
    return "".join(lines)[edit["column"] - 1 :].rstrip()


def _short(code: str) -> str:
    flat = " ".join(code.split())
    return flat if len(flat) <= 60 else flat[:57] + "..."

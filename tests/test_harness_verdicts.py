"""The verdicts on the user's own code, one rule of judgement at a time.

The child answers with one outcome per problem: the gradient check of the code as written
(``original``), with every known fix (``all_fixed``) and with every fix but one (``without``,
keyed by the finding's index among the fixable findings). ``lstmlint.harness`` turns those
outcomes into confirmations, LST900 findings, notes and the ``--harness-report`` record. Here
the outcomes are written by hand, so that each rule (and each threshold) is pinned without
running any code; `test_harness.py` checks the same rules end to end.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import lstmlint.harness as harness
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.engine import FileResult
from lstmlint.harness import extract, repaired
from lstmlint.selection import Selection
from lstmlint.sources import CellSpan, SourceDocument

TEXT = (
    "import numpy as np\n"  # 1
    "\n"  # 2
    "def lossFun(x, y, h):\n"  # 3
    "    a = 1\n"  # 4
    "    b = 2\n"  # 5
    "    c = 3\n"  # 6
    "    return a, b, c\n"  # 7
    "\n"  # 8
    "def other(x):\n"  # 9
    "    return x\n"  # 10
)
PROBLEM: dict[str, Any] = {
    "kind": "lossfun",
    "function": "lossFun",
    "backward": "lossFun",
    "params": [],
    "lines": [[3, 7]],
}
REFERENCE = {"status": "confirmed", "method": "reference", "reason": None, "evidence": []}


def _checked(errors: dict[str, float], how: str = "index lists") -> dict:
    """An outcome of a gradient check that ran, with the verdict each error gets."""

    def verdict(error: float) -> str:
        return "PASS" if error < 1e-7 else "FAIL" if error > 1e-3 else "INCONCLUSIVE"

    return {
        "status": "ok",
        "how": how,
        "params": {n: {"error": e, "verdict": verdict(e)} for n, e in errors.items()},
    }


def _given(verdicts: dict[str, tuple[float, str]]) -> dict:
    """An outcome whose verdicts are given, not derived from the errors."""
    return {
        "status": "ok",
        "how": "index lists",
        "params": {n: {"error": e, "verdict": v} for n, (e, v) in verdicts.items()},
    }


FAILED = {"status": "error", "reason": "TypeError: no way to call it"}


def _finding(
    code: str, line: int, *, edits: bool = True, confirmation: dict | None = REFERENCE
) -> Diagnostic:
    return Diagnostic(
        "m.py",
        code,
        "rule",
        "message",
        Span(line, 5, line, 6),
        Severity.ERROR,
        confirmation=dict(confirmation) if confirmation is not None else None,
        edits=[Edit(Span(line, 9, line, 10), "9")] if edits else [],
    )


def _doc(text: str = TEXT) -> SourceDocument:
    return SourceDocument(path="m.py", text=text, display_lines=text.split("\n"))


def _settings(selection: Selection | None = None) -> SimpleNamespace:
    return SimpleNamespace(selection=selection or Selection())


def _judge(
    outcome: dict,
    findings: list[Diagnostic],
    fixable: list[Diagnostic] | None = None,
    selection: Selection | None = None,
) -> list[Diagnostic]:
    """Judge ``outcome`` for PROBLEM; the LST900 findings it added."""
    result = FileResult(path="m.py", diagnostics=list(findings))
    if fixable is None:
        fixable = [d for d in findings if d.edits]
    harness._judge(
        result,
        _doc(),
        extract.reduce_module(TEXT),
        PROBLEM,
        outcome,
        fixable,
        _settings(selection),
    )
    return [d for d in result.diagnostics if d.code == "LST900"]


def _status(diag: Diagnostic) -> tuple[str, str]:
    assert diag.confirmation is not None
    return diag.confirmation["status"], diag.confirmation["method"]


# --- _passes and _failing ---------------------------------------------------------------------


def test_passes_only_when_the_check_ran_and_every_parameter_passed() -> None:
    assert harness._passes(_checked({"W": 1e-9, "b": 5e-8}))
    assert harness._passes(_checked({}))  # nothing was wrong
    assert not harness._passes(_checked({"W": 1e-9, "b": 1e-5}))  # INCONCLUSIVE is not exact
    assert not harness._passes(_checked({"W": 1e-9, "b": 0.5}))
    assert not harness._passes({**_checked({"W": 1e-9}), "status": "error"})
    assert not harness._passes(None)
    assert not harness._passes({})


def test_failing_lists_the_chosen_verdicts_worst_first() -> None:
    outcome = _checked({"a": 0.01, "b": 1e-9, "c": 0.5, "d": 1e-5, "e": 0.2})
    assert harness._failing(outcome) == [("c", 0.5), ("e", 0.2), ("a", 0.01)]
    assert harness._failing(outcome, harness.NOT_EXACT) == [
        ("c", 0.5),
        ("e", 0.2),
        ("a", 0.01),
        ("d", 1e-5),
    ]
    assert harness._failing(outcome, ("INCONCLUSIVE",)) == [("d", 1e-5)]
    assert harness._failing(_checked({"W": 1e-9})) == []


# --- exact as written, or not checked at all ----------------------------------------------------


def test_nothing_is_judged_when_the_code_was_not_checked() -> None:
    for outcome in ({}, {"original": None}, {"original": FAILED}):
        finding = _finding("LST101", 4)
        assert _judge(outcome, [finding]) == []
        assert finding.confirmation == REFERENCE


def test_exact_as_written_refutes_the_problem_s_gradient_findings_only() -> None:
    inside = _finding("LST101", 4)
    unfixable = _finding("LST205", 5, edits=False)
    outside = _finding("LST102", 10)  # in `other`, which this problem does not run
    not_gradient = _finding("LST302", 6)  # not a gradient rule: running cannot judge it
    findings = [inside, unfixable, outside, not_gradient]
    outcome = {"original": _checked({"W": 1e-9, "b": 2e-9}, how="one-hot rows")}
    assert _judge(outcome, findings) == []
    for diag in (inside, unfixable):
        assert diag.confirmation == {
            "status": "refuted",
            "method": "your-code",
            "reason": "your code's gradients are exact as written (inputs: one-hot rows)",
            "evidence": [],
        }
    assert outside.confirmation == REFERENCE
    assert not_gradient.confirmation == REFERENCE


# --- every fix makes the code exact: which fix was needed ---------------------------------------


def test_the_fix_needed_for_exact_gradients_is_confirmed_with_its_evidence() -> None:
    needed, unneeded = _finding("LST101", 4), _finding("LST204", 5)
    outcome = {
        "original": _checked({"W": 0.5, "b": 0.2, "c": 1e-9}),
        "all_fixed": _checked({"W": 1e-9, "b": 2e-9, "c": 3e-9}),
        "without": {
            "0": _checked({"W": 0.4, "b": 1e-5, "c": 3e-9}),  # INCONCLUSIVE counts too
            "1": _checked({"W": 1e-9, "b": 2e-9, "c": 3e-9}),
        },
    }
    assert _judge(outcome, [needed, unneeded]) == []
    assert needed.confirmation == {
        "status": "confirmed",
        "method": "your-code",
        "reason": None,
        "evidence": [
            {"param": "W", "error": 0.4, "fixed_error": 1e-9},
            {"param": "b", "error": 1e-5, "fixed_error": 2e-9},
        ],
    }
    assert unneeded.confirmation == {
        "status": "refuted",
        "method": "your-code",
        "reason": "with every other fix applied, your code's gradients are exact without this one",
        "evidence": [],
    }


def test_a_fix_needed_only_for_an_inconclusive_gradient_is_confirmed() -> None:
    needed = _finding("LST101", 4)
    outcome = {
        "original": _checked({"W": 1e-5}),
        "all_fixed": _checked({"W": 1e-9}),
        "without": {"0": _checked({"W": 2e-5})},
    }
    _judge(outcome, [needed])
    assert needed.confirmation is not None
    assert needed.confirmation["status"] == "confirmed"
    assert needed.confirmation["evidence"] == [{"param": "W", "error": 2e-5, "fixed_error": 1e-9}]


def test_leave_one_out_judges_only_what_it_measured_of_this_problem() -> None:
    unmeasured = _finding("LST101", 4)  # no "without" entry: its fix overlaps another
    not_run = _finding("LST204", 5)  # its check without the fix did not run
    outside = _finding("LST102", 10)  # another problem's finding, with a measurement
    inexact_but_passing = _finding("LST203", 6)  # exact except for verdicts that are not FAIL
    fixable = [unmeasured, not_run, outside, inexact_but_passing]
    outcome = {
        "original": _checked({"W": 0.5}),
        "all_fixed": _checked({"W": 1e-9}),
        "without": {
            "1": FAILED,
            "2": _checked({"W": 0.5}),
            "3": _given({"W": (0.5, "SKIPPED")}),
        },
    }
    assert _judge(outcome, fixable, fixable) == []
    for diag in fixable:
        assert diag.confirmation == REFERENCE


def test_a_finding_skipped_does_not_end_the_leave_one_out_verdicts() -> None:
    unmeasured, needed = _finding("LST101", 4), _finding("LST204", 5)
    outcome = {
        "original": _checked({"W": 0.5}),
        "all_fixed": _checked({"W": 1e-9}),
        "without": {"1": _checked({"W": 0.5})},
    }
    _judge(outcome, [unmeasured, needed])
    assert unmeasured.confirmation == REFERENCE
    assert _status(needed) == ("confirmed", "your-code")
    # no leave-one-out measured at all: the findings with a fix are left as they were
    outcome = {"original": _checked({"W": 0.5}), "all_fixed": _checked({"W": 1e-9})}
    first, second = _finding("LST101", 4), _finding("LST204", 5)
    assert _judge(outcome, [first, second]) == []
    assert [first.confirmation, second.confirmation] == [REFERENCE, REFERENCE]


def test_a_notebook_s_findings_are_placed_by_their_cell() -> None:
    from lstmlint.sources import CellSpan

    # TEXT as two cells: lines 1-2 and lines 3-10 (the problem's lines 3-7 are 1-5 of cell 4)
    cells = [CellSpan(index=1, first_line=1, line_count=2), CellSpan(4, 3, 8)]
    doc = SourceDocument(path="m.ipynb", text=TEXT, display_lines=TEXT.split("\n"), cells=cells)
    inside = _finding("LST101", 2)  # line 2 of cell 4: line 4
    outside = _finding("LST102", 7)  # line 7 of cell 4: line 9, in `other`
    inside.cell, outside.cell = 4, 4
    result = FileResult(path="m.ipynb", diagnostics=[inside, outside])
    outcome = {"original": _checked({"W": 1e-9})}
    reduced = extract.reduce_module(TEXT)
    harness._judge(result, doc, reduced, PROBLEM, outcome, [inside, outside], _settings())
    assert _status(inside) == ("refuted", "your-code")
    assert outside.confirmation == REFERENCE


def test_a_finding_without_a_fix_is_refuted_when_the_fixes_make_the_code_exact() -> None:
    fixed, unfixable = _finding("LST101", 4), _finding("LST205", 5, edits=False)
    outside = _finding("LST206", 10, edits=False)
    outcome = {
        "original": _checked({"W": 0.5}),
        "all_fixed": _checked({"W": 1e-9}),
        "without": {"0": _checked({"W": 0.5})},
    }
    _judge(outcome, [fixed, unfixable, outside])
    assert _status(fixed) == ("confirmed", "your-code")
    assert unfixable.confirmation == {
        "status": "refuted",
        "method": "your-code",
        "reason": "your code's gradients are exact with the other fixes while this stands",
        "evidence": [],
    }
    assert outside.confirmation == REFERENCE


# --- every fix together leaves the code inexact -------------------------------------------------


def test_the_one_fix_that_breaks_exact_code_is_refuted_and_the_others_stay_verified() -> None:
    needed, wrong = _finding("LST101", 4), _finding("LST204", 5)
    outcome = {
        "original": _checked({"W": 0.5, "b": 1e-9}),
        "all_fixed": _checked({"W": 1e-9, "b": 0.3}),  # the second fix broke b
        "without": {"0": _checked({"W": 0.5, "b": 0.3}), "1": _checked({"W": 1e-9, "b": 1e-9})},
    }
    assert _judge(outcome, [needed, wrong]) == []
    assert wrong.confirmation == {
        "status": "refuted",
        "method": "your-code",
        "reason": "with every other fix applied, your code's gradients are exact as this code "
        "stands, and its fix makes them wrong",
        "evidence": [],
    }
    assert needed.confirmation == REFERENCE  # no fix_verified: its fix is allowed


def test_one_wrong_fix_needs_exactly_one_finding_of_this_problem() -> None:
    def singled(without: dict, *, inside: bool = True) -> tuple[bool, list[Diagnostic]]:
        fixable = [_finding("LST101", 4), _finding("LST204", 5 if inside else 10)]
        mine = fixable if inside else fixable[:1]
        outcome = {"all_fixed": _checked({"W": 0.3}), "without": without}
        return harness._one_wrong_fix(outcome, fixable, mine), fixable

    exact, wrong = _checked({"W": 1e-9}), _checked({"W": 0.3})
    for without in ({}, {"0": wrong, "1": wrong}, {"0": exact, "1": exact}, {"1": FAILED}):
        found, fixable = singled(without)
        assert found is False
        assert [d.confirmation for d in fixable] == [REFERENCE, REFERENCE]
    found, fixable = singled({"0": wrong, "1": exact}, inside=False)
    assert found is False
    assert fixable[1].confirmation == REFERENCE
    found, fixable = singled({"0": wrong, "1": exact})
    assert found is True
    assert _status(fixable[1]) == ("refuted", "your-code")
    assert fixable[0].confirmation == REFERENCE
    # no "without" at all: nothing to single out
    assert not harness._one_wrong_fix({"all_fixed": wrong}, fixable, fixable)


def test_fixes_that_make_a_gradient_ten_times_worse_are_suspect() -> None:
    with_fix = [_finding("LST101", 4)]
    without_fix = [_finding("LST101", 4), _finding("LST205", 5, edits=False)]
    original = _checked({"W": 0.01, "b": 0.5, "c": 1e-9})

    def suspect(fixed: dict, mine: list[Diagnostic] = without_fix) -> bool:
        return harness._fixes_suspect(original, fixed, mine)

    assert suspect(_checked({"W": 0.1, "b": 0.5, "c": 1e-9})) is False  # exactly ten times
    assert suspect(_checked({"W": 0.10001, "b": 0.5, "c": 1e-9})) is True
    assert suspect(_checked({"W": 0.01, "b": 0.5, "c": 1e-9})) is False
    # an exact gradient made inexact: measured against 1e-7, not against its own tiny error
    assert suspect(_checked({"W": 0.01, "c": 1e-5})) is True
    assert suspect(_given({"c": (1.1e-6, "INCONCLUSIVE")})) is True
    assert suspect(_given({"c": (9e-7, "INCONCLUSIVE")})) is False
    # a parameter the original did not report counts as exact there
    assert suspect(_given({"new": (1.1e-6, "INCONCLUSIVE")})) is True
    assert suspect(_given({"new": (0.5, "PASS")})) is False  # only inexact verdicts count
    # with no finding left that lacks a fix, only the fixes can be to blame
    assert suspect(_checked({"W": 0.01}), with_fix) is True
    assert suspect(_checked({"W": 0.01}), []) is True


def test_suspect_fixes_are_not_verified_on_the_findings_that_have_a_confirmation() -> None:
    first, second = _finding("LST101", 4), _finding("LST204", 5, confirmation=None)
    outside = _finding("LST102", 10)
    outcome = {
        "original": _checked({"W": 1e-5, "b": 0.2}),
        "all_fixed": _checked({"W": 0.3, "b": 1e-9}),  # the fixes made W far worse
    }
    assert _judge(outcome, [first, second, outside]) == []
    assert first.confirmation == {**REFERENCE, "fix_verified": False}
    assert second.confirmation is None
    assert outside.confirmation == REFERENCE


def test_fixes_are_not_suspect_while_a_finding_without_a_fix_may_explain_the_error() -> None:
    fixed, unfixable = _finding("LST101", 4), _finding("LST205", 5, edits=False)
    outcome = {
        "original": _checked({"W": 0.5, "b": 0.4}),
        "all_fixed": _checked({"W": 0.5, "b": 0.4}),
        "without": {"0": _checked({"W": 0.5, "b": 0.4})},
    }
    assert _judge(outcome, [fixed, unfixable]) == []
    assert fixed.confirmation == REFERENCE
    assert unfixable.confirmation == REFERENCE


def test_fixes_that_did_not_all_apply_are_not_judged() -> None:
    # overlapping fixes: the child was given no code with every fix
    finding = _finding("LST101", 4)
    outcome = {"original": _checked({"W": 0.5, "b": 0.2})}
    assert _judge(outcome, [finding]) == []
    assert finding.confirmation == REFERENCE


def test_nothing_is_reported_when_the_code_with_every_fix_failed_to_run() -> None:
    finding = _finding("LST101", 4)
    outcome = {"original": _checked({"W": 0.5}), "all_fixed": FAILED}
    assert _judge(outcome, [finding]) == []
    assert finding.confirmation == REFERENCE
    unfixable = _finding("LST205", 5, edits=False)
    assert _judge(outcome, [finding, unfixable]) == []
    assert finding.confirmation == REFERENCE


# --- a finding without a fix stands: confirm a fix that made a gradient far better ------------


def test_a_fix_that_makes_a_gradient_far_better_is_confirmed_beside_an_unfixable_finding() -> None:
    fixed, unfixable = _finding("LST101", 4), _finding("LST205", 5, edits=False)
    outcome = {
        "original": _checked({"W": 0.5, "b": 0.4}),
        "all_fixed": _checked({"W": 0.02, "b": 0.4}),
        "without": {"0": _checked({"W": 0.5, "b": 0.4})},
    }
    assert _judge(outcome, [fixed, unfixable]) == []
    assert fixed.confirmation == {
        "status": "confirmed",
        "method": "your-code",
        "reason": "other gradients stay inexact: a finding without an automatic fix",
        "evidence": [{"param": "W", "error": 0.5, "fixed_error": 0.02}],
    }
    assert unfixable.confirmation == REFERENCE


def test_a_fix_that_broke_an_exact_gradient_stays_unverified_when_confirmed() -> None:
    # the fix makes W far better but c, exact as written, wrong: confirmed, yet not applied
    fixed, unfixable = _finding("LST101", 4), _finding("LST205", 5, edits=False)
    outcome = {
        "original": _checked({"W": 0.5, "b": 0.4, "c": 1e-9}),
        "all_fixed": _checked({"W": 0.02, "b": 0.4, "c": 0.3}),
        "without": {"0": _checked({"W": 0.5, "b": 0.4, "c": 1e-9})},
    }
    assert _judge(outcome, [fixed, unfixable]) == []
    assert _status(fixed) == ("confirmed", "your-code")
    assert fixed.confirmation["fix_verified"] is False


def _better(without: dict, fixed: dict | None, *, inside: bool = True) -> Diagnostic:
    diag = _finding("LST101", 4)
    mine = [diag] if inside else []
    outcome: dict[str, Any] = {"original": _checked({"W": 0.5}), "without": without}
    if fixed is not None:
        outcome["all_fixed"] = fixed
    harness._confirm_where_better(outcome, [diag], mine)
    return diag


def test_far_better_means_more_than_ten_times_and_only_failing_gradients() -> None:
    fixed = _checked({"W": 0.02, "b": 0.3})
    assert _better({"0": _checked({"W": 0.2, "b": 0.3})}, fixed).confirmation == REFERENCE
    diag = _better({"0": _checked({"W": 0.20001, "b": 0.3})}, fixed)
    assert diag.confirmation is not None
    assert diag.confirmation["evidence"] == [{"param": "W", "error": 0.20001, "fixed_error": 0.02}]
    # the worst first
    diag = _better({"0": _checked({"W": 0.3, "b": 4.0})}, fixed)
    assert diag.confirmation is not None
    assert [e["param"] for e in diag.confirmation["evidence"]] == ["b", "W"]
    # an inconclusive gradient is no proof, however much worse
    unsure = {"0": _given({"W": (0.5, "INCONCLUSIVE")})}
    assert _better(unsure, fixed).confirmation == REFERENCE
    # a gradient the fixed code did not report is measured against itself: never worse
    assert _better({"0": _checked({"new": 0.5})}, fixed).confirmation == REFERENCE


def test_an_exact_gradient_with_every_fix_is_measured_against_a_floor() -> None:
    fixed = _given({"W": (0.0, "PASS")})
    assert _better({"0": _given({"W": (0.5, "FAIL")})}, fixed).confirmation is not None
    assert _better({"0": _given({"W": (2e-11, "FAIL")})}, fixed).confirmation is not None
    assert _better({"0": _given({"W": (1e-11, "FAIL")})}, fixed).confirmation == REFERENCE


def test_far_better_is_judged_only_where_it_was_measured() -> None:
    worse = {"0": _checked({"W": 0.5})}
    fixed = _checked({"W": 0.02})
    assert _better(worse, None).confirmation == REFERENCE
    assert _better(worse, {}).confirmation == REFERENCE
    assert _better(worse, FAILED).confirmation == REFERENCE
    assert _better(worse, fixed, inside=False).confirmation == REFERENCE
    assert _better({}, fixed).confirmation == REFERENCE
    assert _better({"1": _checked({"W": 0.5})}, fixed).confirmation == REFERENCE
    assert _better({"0": FAILED}, fixed).confirmation == REFERENCE
    assert _better({"0": {}}, fixed).confirmation == REFERENCE
    assert _status(_better(worse, fixed)) == ("confirmed", "your-code")
    # a finding skipped does not end the search
    skipped, confirmed = _finding("LST101", 4), _finding("LST204", 5)
    outcome = {"all_fixed": fixed, "without": {"1": _checked({"W": 0.5})}}
    harness._confirm_where_better(outcome, [skipped, confirmed], [skipped, confirmed])
    assert skipped.confirmation == REFERENCE
    assert _status(confirmed) == ("confirmed", "your-code")
    diag = _finding("LST101", 4)
    harness._confirm_where_better({"all_fixed": fixed}, [diag], [diag])  # no "without"
    assert diag.confirmation == REFERENCE


# --- an error left after every fix: LST900 ------------------------------------------------------


def test_an_error_left_after_every_fix_is_reported_on_the_backward() -> None:
    fixed, other = _finding("LST101", 4), _finding("LST204", 5)
    outcome = {
        "original": _checked(
            {"W": 0.5, "b": 0.2, "c": 5e-4, "d": 1e-9, "e": 0.01, "f": 0.5, "g": 0.5},
            how="a batch of sequences",
        ),
        "all_fixed": _checked(
            {
                "W": 0.4,  # left as it was: unexplained
                "b": 1e-9,  # fixed
                "c": 1e-3 + 1e-6,  # inconclusive as written, wrong now, not ten times worse
                "d": 0.3,  # exact as written: the fixes broke it
                "e": 0.1,  # exactly ten times worse: still counted
                "f": 1e-5,  # inconclusive with the fixes: not counted
                "g": 5.0000001,  # more than ten times worse: the fixes are to blame
            }
        ),
    }
    (unexplained,) = _judge(outcome, [fixed, other])
    assert unexplained.confirmation == {
        "status": "confirmed",
        "method": "your-code",
        "reason": "inputs: a batch of sequences",
        "evidence": [
            {"param": "W", "error": 0.4, "fixed_error": None},
            {"param": "e", "error": 0.1, "fixed_error": None},
            {"param": "c", "error": 1e-3 + 1e-6, "fixed_error": None},
        ],
    }
    assert (unexplained.code, unexplained.name) == ("LST900", "unexplained-gradient-error")
    assert unexplained.message == (
        "`lossFun` computes wrong gradients that no rule explains: dW (4.0e-01), "
        "de (1.0e-01), dc (1.0e-03) disagree with central differences of your own loss"
    )
    # the fixes made d and g much worse: they are not verified
    assert fixed.confirmation == {**REFERENCE, "fix_verified": False}
    assert other.confirmation == {**REFERENCE, "fix_verified": False}


def test_what_a_repair_makes_exact_is_not_unexplained() -> None:
    fixed = _finding("LST101", 4)
    after_fixes = _checked({"W": 0.4, "b": 0.3})
    repaired = _checked({"W": 1e-9, "b": 0.3})
    edit = {"line": 5, "column": 9, "end_line": 5, "end_column": 10, "replacement": "b.T"}
    edit["kind"] = "transpose"
    outcome = {
        "original": _checked({"W": 0.5, "b": 0.3}),
        "all_fixed": after_fixes,
        "repairs": [{"at": [edit], "before": after_fixes, "after": repaired}],
    }
    result = FileResult(path="m.py", diagnostics=[fixed])
    harness._judge(
        result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [fixed], _settings()
    )
    assert [(d.code, d.line) for d in result.diagnostics] == [
        ("LST900", 3),
        ("LST101", 4),
        ("LST901", 5),
    ]
    unexplained = result.diagnostics[0]
    assert unexplained.confirmation is not None
    assert [e["param"] for e in unexplained.confirmation["evidence"]] == ["b"]
    # with LST901 not selected, the error left after every fix is reported as it is
    selection = Selection(ignore=("LST901",))
    (unexplained,) = _judge(outcome, [_finding("LST101", 4)], selection=selection)
    assert unexplained.confirmation is not None
    assert [e["param"] for e in unexplained.confirmation["evidence"]] == ["W", "b"]


def _repaired_at(line: int) -> dict:
    """An outcome where the search repaired W by an edit of ``line`` (TEXT's ``a``, ``b``,
    ``c`` at 4, 5, 6), the code as written being checked wrong."""
    wrong, exact = _checked({"W": 0.5}), _checked({"W": 1e-9})
    edit = {"line": line, "column": 9, "end_line": line, "end_column": 10, "kind": "factor"}
    edit["replacement"] = "3"  # in place of the constant 1, 2 or 3 there
    return {"original": wrong, "repairs": [{"at": [edit], "before": wrong, "after": exact}]}


def test_a_repair_at_the_line_of_a_finding_without_a_fix_is_its_fix_and_proof() -> None:
    lacking = _finding("LST203", 5, edits=False)
    result = FileResult(path="m.py", diagnostics=[lacking])
    harness._judge(
        result, _doc(), extract.reduce_module(TEXT), PROBLEM, _repaired_at(5), [], _settings()
    )
    assert result.diagnostics == [lacking]  # no LST901 beside it
    assert [(e.span.line, e.replacement) for e in lacking.edits] == [(5, "3")]
    assert lacking.fix == "write `3`"
    assert lacking.confirmation is not None
    assert lacking.confirmation["status"] == "confirmed"
    assert lacking.confirmation["method"] == "your-code"
    assert lacking.confirmation["evidence"] == [{"param": "W", "error": 0.5, "fixed_error": 1e-9}]
    assert "`2` -> `3` makes the gradients exact" in lacking.confirmation["reason"]


def test_a_repair_elsewhere_is_reported_beside_a_finding_without_a_fix() -> None:
    lacking = _finding("LST203", 5, edits=False)
    result = FileResult(path="m.py", diagnostics=[lacking])
    harness._judge(
        result, _doc(), extract.reduce_module(TEXT), PROBLEM, _repaired_at(6), [], _settings()
    )
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST203", 5), ("LST901", 6)]
    assert lacking.edits == [] and lacking.confirmation == REFERENCE


def test_a_repair_s_message_shows_each_side_on_one_line_and_a_long_one_cut() -> None:
    wrong, exact = _checked({"W": 0.5, "U": 0.5}), _checked({"W": 1e-9, "U": 1e-9})
    # from `x` on line 3 to `1` on line 4: two lines, shown as one, without the line break
    edit = {"line": 3, "column": 13, "end_line": 4, "end_column": 10, "kind": "factor"}
    edit["replacement"] = "b = 2 +   " + "w" * 70
    outcome = {"original": wrong, "repairs": [{"at": [edit], "before": wrong, "after": exact}]}
    result = FileResult(path="m.py", diagnostics=[])
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    (found,) = result.diagnostics
    shown = "b = 2 + " + "w" * 49 + "..."  # 57 characters of the flattened code, and "..."
    assert found.message.startswith(f"`x, y, h): a = 1` -> `{shown}` makes the gradients of U, W")
    assert found.fix == f"write `{shown}`"
    # sixty characters are shown whole, sixty-one are cut
    assert repaired._short("x" * 60) == "x" * 60
    assert repaired._short("x" * 61) == "x" * 57 + "..."


def test_every_placed_repair_is_reported_whatever_the_repairs_before_it() -> None:
    wrong, half = _checked({"W": 0.5, "U": 0.5}), _checked({"W": 1e-9, "U": 0.5})
    exact = _checked({"W": 1e-9, "U": 1e-9}, how="one-hot columns")
    edits = [
        {"line": n, "column": 9, "end_line": n, "end_column": 10, "kind": "factor"}
        for n in (4, 5, 6)
    ]
    for edit in edits:
        edit["replacement"] = "9"
    repairs = [
        {"at": None, "before": wrong, "after": half},  # made where the user's text differs
        {"at": [edits[1]], "before": wrong, "after": half},  # the fix of a finding without one
        {"at": [edits[2]], "before": half, "after": exact},
    ]
    lacking = _finding("LST203", 5, edits=False)
    result = FileResult(path="m.py", diagnostics=[lacking])
    outcome = {"original": wrong, "repairs": repairs}
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST203", 5), ("LST901", 6)]
    assert [(e.span.line, e.replacement) for e in lacking.edits] == [(5, "9")]
    found = result.diagnostics[1]
    assert found.confirmation is not None
    assert found.confirmation["reason"] == "inputs: one-hot columns"  # the way it was called
    # LST901 left out by its name, not only by its code
    result = FileResult(path="m.py", diagnostics=[])
    settings = _settings(selection=Selection(ignore=("repaired-gradient",)))
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], settings)
    assert [d.code for d in result.diagnostics] == ["LST900"]


def test_a_repair_of_three_edits_names_the_two_before_the_last_in_its_fix() -> None:
    wrong, exact = _checked({"W": 0.5}), _checked({"W": 1e-9})
    edits = [
        {"line": n, "column": 9, "end_line": n, "end_column": 10, "kind": "factor"}
        for n in (4, 5, 6)
    ]
    for edit, letter in zip(edits, "xyz", strict=True):
        edit["replacement"] = letter
    outcome = {"original": wrong, "repairs": [{"at": edits, "before": wrong, "after": exact}]}
    result = FileResult(path="m.py", diagnostics=[])
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    (found,) = result.diagnostics
    assert found.fix == "write `z` and `x` at line 4 and `y` at line 5"


def test_a_repair_is_placed_where_its_own_lines_are_the_user_s() -> None:
    edit = {"line": 4, "column": 9, "end_line": 4, "end_column": 10, "replacement": "7"}
    one = {"repair_base": "all_fixed", "repairs": [{"edit": edit}]}  # no `edits`: the one edit
    repaired.place([one, {"original": {}}], TEXT, TEXT.replace("def lossFun", "def lossfun"))
    assert one["repairs"][0]["at"] == [edit]  # another line differs: the edit's own is theirs
    repaired.place([one], TEXT, TEXT.replace("    a = 1", "    a = 0"))
    assert one["repairs"][0]["at"] is None  # its own line differs
    repaired.place([one], TEXT, TEXT.replace("\n\ndef lossFun", "\n#\ndef lossFun"))
    assert one["repairs"][0]["at"] == [edit]  # the line before it differs


def test_a_repaired_finding_says_what_it_replaced_where_and_what_it_fixed() -> None:
    before = _checked({"W": 0.5, "U": 1e-9})
    after = _checked({"W": 1e-9, "U": 1e-9})
    edit = {"line": 3, "column": 13, "end_line": 3, "end_column": 14, "kind": "name"}
    edit["replacement"] = "y"  # the `x` of `lossFun(x, y, h)`, between `(` and `,`
    outcome = {"original": before, "repairs": [{"at": [edit], "before": before, "after": after}]}
    result = FileResult(path="m.py", diagnostics=[])
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    (found,) = result.diagnostics
    assert found.message.startswith("`x` -> `y` makes the gradients of W exact (")  # not U
    assert found.severity is Severity.ERROR
    assert [(e.span.line, e.span.column, e.span.end_column) for e in found.edits] == [(3, 13, 14)]


def test_a_repair_that_fixes_nothing_is_passed_over_not_the_end() -> None:
    wrong, exact = _checked({"W": 0.5}), _checked({"W": 1e-9})
    edits = [
        {"line": n, "column": 9, "end_line": n, "end_column": 10, "kind": "factor"} for n in (4, 6)
    ]
    for edit in edits:
        edit["replacement"] = "9"
    repairs = [
        {"at": [edits[0]], "before": wrong, "after": wrong},
        {"at": [edits[1]], "before": wrong, "after": exact},
    ]
    result = FileResult(path="m.py", diagnostics=[])
    outcome = {"original": wrong, "repairs": repairs}
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST901", 6)]


def test_in_a_notebook_a_repair_is_the_fix_of_the_finding_in_its_cell_at_its_line() -> None:
    cells = [CellSpan(index=1, first_line=1, line_count=2), CellSpan(4, 3, 8)]
    doc = SourceDocument(path="m.ipynb", text=TEXT, display_lines=TEXT.split("\n"), cells=cells)
    lacking = _finding("LST203", 3, edits=False)  # line 3 of cell 4: line 5 of the text
    lacking.cell = 4
    result = FileResult(path="m.ipynb", diagnostics=[lacking])
    harness._judge(
        result, doc, extract.reduce_module(TEXT), PROBLEM, _repaired_at(5), [], _settings()
    )
    assert result.diagnostics == [lacking]
    assert [(e.span.line, e.replacement) for e in lacking.edits] == [(5, "3")]


def test_a_repair_found_for_two_entry_points_is_one_finding() -> None:
    result = FileResult(path="m.py", diagnostics=[])
    reduced = extract.reduce_module(TEXT)
    for _ in range(2):  # a step function and the time loop that calls it
        harness._judge(result, _doc(), reduced, PROBLEM, _repaired_at(6), [], _settings())
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST901", 6)]
    # another edit of the same line is another finding
    other = _repaired_at(6)
    other["repairs"][0]["at"][0]["replacement"] = "4"
    harness._judge(result, _doc(), reduced, PROBLEM, other, [], _settings())
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST901", 6), ("LST901", 6)]


def test_a_repair_of_two_edits_is_one_finding_with_both_edits() -> None:
    wrong, exact = _checked({"W": 0.5}), _checked({"W": 1e-9})
    first = {"line": 4, "column": 9, "end_line": 4, "end_column": 10, "kind": "factor"}
    second = {"line": 6, "column": 9, "end_line": 6, "end_column": 10, "kind": "transpose"}
    first["replacement"], second["replacement"] = "7", "8"
    repairs = [{"edit": second, "edits": [first, second], "before": wrong, "after": exact}]
    outcome = {"original": wrong, "repairs": repairs}
    repaired.place([outcome], TEXT, None)
    assert outcome["repairs"][0]["at"] == [first, second]
    lacking = _finding("LST203", 6, edits=False)  # two edits are no fix of one line's finding
    result = FileResult(path="m.py", diagnostics=[lacking])
    harness._judge(result, _doc(), extract.reduce_module(TEXT), PROBLEM, outcome, [], _settings())
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST203", 6), ("LST901", 6)]
    found = result.diagnostics[1]
    assert [(e.span.line, e.replacement) for e in found.edits] == [(4, "7"), (6, "8")]
    assert found.message == (
        "`1` -> `7` with `3` -> `8` make the gradients of W exact "
        "(a factor missing or extra in a product; a transpose in a product)"
    )
    assert (found.name, found.fix) == ("repaired-gradient", "write `8` and `7` at line 4")
    assert lacking.edits == []
    # made in a text whose line of either edit is not the user's own, neither is placed
    outcome["repair_base"] = "all_fixed"
    repaired.place([outcome], TEXT, TEXT.replace("    a = 1", "    a = 0"))
    assert outcome["repairs"][0]["at"] is None
    repaired.place([outcome], TEXT, TEXT.replace("    x = 1", "    x = 0"))
    assert outcome["repairs"][0]["at"] == [first, second]


def test_without_any_fix_the_error_as_written_is_unexplained() -> None:
    finding = _finding("LST205", 10, edits=False)  # another problem's finding
    outcome = {"original": _checked({"W": 0.5, "b": 1e-5, "c": 1e-9})}
    (unexplained,) = _judge(outcome, [finding])
    assert unexplained.confirmation is not None
    assert unexplained.confirmation["evidence"] == [
        {"param": "W", "error": 0.5, "fixed_error": None}
    ]
    assert finding.confirmation == REFERENCE


def test_no_unexplained_error_while_a_finding_without_a_fix_of_this_problem_stands() -> None:
    unfixable = _finding("LST205", 5, edits=False)
    outcome = {"original": _checked({"W": 0.5})}
    assert _judge(outcome, [unfixable]) == []
    assert unfixable.confirmation == REFERENCE


def _unexplained(
    remaining: list[tuple[str, float]],
    *,
    text: str = TEXT,
    problem: dict = PROBLEM,
    selection: Selection | None = None,
    before: list[Diagnostic] | None = None,
) -> FileResult:
    result = FileResult(path="m.py", diagnostics=list(before or []))
    reduced = extract.reduce_module(text)
    doc = _doc(text)
    settings = _settings(selection)
    harness._report_unexplained(result, doc, reduced, problem, remaining, "lists", settings)
    return result


def test_the_unexplained_finding_points_at_the_backward_s_name() -> None:
    earlier = _finding("LST101", 4)
    result = _unexplained([("Whh", 0.25)], before=[earlier])
    unexplained, after = result.diagnostics  # sorted by place
    assert after is earlier
    assert unexplained.span == Span(3, 5, 3, 12)
    assert (unexplained.path, unexplained.cell) == ("m.py", None)
    assert unexplained.severity is Severity.ERROR
    assert unexplained.fix == (
        "check each gradient of this backward against its forward (a missing transpose, "
        "a stale variable, a term left out); `lstmlint.gradcheck` shows the worst entries"
    )
    assert unexplained.message == (
        "`lossFun` computes wrong gradients that no rule explains: dWhh (2.5e-01) "
        "disagree with central differences of your own loss"
    )
    assert unexplained.confirmation == {
        "status": "confirmed",
        "method": "your-code",
        "reason": "inputs: lists",
        "evidence": [{"param": "Whh", "error": 0.25, "fixed_error": None}],
    }


def test_a_backward_method_and_a_name_on_another_line() -> None:
    text = (
        "class Model:\n"
        "    def forward(self, x):\n"
        "        return x\n"
        "    def backward(self, d):\n"
        "        return d\n"
        "def \\\n"
        "        lossFun(x):\n"
        "    return x\n"
    )
    problem = {**PROBLEM, "backward": "Model.backward"}
    (found,) = _unexplained([("W", 0.5)], text=text, problem=problem).diagnostics
    assert found.span == Span(4, 9, 4, 17)
    assert found.message.startswith("`Model.backward` computes wrong gradients")
    (found,) = _unexplained([("W", 0.5)], text=text).diagnostics
    assert found.span == Span(6, 1, 6, 8)  # not on the `def` line: its first column
    # the first occurrence on the line is the function's name
    twice = TEXT.replace("def lossFun(x, y, h):", "def lossFun(x, y, lossFun_h):")
    (found,) = _unexplained([("W", 0.5)], text=twice).diagnostics
    assert found.span == Span(3, 5, 3, 12)
    missing = {**PROBLEM, "backward": "gone"}
    assert _unexplained([("W", 0.5)], text=text, problem=missing).diagnostics == []
    gone = {**PROBLEM, "backward": "Model.gone"}
    assert _unexplained([("W", 0.5)], text=text, problem=gone).diagnostics == []


def test_the_message_names_four_gradients_and_counts_the_rest() -> None:
    four = [("a", 0.5), ("b", 0.4), ("c", 0.3), ("d", 0.2)]
    (found,) = _unexplained(four).diagnostics
    assert "da (5.0e-01), db (4.0e-01), dc (3.0e-01), dd (2.0e-01) disagree" in found.message
    (found,) = _unexplained([*four, ("e", 0.1)]).diagnostics
    assert "dd (2.0e-01) and 1 more disagree" in found.message
    (found,) = _unexplained([*four, ("e", 0.1), ("f", 0.05)]).diagnostics
    assert "dd (2.0e-01) and 2 more disagree" in found.message
    assert found.confirmation is not None
    assert [e["param"] for e in found.confirmation["evidence"]] == ["a", "b", "c", "d", "e", "f"]


def test_nothing_is_reported_with_nothing_left() -> None:
    assert _unexplained([]).diagnostics == []


@pytest.mark.parametrize(
    "selection",
    [
        Selection(ignore=("LST900",)),
        Selection(ignore=("unexplained-gradient-error",)),
        Selection(ignore=("LST205",)),  # "no rule explains it" needs every rule asked
        Selection(ignore=("wrong-tanh-derivative",)),
        Selection(ignore=("LST301",)),
        Selection(select=("LST9",)),
    ],
)
def test_lst900_only_when_it_and_every_gradient_rule_are_selected(selection: Selection) -> None:
    assert _unexplained([("W", 0.5)], selection=selection).diagnostics == []


@pytest.mark.parametrize(
    "selection",
    [
        Selection(select=("LST1", "LST2", "LST301", "LST900")),
        Selection(ignore=("LST302", "LST303")),  # not gradient rules
    ],
)
def test_lst900_with_every_gradient_rule_selected(selection: Selection) -> None:
    assert [d.code for d in _unexplained([("W", 0.5)], selection=selection).diagnostics] == [
        "LST900"
    ]


def test_a_noqa_on_the_backward_suppresses_lst900() -> None:
    for comment in ("# noqa: LST900", "# noqa"):
        text = TEXT.replace("def lossFun(x, y, h):", f"def lossFun(x, y, h):  {comment}")
        assert _unexplained([("W", 0.5)], text=text).diagnostics == []
    text = TEXT.replace("def lossFun(x, y, h):", "def lossFun(x, y, h):  # noqa: LST101")
    assert len(_unexplained([("W", 0.5)], text=text).diagnostics) == 1


# --- what the user is told, and the --harness-report record -------------------------------------


def _told(originals: list[dict], codes: tuple[str, ...] = ("LST101",)) -> list[str]:
    result = FileResult(path="m.py", diagnostics=[_finding(code, 4) for code in codes])
    harness._say_when_not_run(result, originals)
    return result.notes


def test_a_file_whose_gradients_were_not_checked_says_why() -> None:
    originals = [{}, {"status": "error"}, FAILED, {"status": "error", "reason": "second"}]
    assert _told(originals) == [
        "your code's own gradients were not checked (TypeError: no way to call it); "
        "[tool.lstmlint.harness] can name its pieces"
    ]
    assert _told([{"status": "error"}], ("LST301",)) == [
        "your code's own gradients were not checked (no input it accepts); "
        "[tool.lstmlint.harness] can name its pieces"
    ]


def test_no_note_when_some_problem_was_checked_or_no_finding_rests_on_gradients() -> None:
    assert _told([FAILED, _checked({"W": 0.5})]) == []
    assert _told([FAILED], ("LST302", "LST303")) == []
    assert _told([FAILED], ()) == []
    assert _told([_checked({"W": 0.5})], ()) == []


def test_a_long_reason_is_cut_to_120_characters() -> None:
    def reason_told(reason: str) -> str:
        (note,) = _told([{"status": "error", "reason": reason}])
        return note.removeprefix("your code's own gradients were not checked (").split(")")[0]

    assert reason_told("x" * 120) == "x" * 120
    assert reason_told("x" * 121) == "x" * 117 + "..."
    assert reason_told("y" * 200) == "y" * 117 + "..."


PAIR = {"kind": "pair", "forward": "fwd", "backward": "bwd", "lines": [[1, 2]]}
CLASS = {"kind": "class", "class": "Net", "backward": "Net.backward", "lines": [[3, 4]]}
LOSSFUN = {"kind": "lossfun", "function": "lossFun", "params": ["Wxh"], "lines": [[5, 6]]}


def _recorded(problems: list[dict], originals: list[dict]) -> dict | None:
    result = FileResult(path="m.py")
    harness._record_outcome(result, problems, originals)
    return result.harness


def test_the_report_lists_what_was_checked_and_each_parameter() -> None:
    originals = [
        _checked({"W": 0.5, "b": 1e-9}, how="lists"),
        FAILED,
        _checked({"V": 1e-5}, how="lists"),
    ]
    assert _recorded([PAIR, CLASS, LOSSFUN], originals) == {
        "status": "checked",
        "reason": None,
        "entry": "fwd(...) + bwd(...), lossFun(...)",
        "inputs": "lists",
        "parameters": [
            {"name": "W", "error": 0.5, "verdict": "FAIL"},
            {"name": "b", "error": 1e-9, "verdict": "PASS"},
            {"name": "V", "error": 1e-5, "verdict": "INCONCLUSIVE"},
        ],
        # the entry point that could not be called is named with its reason
        "not_checked": [
            {"entry": "Net(...).forward / .backward", "reason": "TypeError: no way to call it"}
        ],
    }
    originals = [_checked({}, how="lists"), _checked({}, how="arrays"), _checked({}, how="lists")]
    recorded = _recorded([PAIR, CLASS, LOSSFUN], originals)
    assert recorded is not None
    assert "not_checked" not in recorded  # every entry point was checked
    assert recorded["inputs"] == "lists; arrays"
    assert recorded["entry"] == "fwd(...) + bwd(...), Net(...).forward / .backward, lossFun(...)"


def test_an_entry_point_left_unchecked_beside_a_checked_one_gets_a_reason_even_without_one() -> (
    None
):
    recorded = _recorded([CLASS, PAIR], [{"status": "error"}, _checked({"W": 0.5})])
    assert recorded is not None
    assert recorded["status"] == "checked"
    assert recorded["entry"] == "fwd(...) + bwd(...)"
    assert recorded["not_checked"] == [
        {"entry": "Net(...).forward / .backward", "reason": "no input it accepts"}
    ]


def test_the_report_needs_one_outcome_per_problem() -> None:
    with pytest.raises(ValueError):
        _recorded([PAIR, CLASS], [_checked({"W": 0.5})])
    with pytest.raises(ValueError):
        _recorded([PAIR], [_checked({"W": 0.5}), FAILED])


def test_the_report_says_why_nothing_could_be_called() -> None:
    originals = [{}, {"status": "error"}, FAILED]
    assert _recorded([PAIR, CLASS, LOSSFUN], originals) == {
        "status": "not-callable",
        "reason": "TypeError: no way to call it",
        "entry": "fwd(...) + bwd(...), Net(...).forward / .backward, lossFun(...)",
    }
    assert _recorded([PAIR], [{"status": "error"}]) == {
        "status": "not-callable",
        "reason": "no input it accepts",
        "entry": "fwd(...) + bwd(...)",
    }


def test_an_internal_error_costs_the_file_s_check_and_says_so(monkeypatch) -> None:
    seen: list[tuple] = []

    def broken(result: FileResult, settings: object) -> None:
        seen.append((result, settings))
        raise KeyError("params")

    monkeypatch.setattr(harness, "_one_file", broken)
    result, settings = FileResult(path="m.py"), _settings()
    harness._guarded(result, settings)
    assert seen == [(result, settings)]
    assert result.notes == [
        "your code was not checked after an internal error (KeyError: 'params'); please report it"
    ]
    assert result.harness == {
        "status": "not-run",
        "reason": "an internal error (KeyError: 'params')",
    }


def test_a_check_that_went_well_is_left_as_it_recorded_itself(monkeypatch) -> None:
    def fine(result: FileResult, settings: object) -> None:
        harness._record(result, "checked", entry="lossFun(...)")

    monkeypatch.setattr(harness, "_one_file", fine)
    result = FileResult(path="m.py")
    harness._guarded(result, _settings())
    assert result.notes == []
    assert result.harness == {"status": "checked", "reason": None, "entry": "lossFun(...)"}


# --- what the notes and the report say ----------------------------------------------------------


def test_a_finding_is_inside_a_problem_from_its_first_line_to_its_last() -> None:
    doc, problem = _doc(), {**PROBLEM, "lines": [[3, 7], [9, 9]]}
    inside = [
        line for line in range(1, 11) if harness._inside(doc, _finding("LST101", line), problem)
    ]
    assert inside == [3, 4, 5, 6, 7, 9]


def test_the_reason_the_code_was_not_run_is_added_to_unconfirmed_gradient_findings_only() -> None:
    unconfirmed = {"status": "unconfirmed", "method": "reference", "reason": "no experiment"}
    waiting = _finding("LST101", 4, confirmation=unconfirmed)
    confirmed = _finding("LST102", 5)
    numeric = _finding("LST302", 6, confirmation=dict(unconfirmed))
    unjudged = _finding("LST205", 6, confirmation=None)
    result = FileResult(path="m.py", diagnostics=[waiting, confirmed, numeric, unjudged])
    harness._annotate(result, "it imports torch")
    assert waiting.confirmation["reason"] == "no experiment; it imports torch"
    assert confirmed.confirmation == REFERENCE
    assert numeric.confirmation["reason"] == "no experiment"
    assert unjudged.confirmation is None


def test_a_blank_the_code_needs_is_named_where_the_user_sees_it() -> None:
    text = "import numpy as np\nx = 1\nf = __lstmlint_blank__\n"
    shown = ["import numpy as np", "x = 1", "f = ", ""]
    plain = SourceDocument(path="m.py", text=text, display_lines=shown)
    assert harness._blank_needed(plain, text) == (
        "a statement left blank is needed to run it: `f =` (line 3)"
    )
    last = SourceDocument(path="m.py", text=text, display_lines=shown[:3])
    assert harness._blank_needed(last, text).endswith("`f =` (line 3)")
    # a document whose shown lines end before the analysed text shows no text, and no crash
    short = SourceDocument(path="m.py", text=text, display_lines=shown[:2])
    assert harness._blank_needed(short, text) == (
        "a statement left blank is needed to run it: `` (line 3)"
    )
    cells = [CellSpan(0, 1, 1), CellSpan(4, 2, 2)]
    notebook = SourceDocument(path="m.ipynb", text=text, display_lines=shown, cells=cells)
    assert harness._blank_needed(notebook, text) == (
        "a statement left blank is needed to run it: `f =` (cell 4, line 2)"
    )


def test_the_entry_is_written_as_the_user_would_call_it() -> None:
    assert harness._entry({"kind": "lossfun", "function": "lossFun", "params": ["Wxh"]}) == (
        "lossFun(...)"
    )
    pair = {"kind": "pair", "forward": "fwd", "backward": "bwd", "init": "init", "params": []}
    assert harness._entry(pair) == "fwd(...) + bwd(...) + init(...)"
    method = {"kind": "class", "class": "RNN", "method": "loss"}
    assert harness._entry(method) == "RNN(...).loss"
    layer = {"kind": "class", "class": "LSTM"}
    assert harness._entry(layer) == "LSTM(...).forward / .backward"
    named = {**layer, "forward_method": "fprop", "backward_method": "bprop"}
    assert harness._entry(named) == "LSTM(...).fprop / .bprop"


def test_every_input_description_says_which_stand_ins_ran() -> None:
    reduced = SimpleNamespace(stand_ins=["sigmoid", "softmax"], star_modules=["rnn_utils", "u"])
    answer = {
        "problems": [
            {
                "original": {"how": "one-hot rows"},
                "all_fixed": {"how": "one-hot rows"},
                "without": {"0": {"how": "index lists"}, "1": None},
            },
            {"original": {"status": "error"}},
        ]
    }
    harness._mention_stand_ins(answer, reduced, [])
    note = "; lstmlint's own `sigmoid`, `softmax` standing in for those of `rnn_utils`, `u`"
    first = answer["problems"][0]
    assert first["original"]["how"] == "one-hot rows" + note
    assert first["all_fixed"]["how"] == "one-hot rows" + note
    assert first["without"]["0"]["how"] == "index lists" + note
    assert answer["problems"][1]["original"] == {"status": "error"}
    untouched = {"problems": [{"original": {"how": "one-hot rows"}}]}
    harness._mention_stand_ins(untouched, SimpleNamespace(stand_ins=[], star_modules=["m"]), [])
    assert untouched["problems"][0]["original"]["how"] == "one-hot rows"
    unfit = {"problems": [{"original": {"how": "one step"}}]}
    reduced = SimpleNamespace(stand_ins=["Tanh"], star_modules=["a", "b"])
    harness._mention_stand_ins(unfit, reduced, ["a", "b"])
    assert unfit["problems"][0]["original"]["how"] == (
        "one step; lstmlint's own `Tanh` standing in for those of `a`, `b`"
        " (`a`'s, `b`'s own do not take the calls your code makes of them)"
    )


def test_the_child_writes_no_bytecode_and_uses_one_blas_thread(monkeypatch) -> None:
    # the child may write no byte (its file-size limit is 0): Python must not try to cache
    # bytecode, whatever the user's environment says; several children run at once
    for name in ("PYTHONDONTWRITEBYTECODE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "8")
    env = harness._child_env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert [env[f"{lib}_NUM_THREADS"] for lib in ("OPENBLAS", "OMP", "MKL")] == ["1", "1", "1"]

"""The promises a user cannot check for themselves, each with a test that fails when it goes.

- `confirmed` by the reference models means the flagged code failed a gradient check AND the
  suggested fix passed one (a probe: the flagged expression is not finite, the fix is);
- `--fix` applies only fixes that a gradient check verified, and never one that the user's own
  gradient check showed does not make the code exact;
- the pre-commit hook honours the project's exclusions for files pre-commit names explicitly.

The sandbox of the user's own code is in `test_sandbox.py`; docs/testing.md lists, for each test,
the one-line change to the source it catches.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml  # PyYAML comes with pre-commit, a test dependency: missing it must fail, not skip
from helpers import PROGRAM, run

from lstmlint.confirm import experiment
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.gradcheck import Verdict
from lstmlint.reporting import Context, fix_applicable

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SIGMOID = "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"


def _slot(expr: str, fix: str) -> dict:
    """An LST202-style experiment on the forget gate's derivative factor."""
    return {
        "kind": "slot",
        "model": "lstm",
        "slot": "dfactor_f",
        "expr": expr,
        "fix": fix,
        "bind": {},
        "leaves": {"f[t]": {"value": "f", "step": 0}},
        "file": {"path": None, "text": SIGMOID},
    }


def _probe(kind: str, expr: str, fix: str) -> dict:
    name = "p" if kind == "log-probe" else "v"
    return {
        "kind": kind,
        "expr": expr,
        "fix": fix,
        "leaves": {name: {"value": name}},
        "free": [],
        "file": {"path": None, "text": ""},
    }


# --- reference experiments ---------------------------------------------------------------------


def test_a_wrong_fix_does_not_confirm_a_reference_experiment() -> None:
    # the flagged factor is wrong, and so is the "fix" (the activation again): the finding may be
    # a bug, but nothing showed that its fix makes the gradients exact
    result = experiment.run(_slot("sigmoid(f[t])", "f[t]"))
    assert result["status"] == "unconfirmed"
    assert result["reason"] == "the suggested fix did not make the gradients exact"
    assert result["evidence"] and all(e["fixed_error"] > 1e-3 for e in result["evidence"])
    # the same flagged code with the right fix is confirmed: the experiment itself works
    assert experiment.run(_slot("sigmoid(f[t])", "f[t] * (1 - f[t])"))["status"] == "confirmed"


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "constant", "model": "lstm", "slot": "carry_c", "value": "zeros"},
        {"kind": "loss", "model": "rnn", "expr": "2 * np.sum(y * np.log(p))", "sign": -1.0,
         "leaves": {"p": {"value": "p"}, "y": {"value": "y"}},
         "file": {"path": None, "text": "import numpy as np\n"}},
    ],
    ids=["constant", "loss"],
)  # fmt: skip
def test_constant_and_loss_experiments_confirm_with_the_fixed_run_checked(spec: dict) -> None:
    result = experiment.run(spec)
    assert result["status"] == "confirmed", result
    assert result["evidence"] and all(
        e["error"] > 1e-3 and e["fixed_error"] is not None and e["fixed_error"] < 1e-7
        for e in result["evidence"]
    )


def _report(verdict: Verdict, errors: dict[str, tuple[float, Verdict]]) -> SimpleNamespace:
    # the two fields of a GradcheckReport that a verdict reads
    results = [SimpleNamespace(name=n, max_rel_error=e, verdict=v) for n, (e, v) in errors.items()]
    return SimpleNamespace(verdict=verdict, results=results)


FAILED = _report(Verdict.FAIL, {"W": (0.5, Verdict.FAIL), "b": (1e-9, Verdict.PASS)})
EXACT = _report(Verdict.PASS, {"W": (1e-9, Verdict.PASS), "b": (1e-10, Verdict.PASS)})
UNSURE = _report(Verdict.INCONCLUSIVE, {"W": (1e-5, Verdict.INCONCLUSIVE), "b": (0, Verdict.PASS)})


@pytest.mark.parametrize(
    ("before", "after", "status", "reason"),
    [
        (FAILED, EXACT, "confirmed", None),
        (FAILED, FAILED, "unconfirmed", "the suggested fix did not make the gradients exact"),
        (FAILED, UNSURE, "unconfirmed", "the suggested fix did not make the gradients exact"),
        (FAILED, None, "unconfirmed", "the suggested fix did not make the gradients exact"),
        (UNSURE, EXACT, "unconfirmed", "the gradient check was inconclusive"),
        (EXACT, None, "refuted", "in context this code gives exact gradients"),
        (EXACT, FAILED, "refuted", "in context this code gives exact gradients"),
    ],
)
def test_the_verdict_table_of_a_reference_experiment(before, after, status, reason) -> None:
    verdict = experiment._verdict(before, after)
    assert (verdict["status"], verdict["method"], verdict["reason"]) == (
        status,
        "reference",
        reason,
    )
    if status == "refuted":
        assert verdict["evidence"] == []
    else:  # the failing parameter, with its error after the fix where the fix was checked
        fixed = after.results[0].max_rel_error if after is not None else None
        assert verdict["evidence"][0] == {"param": "W", "error": before.results[0].max_rel_error,
                                          "fixed_error": fixed}  # fmt: skip


def test_evidence_names_the_worst_failing_parameters_with_their_fixed_errors() -> None:
    before = _report(
        Verdict.FAIL,
        {
            "a": (0.1, Verdict.FAIL),
            "b": (0.9, Verdict.FAIL),
            "c": (1e-9, Verdict.PASS),
            "d": (0.5, Verdict.FAIL),
            "e": (0.3, Verdict.FAIL),
        },
    )
    fixed = {"a": 1e-9, "b": 2e-9, "d": 4e-9, "e": 5e-9}
    after = _report(Verdict.PASS, {n: (e, Verdict.PASS) for n, e in fixed.items()})
    assert experiment._evidence(before, after) == [
        {"param": "b", "error": 0.9, "fixed_error": 2e-9},
        {"param": "d", "error": 0.5, "fixed_error": 4e-9},
        {"param": "e", "error": 0.3, "fixed_error": 5e-9},
    ]
    assert experiment._evidence(before, None)[0] == {
        "param": "b",
        "error": 0.9,
        "fixed_error": None,
    }
    # the worst three are taken before the exact ones are dropped: a third that passes is left out
    mixed = _report(Verdict.FAIL, {"a": (0.9, Verdict.FAIL), "c": (1e-3, Verdict.INCONCLUSIVE),
                                   "z": (1e-9, Verdict.PASS), "y": (1e-10, Verdict.PASS)})  # fmt: skip
    assert [e["param"] for e in experiment._evidence(mixed, None)] == ["a", "c"]


@pytest.mark.parametrize(
    ("kind", "expr", "fix", "status", "reason", "result", "fixed"),
    [
        ("log-probe", "np.log(p)", "np.log(p + 1e-12)", "confirmed", None, "inf", "finite"),
        # the "fix" takes the log of 0 as well: a probe must not confirm it
        ("log-probe", "np.log(p)", "np.log(p * 1.0)", "unconfirmed",
         "the suggested fix is not finite either", "inf", "not finite"),
        ("log-probe", "np.log(p + 1e-9)", "np.log(p + 1e-12)", "refuted",
         "finite on a probability of exactly 0", None, None),
        ("softmax-probe", "np.exp(v) / np.sum(np.exp(v))",
         "np.exp(v - np.max(v)) / np.sum(np.exp(v - np.max(v)))", "confirmed", None, "NaN", "finite"),
        ("softmax-probe", "np.exp(v) / np.sum(np.exp(v))", "np.exp(v) / np.sum(np.exp(v))",
         "unconfirmed", "the suggested fix is not finite either", "NaN", "not finite"),
        ("softmax-probe", "np.exp(v)", "np.exp(v - np.max(v))", "confirmed", None, "inf", "finite"),
        ("softmax-probe", "np.exp(v - np.max(v))", "np.exp(v - np.max(v))", "refuted",
         "finite on logits of 1000", None, None),
    ],
)  # fmt: skip
def test_a_probe_confirms_only_when_the_fix_is_finite(
    kind: str, expr: str, fix: str, status: str, reason, result, fixed
) -> None:
    found = experiment.run(_probe(kind, expr, fix))
    assert (found["status"], found["method"], found["reason"]) == (status, "probe", reason)
    if result is None:
        assert found["evidence"] == []
    else:
        probe = "a probability of exactly 0" if kind == "log-probe" else "logits of 1000"
        assert found["evidence"] == [{"probe": probe, "result": result, "fixed_result": fixed}]


def test_a_probe_binds_free_names_to_the_probe_value() -> None:
    spec = dict(_probe("log-probe", "np.log(q)", "np.log(q + 1e-12)"), leaves={}, free=["q"])
    assert experiment.run(spec)["status"] == "confirmed"


def test_an_unknown_experiment_is_refused() -> None:
    with pytest.raises(experiment.Unbound, match="unknown experiment 'nope'"):
        experiment.run({"kind": "nope"})


# --- the fix gate -------------------------------------------------------------------------------


def _diag(confirmation: dict | None, edits: bool = True) -> Diagnostic:
    diag = Diagnostic("m.py", "LST101", "prev-state-offset", "m", Span(1, 1, 1, 2), Severity.ERROR)
    diag.edits = [Edit(Span(1, 1, 1, 2), "x")] if edits else []
    diag.confirmation = confirmation
    return diag


@pytest.mark.parametrize(
    ("confirmation", "edits", "safe", "unsafe"),
    [
        ({"status": "confirmed"}, True, True, True),
        ({"status": "confirmed", "fix_verified": True}, True, True, True),
        # the user's own gradient check showed the fixes together do not make the code exact
        ({"status": "confirmed", "fix_verified": False}, True, False, True),
        ({"status": "unconfirmed"}, True, False, True),
        ({"status": "advice"}, True, False, True),
        (None, True, False, True),  # --no-confirm
        ({"status": "refuted"}, True, False, False),
        ({"status": "confirmed"}, False, False, False),  # nothing to apply
    ],
)
def test_the_fix_gate(confirmation, edits: bool, safe: bool, unsafe: bool) -> None:
    diag = _diag(confirmation, edits)
    assert fix_applicable(diag) is safe
    assert fix_applicable(diag, unsafe=True) is unsafe
    assert Context(unsafe_fixes=False).fixable(diag) is safe
    assert Context(unsafe_fixes=True).fixable(diag) is unsafe


def test_fix_leaves_alone_fixes_the_user_s_own_gradient_check_did_not_verify(
    tmp_path: Path, capsys
) -> None:
    # three findings with reference-verified fixes, and a bias gradient with a term too many
    # that no rule and no repair knows: with every fix applied the user's code is still not
    # exact, so no fix is verified
    text = (FIXTURES / "minchar" / "rnn_dict_buggy.py").read_text()
    assert "        dby += dy\n" in text
    path = tmp_path / "rnn.py"
    path.write_text(text.replace("        dby += dy\n", "        dby += dy + 1\n"))
    _, out, _ = run(capsys, "--format", "json", "--no-cache", str(path))
    found = {d["code"]: d["confirmation"] for d in json.loads(out)}
    assert set(found) == {"LST206", "LST102", "LST101", "LST900"}
    assert all(found[c]["fix_verified"] is False for c in ("LST206", "LST102", "LST101"))
    before = path.read_bytes()
    run(capsys, "--fix", "--no-cache", str(path))
    assert path.read_bytes() == before
    run(capsys, "--fix", "--unsafe-fixes", "--no-cache", str(path))
    assert path.read_bytes() != before  # the fixes were there to apply


def test_fix_applies_the_verified_fixes(tmp_path: Path, capsys) -> None:
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    run(capsys, "--fix", "--no-cache", str(path))
    fixed = path.read_text()
    assert "        C_prev = C[t]\n" in fixed and "np.exp(v - " in fixed


# --- the pre-commit hook ------------------------------------------------------------------------


def test_the_pre_commit_hook_honours_exclusions_of_files_named_explicitly(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    command, *flags = hook["entry"].split()
    assert command == "lstmlint"
    (tmp_path / "pyproject.toml").write_text('[tool.lstmlint]\nextend-exclude = ["generated"]\n')
    (tmp_path / "generated").mkdir()
    shutil.copy(FIXTURES / "minchar" / "rnn_dict_buggy.py", tmp_path / "generated" / "rnn.py")
    monkeypatch.chdir(tmp_path)
    # pre-commit names every staged file, excluded or not
    status, out, _ = run(capsys, *flags, "--no-confirm", "generated/rnn.py")
    assert status == 0 and "LST" not in out
    status, out, _ = run(capsys, "--no-confirm", "generated/rnn.py")  # the hook's flags matter
    assert status == 1 and "LST206" in out

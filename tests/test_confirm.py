"""Dynamic confirmation: findings are proved (or refuted) by the reference gradient check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstmlint.cli import main
from lstmlint.confirm import confirm, evidence_line
from lstmlint.confirm.experiment import run
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.engine import check_file
from lstmlint.selection import Selection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REVIEWED = FIXTURES / "reviewed"
HELPERS = "import numpy as np\n\ndef sigmoid(x, derivative=False):\n    s = 1 / (1 + np.exp(-x))\n    return s * (1 - s) if derivative else s\n"


def _slot(
    slot: str, expr: str, fix: str, leaves: dict, bind: dict | None = None, model: str = "lstm"
) -> dict:
    return {
        "kind": "slot",
        "model": model,
        "slot": slot,
        "expr": expr,
        "fix": fix,
        "bind": bind or {},
        "leaves": leaves,
        "file": {"path": None, "text": HELPERS},
    }


GATE_F = {"f[t]": {"value": "f", "step": 0}}
PREPENDED_C = {
    "C": {"history": "c", "convention": "prepended", "container": "list"},
    "t": {"index": 0},
}
ALIGNED_C = {"C": {"history": "c", "convention": "aligned", "container": "list"}, "t": {"index": 0}}


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        # LST202: the activation where its derivative belongs
        (_slot("dfactor_f", "sigmoid(f[t])", "f[t] * (1 - f[t])", GATE_F), "confirmed"),
        # LST204 both ways: the helper expects the pre-activation, so the stored output is wrong...
        (_slot("dfactor_f", "sigmoid(f[t], True)", "f[t] * (1 - f[t])", GATE_F), "confirmed"),
        # ... while the same derivative written on the output is exact
        (_slot("dfactor_f", "f[t] - f[t] ** 2", "f[t] * (1 - f[t])", GATE_F), "refuted"),
        # LST101: C[t - 1] with the initial state prepended is two steps back; C[t] is right
        (_slot("c_prev_df", "C[t - 1]", "C[t]", {}, PREPENDED_C), "confirmed"),
        (_slot("c_prev_df", "C[t]", "C[t]", {}, PREPENDED_C), "refuted"),
        # the same index is right when the history holds no initial state, except at t == 0
        (
            _slot(
                "c_prev_df",
                "C[t - 1]",
                "__previous__",
                {"__previous__": {"value": "c", "step": -1}},
                ALIGNED_C,
            ),
            "confirmed",
        ),
        # LST206 and LST203: a carry or a factor left out
        ({"kind": "constant", "model": "lstm", "slot": "carry_c", "value": "dc"}, "confirmed"),
        ({"kind": "constant", "model": "rnn", "slot": "dfactor_h", "value": "ones"}, "confirmed"),
        # ... but a factor that only the analysis's reading says is missing is never proved by
        # a replay that runs none of the user's code
        (
            {
                "kind": "constant",
                "model": "lstm",
                "slot": "dfactor_f",
                "value": "ones",
                "read_only": True,
            },
            "unconfirmed",
        ),
        # vanilla RNN, derivative at the previous step's h
        (
            _slot(
                "dfactor_h", "1 - h * h", "1 - h * h", {"h": {"value": "h", "step": 0}}, model="rnn"
            ),
            "refuted",
        ),
    ],
)
def test_experiments_in_both_directions(spec: dict, status: str) -> None:
    assert run(spec)["status"] == status


def test_a_read_only_replay_still_shows_what_the_missing_factor_costs() -> None:
    spec = {"kind": "constant", "model": "gru", "slot": "dfactor_n", "value": "ones"}
    result = run({**spec, "read_only": True})
    assert result["evidence"] and all(item["error"] > 1e-3 for item in result["evidence"])
    assert "rests on reading it alone" in result["reason"]
    assert run(spec)["status"] == "confirmed"


def test_confirmed_experiment_names_the_wrong_parameters() -> None:
    result = run(_slot("dfactor_f", "sigmoid(f[t])", "f[t] * (1 - f[t])", GATE_F))
    params = {item["param"] for item in result["evidence"]}
    assert params and params <= {"W_f", "b_f", "W_i", "b_i", "W_g", "b_g", "W_o", "b_o"}
    assert all(item["error"] > 1e-3 and item["fixed_error"] < 1e-7 for item in result["evidence"])


def test_probes() -> None:
    log = {
        "kind": "log-probe",
        "expr": "np.log(p)",
        "fix": "np.log(p + 1e-12)",
        "leaves": {"p": {"value": "p"}},
        "free": [],
        "file": {"path": None, "text": ""},
    }
    assert run(log)["status"] == "confirmed"
    log_safe = dict(log, expr="np.log(p + 1e-9)")
    assert run(log_safe)["status"] == "refuted"
    softmax = {
        "kind": "softmax-probe",
        "expr": "np.exp(v)",
        "fix": "np.exp(v - np.max(v))",
        "leaves": {"v": {"value": "logits"}},
        "free": [],
        "file": {"path": None, "text": ""},
    }
    assert run(softmax)["status"] == "confirmed"


def test_every_gradient_finding_of_the_reviewed_program_is_confirmed() -> None:
    for name in ("lstm_scratch.py", "lstm_scratch.ipynb"):
        result = check_file(REVIEWED / name, name, Selection())
        confirm(result.diagnostics)
        for diag in result.diagnostics:
            expected = "advice" if diag.code.startswith("LST4") else "confirmed"
            assert diag.confirmation["status"] == expected, (
                name,
                diag.code,
                diag.line,
                diag.confirmation,
            )
            if expected == "confirmed":
                assert evidence_line(diag.confirmation).startswith(
                    ("confirmed: ", "confirmed on your code: ")
                )


def test_a_broken_experiment_is_unconfirmed_not_fatal() -> None:
    diag = Diagnostic("x.py", "LST202", "n", "m", Span(1, 1, 1, 2), Severity.ERROR)
    diag.facts = {"experiment": _slot("dfactor_f", "undefined_name(f[t])", "f[t]", GATE_F)}
    other = Diagnostic("x.py", "LST101", "n", "m", Span(2, 1, 2, 2), Severity.ERROR)
    other.facts = {"experiment": _slot("c_prev_df", "C[t - 1]", "C[t]", {}, PREPENDED_C)}
    confirm([diag, other])
    assert diag.confirmation["status"] == "unconfirmed" and diag.confirmation["reason"]
    assert other.confirmation["status"] == "confirmed"


def test_cli_json_carries_confirmations_and_no_confirm_skips_them(capsys) -> None:
    path = str(REVIEWED / "lstm_scratch.py")
    main(["--format", "json", "--select", "LST2", path])
    records = json.loads(capsys.readouterr().out)
    assert records and all(r["confirmation"]["status"] == "confirmed" for r in records)
    assert all(
        {"status", "method", "reason", "evidence"} <= set(r["confirmation"]) for r in records
    )
    main(["--format", "json", "--select", "LST2", "--no-confirm", path])
    assert all(r["confirmation"] is None for r in json.loads(capsys.readouterr().out))


def _json_findings(capsys, path: Path, *args: str) -> list[dict]:
    main(
        [
            "--format",
            "json",
            "--no-cache",
            "--show-refuted",
            "--confirm=reference",
            *args,
            str(path),
        ]
    )
    return json.loads(capsys.readouterr().out)


GATE_LINES = """\
            i = gates[t, :, :H]
            f = gates[t, :, H:2 * H]
            o = gates[t, :, 2 * H:3 * H]
            g = gates[t, :, 3 * H:]
"""


@pytest.mark.parametrize(
    "unpacking",
    [
        "            i, f, o, g = (gates[t, :, k * H:(k + 1) * H] for k in range(4))\n",
        "            i, f, o, g = np.split(gates[t], 4, axis=1)\n",
    ],
)
def test_a_carry_whose_gate_the_analysis_cannot_read_is_never_confirmed(
    tmp_path: Path, capsys, unpacking: str
) -> None:
    # the replay would bind `f` by the analysis's own (mis)reading and so prove the misreading
    text = (FIXTURES / "stacked" / "lstm_class_gates_array.py").read_text()
    assert GATE_LINES in text
    path = tmp_path / "unpacked.py"
    forward, _, backward = text.rpartition(GATE_LINES)  # the backward's unpacking only
    path.write_text(forward + unpacking + backward)
    found = _json_findings(capsys, path)
    assert not [d for d in found if (d["confirmation"] or {}).get("status") == "confirmed"]


def test_a_carry_without_the_forget_gate_is_replayed_as_written(tmp_path: Path, capsys) -> None:
    # `dc * is_[t]` names a known gate: the replay evaluates that very expression
    correct = FIXTURES / "minchar" / "lstm_dict_correct.py"
    text = correct.read_text()
    assert "        dc_next = dc * fs[t]\n" in text
    path = tmp_path / "input_gate_carry.py"
    path.write_text(
        text.replace("        dc_next = dc * fs[t]\n", "        dc_next = dc * is_[t]\n")
    )
    (finding,) = _json_findings(capsys, path)
    assert finding["code"] == "LST206"
    assert finding["confirmation"]["status"] == "confirmed"
    assert finding["confirmation"]["evidence"]


def test_the_carry_replay_evaluates_the_user_expression() -> None:
    spec = {
        "kind": "slot",
        "model": "lstm",
        "slot": "carry_c",
        "fix": None,
        "bind": {"dc": {"gradient": "dc"}, "fs": {"history": "f", "convention": "from_minus_1"}},
        "leaves": {},
        "file": {"path": None, "text": HELPERS},
    }
    bind_t = {"t": {"index": 0}}
    right = run({**spec, "expr": "dc * fs[t]", "bind": {**spec["bind"], **bind_t}})
    wrong = run({**spec, "expr": "dc * fs[t - 1]", "bind": {**spec["bind"], **bind_t}})
    assert right["status"] == "refuted"
    assert wrong["status"] == "confirmed"


def test_every_review_bug_in_the_exercise_template_is_confirmed(capsys) -> None:
    # the forward's blanks hide what f_s, i_s, C_s and o_s hold; their uses still tell
    found = _json_findings(capsys, REVIEWED / "lstm_template.ipynb")
    gradient = [d for d in found if d["code"].startswith(("LST1", "LST2", "LST301"))]
    assert len(gradient) == 12
    assert {d["confirmation"]["status"] for d in gradient} == {"confirmed"}


def test_findings_sharing_an_experiment_get_confirmations_of_their_own() -> None:
    spec = {"kind": "constant", "model": "rnn", "slot": "dfactor_h", "value": "ones"}
    first, second = (
        Diagnostic("a.py", "LST203", "x", "m", Span(line, 1, line, 2), Severity.ERROR)
        for line in (3, 4)
    )
    for diag in (first, second):
        diag.facts = {"experiment": dict(spec)}
    assert confirm([first, second])
    assert first.confirmation == second.confirmation
    first.confirmation["reason"] = "changed later for this finding alone"
    first.confirmation["evidence"].clear()
    assert second.confirmation["reason"] is None and second.confirmation["evidence"]


def test_a_cell_gradient_carried_alone_is_never_confirmed_by_the_reference(
    tmp_path: Path, capsys
) -> None:
    # that `dc_next` holds only the carried-in part is read from the parameter's name: the
    # reference may show what that costs, but no code of the file took part in it
    text = (FIXTURES / "minchar" / "lstm_dict_correct.py").read_text()
    assert "        dc_next = dc * fs[t]\n" in text
    path = tmp_path / "carried_alone.py"
    path.write_text(
        text.replace("        dc_next = dc * fs[t]\n", "        dc_next = dc_next * fs[t]\n")
    )
    (finding,) = _json_findings(capsys, path)
    assert finding["code"] == "LST206" and "hidden state" in finding["message"]
    assert finding["confirmation"]["status"] == "unconfirmed"
    assert "shows what this mistake costs" in finding["confirmation"]["reason"]


def test_an_untransposed_weight_is_never_confirmed_by_the_reference(tmp_path: Path, capsys) -> None:
    # the reference shows what an untransposed recurrent weight costs, but which product of the
    # file is the recurrent one is the analysis's reading, so only the user's own check confirms
    text = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    path = tmp_path / "untransposed.py"
    assert text.count("np.dot(Whh.T, dhraw)") == 1
    path.write_text(text.replace("np.dot(Whh.T, dhraw)", "np.dot(Whh, dhraw)"))
    (finding,) = _json_findings(capsys, path)
    assert finding["code"] == "LST209" and "`Whh.T`" in finding["message"]
    assert finding["confirmation"]["status"] == "unconfirmed"
    assert "shows what this mistake costs" in finding["confirmation"]["reason"]
    assert finding["confirmation"]["evidence"]

"""How a reference experiment binds the user's names, in every convention a finding can carry.

A `confirmed` verdict is only as good as the replay behind it: each name of the flagged
expression must be bound to the value the user's code would hold there. Each case below is
written twice where it can be, once right (refuted: exact gradients) and once wrong (confirmed),
so a binding that goes wrong shows up as a verdict that flips or an experiment that breaks.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lstmlint.analysis.interp import Unknown
from lstmlint.confirm import experiment
from lstmlint.reference.common import SlotError

SIGMOID = "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"


def _slot(slot: str, expr: str, fix: str, bind: dict, leaves: dict | None = None, **extra) -> dict:
    spec = {
        "kind": "slot",
        "model": "lstm",
        "slot": slot,
        "expr": expr,
        "fix": fix,
        "bind": bind,
        "leaves": leaves or {},
        "file": {"path": None, "text": SIGMOID},
    }
    return {**spec, **extra}


def _history(role: str, convention: str, container: str = "list") -> dict:
    return {"history": role, "convention": convention, "container": container}


T = {"t": {"index": 0}}


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        # the initial state under key -1, steps from 0: C[t - 1] is the previous state...
        (_slot("c_prev_df", "C[t - 1]", "C[t - 1]", {"C": _history("c", "from_minus_1"), **T}),
         "refuted"),
        # ... and C[t - 2] reads a step too far back (a missing key reads as zeros)
        (_slot("c_prev_df", "C[t - 2]", "C[t - 1]", {"C": _history("c", "from_minus_1"), **T}),
         "confirmed"),
        # a history stacked into one array
        (_slot("c_prev_df", "C[t]", "C[t]", {"C": _history("c", "prepended", "array"), **T}),
         "refuted"),
        # an index bound one step back: s = t - 1
        (_slot("c_prev_df", "C[s + 1]", "C[s + 1]", {"C": _history("c", "prepended"),
         "s": {"index": 1}}), "refuted"),
        (_slot("c_prev_df", "C[s]", "C[s + 1]", {"C": _history("c", "prepended"),
         "s": {"index": 1}}), "confirmed"),
        # a name bound to one value: the previous cell state
        (_slot("c_prev_df", "prev", "prev", {"prev": {"value": "c", "step": -1}}), "refuted"),
        (_slot("c_prev_df", "cur", "prev", {"cur": {"value": "c", "step": 0},
         "prev": {"value": "c", "step": -1}}), "confirmed"),
        # the derivative from a stored pre-activation, and the same helper given the output
        (_slot("dfactor_f", "sigmoid(a) * (1 - sigmoid(a))", "f[t] * (1 - f[t])", {},
         {"a": {"value": "a_f", "step": 0}, "f[t]": {"value": "f", "step": 0}}), "refuted"),
        (_slot("dfactor_f", "sigmoid(f[t]) * (1 - sigmoid(f[t]))", "f[t] * (1 - f[t])", {},
         {"f[t]": {"value": "f", "step": 0}}), "confirmed"),
        # the GRU: its update gate's history, and its hidden states
        (_slot("dfactor_z", "Z[t] * (1 - Z[t])", "Z[t] * (1 - Z[t])",
         {"Z": _history("z", "aligned"), **T}, model="gru"), "refuted"),
        (_slot("h_prev_dz", "H[t]", "H[t]", {"H": _history("h", "prepended"), **T}, model="gru"),
         "refuted"),
        (_slot("h_prev_dz", "H[t + 1]", "H[t]", {"H": _history("h", "prepended"), **T},
         model="gru"), "confirmed"),
    ],
)  # fmt: skip
def test_each_binding_replays_the_user_s_value(spec: dict, status: str) -> None:
    assert experiment.run(spec)["status"] == status


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_slot("h_prev_dz", "C[t]", "C[t]", {"C": _history("c", "aligned"), **T}, model="gru"),
         "the reference GRU has no 'c' history"),
        (_slot("dfactor_f", "f", "f", {"f": {"value": "f", "step": -1}}),
         "no initial value for 'f'"),
        (_slot("dfactor_f", "F[0]", "F[0]", {"F": _history("f", "prepended"), **T}),
         "no initial value for 'f'"),
        (_slot("dfactor_z", "a", "a", {}, {"a": {"value": "a_q", "step": 0}}, model="gru"),
         "the reference GRU has no 'a_q'"),
    ],
)  # fmt: skip
def test_a_value_the_reference_does_not_have_is_named(spec: dict, message: str) -> None:
    # raised inside the reference backward, which names the slot and keeps the reason
    with pytest.raises(SlotError, match=f"the hook raised Unbound: {message}"):
        experiment.run(spec)


def test_an_unknown_name_in_an_expression_is_named() -> None:
    context = experiment._context({"file": {"path": None, "text": ""}})
    with pytest.raises(Unknown, match="no value for `mystery`"):
        experiment.evaluate(context, "mystery + 1", {}, {})
    assert experiment.evaluate(context, "x + 1", {}, {"x": 2.0}) == 3.0


def test_a_spec_without_file_text_is_an_empty_module() -> None:
    spec = _slot("c_prev_df", "prev", "prev", {"prev": {"value": "c", "step": -1}})
    assert experiment.run({**spec, "file": {"path": None}})["status"] == "refuted"


def test_helpers_imported_from_a_sibling_module_are_found(tmp_path: Path) -> None:
    (tmp_path / "acts.py").write_text(SIGMOID)
    text = "from acts import sigmoid\n"
    (tmp_path / "model.py").write_text(text)
    spec = _slot("dfactor_f", "sigmoid(f[t])", "f[t] * (1 - f[t])", {},
                 {"f[t]": {"value": "f", "step": 0}})  # fmt: skip
    spec["file"] = {"path": str(tmp_path / "model.py"), "text": text}
    assert experiment.run(spec)["status"] == "confirmed"


def test_each_constant_stands_for_what_it_says() -> None:
    view = SimpleNamespace(dc=np.full((3, 1), 2.0), h=np.full((4, 2), 5.0))
    assert experiment._constant_hook("carry_c", "dc")(view) is view.dc
    zeros = experiment._constant_hook("carry_c", "zeros")(view)
    assert zeros.shape == (3, 1) and not zeros.any()
    ones = experiment._constant_hook("dfactor_h", "ones")(view)
    assert ones.shape == (4, 2) and (ones == 1).all()
    assert not experiment._constant_hook("dfactor_h", "zeros")(view).any()
    assert (experiment._constant_hook("carry_c", "ones")(view) == 1).all()
    view.dc_next, view.f = np.full((3, 1), 3.0), np.full((3, 1), 0.5)
    carried = experiment._constant_hook("carry_c", "carried")(view)
    assert (carried == 1.5).all()  # the carried-in gradient alone, through the forget gate


def test_the_carried_in_cell_gradient_alone_costs_but_never_confirms() -> None:
    spec = {"kind": "constant", "model": "lstm", "slot": "carry_c", "value": "carried"}
    shown = experiment.run(spec)
    assert shown["status"] == "confirmed" and shown["evidence"]  # the reference's gradients suffer
    read = experiment.run({**spec, "read_only": True})
    assert read["status"] == "unconfirmed" and "shows what this mistake costs" in read["reason"]
    assert read["evidence"] == shown["evidence"]


def test_an_untransposed_recurrent_weight_is_replayed_with_the_weight_as_the_forward_has_it() -> (
    None
):
    # the vanilla RNN's default carry is W_hh.T @ dhraw: the replay must differ from it
    view = SimpleNamespace(f=None, r=None, dpre={"h": np.array([[1.0], [0.0]])})
    view.weights = {"W_hh": np.array([[1.0, 2.0], [3.0, 4.0]])}
    assert experiment._untransposed(view).ravel().tolist() == [1.0, 3.0]  # W @ d, not W.T @ d
    for model in ("rnn", "lstm"):
        spec = {"kind": "constant", "model": model, "slot": "carry_h", "value": "untransposed"}
        assert experiment.run(spec)["status"] == "confirmed"
        read = experiment.run({**spec, "read_only": True})
        assert read["status"] == "unconfirmed" and read["evidence"]


def test_an_untransposed_weight_of_the_gru_is_not_replayed_and_says_why() -> None:
    # the finding keeps this reason as why it is unconfirmed
    spec = {"kind": "constant", "model": "gru", "slot": "carry_h", "value": "untransposed"}
    with pytest.raises(
        SlotError, match=r"the reference GRU's recurrent products are not replayed untransposed$"
    ):
        experiment.run(spec)


def test_constant_experiments_replay_their_own_constant() -> None:
    def evidence(value: str) -> list[float]:
        spec = {"kind": "constant", "model": "lstm", "slot": "carry_c", "value": value}
        found = experiment.run(spec)
        assert found["status"] == "confirmed"
        return [e["error"] for e in found["evidence"]]

    assert evidence("zeros") != evidence("dc")


def test_a_loss_term_with_its_sign_is_replayed() -> None:
    spec = {
        "kind": "loss",
        "model": "rnn",
        "expr": "np.sum(y * np.log(p))",
        "sign": -1.0,
        "leaves": {"p": {"value": "p"}, "y": {"value": "y"}},
        "file": {"path": None, "text": "import numpy as np\n"},
    }
    assert experiment.run(spec)["status"] == "refuted"  # the reference's own cross-entropy
    assert experiment.run(dict(spec, sign=1.0))["status"] == "confirmed"  # its negative
    unsigned = {k: v for k, v in spec.items() if k != "sign"}
    assert experiment.run(dict(unsigned, expr="-np.sum(y * np.log(p))"))["status"] == "refuted"


def test_experiments_on_overflowing_code_stay_quiet() -> None:
    # the user's expression may overflow or take log(0): that is the evidence, not a warning
    probe = {
        "kind": "log-probe",
        "expr": "np.log(p)",
        "fix": "np.log(p + 1e-12)",
        "leaves": {"p": {"value": "p"}},
        "free": [],
        "file": {"path": None, "text": ""},
    }
    slot = _slot("dfactor_f", "f[t] * (1 - f[t]) * np.exp(800) * 0", "f[t] * (1 - f[t])", {},
                 {"f[t]": {"value": "f", "step": 0}})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert experiment.run(probe)["status"] == "confirmed"
        assert experiment.run(slot)["status"] == "confirmed"


@pytest.mark.parametrize(
    ("model", "slot", "name", "role"),
    [("lstm", "c_prev_df", "C", "c"), ("rnn", "h_prev_whh", "H", "h")],
)
def test_zeros_where_the_initial_state_belongs_are_wrong(
    model: str, slot: str, name: str, role: str
) -> None:
    # the reference starts from non-zero states, so reading zeros at t == 0 shows
    spec = _slot(slot, f"{name}[t - 1] * (t > 0)", f"{name}[t - 1]",
                 {name: _history(role, "from_minus_1"), **T}, model=model)  # fmt: skip
    assert experiment.run(spec)["status"] == "confirmed"


def test_a_missing_value_bound_directly_is_named() -> None:
    for spec in (
        _slot("h_prev_dz", "cur", "cur", {"cur": {"value": "c", "step": 0}}, model="gru"),
        _slot("h_prev_dz", "cur", "cur", {}, {"cur": {"value": "c", "step": 0}}, model="gru"),
    ):
        with pytest.raises(SlotError, match="the reference GRU has no 'c' history"):
            experiment.run(spec)


def test_specs_may_leave_out_empty_bindings() -> None:
    bare = {"kind": "slot", "model": "lstm", "slot": "dfactor_f", "expr": "0.25", "fix": "0.25"}
    found = experiment.run({**bare, "file": {"path": None, "text": ""}})
    assert found["reason"] == "the suggested fix did not make the gradients exact"
    probe = {
        "kind": "log-probe",
        "expr": "np.log(p)",
        "fix": "np.log(p + 1e-12)",
        "leaves": {"p": {"value": "p"}},
        "file": {"path": None, "text": ""},
    }
    assert experiment.run(probe)["status"] == "confirmed"


def test_a_carried_gradient_bound_by_name_and_a_fix_the_reference_computes() -> None:
    carried = {"g": {"gradient": "dc"}}
    forget = {"ft": {"value": "f", "step": 0}}
    # the carried cell gradient times the forget gate is what the reference carries
    assert experiment.run(_slot("carry_c", "g * ft", "g * ft", carried, forget))["status"] == (
        "refuted"
    )
    # without the gate it is wrong; with no fix given, the fixed run is the reference itself
    found = experiment.run(_slot("carry_c", "g", None, carried))
    assert found["status"] == "confirmed"
    assert all(e["fixed_error"] < 1e-7 for e in found["evidence"])

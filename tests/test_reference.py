"""The reference models' backward is exact, and a classic bug replayed through a slot is caught.

Exactness is checked two ways: against central differences of ``loss`` (lstmlint.gradcheck) and
against an autograd oracle written here from the equations alone, independently of the models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lstmlint.gradcheck import Verdict, gradcheck, relative_error
from lstmlint.reference import MODELS, SlotError, StepView, sigmoid

# (model, seed, vocab, hidden, T)
CASES = [
    (model, seed, vocab, hidden, steps)
    for model in ("lstm", "gru", "rnn")
    for seed, vocab, hidden, steps in ((0, 4, 3, 4), (1, 5, 4, 6), (2, 5, 3, 5))
]
READOUT = ("W_y", "b_y")


def _problem(model: str, seed: int, vocab: int, hidden: int, steps: int):
    """Parameters, a token sequence and non-zero initial states, all from one seed."""
    rng = np.random.default_rng(1000 + seed)
    params = MODELS[model].init_params(vocab, hidden, seed)
    inputs = [int(k) for k in rng.integers(0, vocab, steps)]
    targets = [int(k) for k in rng.integers(0, vocab, steps)]
    h0 = rng.standard_normal((hidden, 1)) * 0.5
    c0 = rng.standard_normal((hidden, 1)) * 0.5 if model == "lstm" else None
    return params, inputs, targets, h0, c0


def _check(model: str, case: tuple, hooks: dict | None = None):
    module = MODELS[model]
    params, inputs, targets, h0, c0 = _problem(model, *case)
    return gradcheck(
        lambda p: module.loss(p, inputs, targets, h0, c0),
        lambda p: module.backward(p, module.forward(p, inputs, h0, c0), targets, hooks),
        params,
    )


# ---------------------------------------------------------------- autograd oracle (independent)


def _oracle(model: str) -> Callable:
    """The forward and summed cross-entropy of each model, written functionally for autograd."""
    anp = pytest.importorskip("autograd.numpy")

    def sig(a):
        return 1.0 / (1.0 + anp.exp(-a))

    def step_loss(params, h, target):
        logits = anp.dot(params["W_y"], h) + params["b_y"]
        shifted = logits - anp.max(logits)
        return anp.log(anp.sum(anp.exp(shifted))) - shifted[target, 0]

    def run(params, inputs, targets, h0, c0):
        vocab = params["W_y"].shape[0]
        eye = anp.eye(vocab)
        h, c, total = h0, c0, 0.0
        for token, target in zip(inputs, targets, strict=True):
            x = eye[:, token : token + 1]
            if model == "lstm":
                z = anp.concatenate([h, x], axis=0)

                def gate(name, act, z=z):
                    return act(anp.dot(params["W_" + name], z) + params["b_" + name])

                f, i, g, o = gate("f", sig), gate("i", sig), gate("g", anp.tanh), gate("o", sig)
                c = f * c + i * g
                h = o * anp.tanh(c)
            elif model == "gru":

                def pre(name, x=x, h=h):
                    return anp.dot(params["W_" + name], x) + params["b_" + name]

                u = sig(pre("z") + anp.dot(params["U_z"], h))
                r = sig(pre("r") + anp.dot(params["U_r"], h))
                n = anp.tanh(pre("n") + r * anp.dot(params["U_n"], h))
                h = (1.0 - u) * n + u * h
            else:
                h = anp.tanh(
                    anp.dot(params["W_xh"], x) + anp.dot(params["W_hh"], h) + params["b_h"]
                )
            total = total + step_loss(params, h, target)
        return total

    return run


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_backward_matches_autograd_oracle(case: tuple) -> None:
    from autograd import grad

    model, *sizes = case
    module = MODELS[model]
    params, inputs, targets, h0, c0 = _problem(model, *sizes)
    oracle = _oracle(model)
    c0_oracle = c0 if c0 is not None else np.zeros_like(h0)

    expected_loss = oracle(params, inputs, targets, h0, c0_oracle)
    assert module.loss(params, inputs, targets, h0, c0) == pytest.approx(expected_loss, rel=1e-13)

    expected = grad(oracle)(params, inputs, targets, h0, c0_oracle)
    actual = module.backward(params, module.forward(params, inputs, h0, c0), targets)
    assert actual.keys() == params.keys()
    for name in params:
        assert actual[name].shape == params[name].shape
        error = float(np.max(relative_error(actual[name], expected[name])))
        assert error < 1e-7, f"{model} {name}: {error:.2e}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_backward_matches_central_differences(case: tuple) -> None:
    model, *sizes = case
    report = _check(model, tuple(sizes))
    assert report.verdict is Verdict.PASS, str(report)
    assert all(r.max_rel_error < 1e-7 for r in report.results), str(report)


# ---------------------------------------------------------------- classic bugs through slots

BUGS = [
    # off-by-one: the seed's C[t - 1] with the initial state prepended is c_{t-2}
    ("lstm", "c_prev_df", lambda v: v.cs[v.t - 2], {"W_f", "b_f"}),
    ("lstm", "c_prev_df", lambda v: v.c, {"W_f", "b_f"}),
    # the activation instead of its derivative
    ("lstm", "dfactor_f", lambda v: sigmoid(v.f), {"W_f", "b_f"}),
    # tanh' of a stored tanh output, applied as if it were the pre-activation
    ("lstm", "dfactor_g", lambda v: 1.0 - np.tanh(v.g) ** 2, {"W_g", "b_g"}),
    ("lstm", "cellpath_factor", lambda v: 1.0 - np.tanh(np.tanh(v.c)) ** 2, {"W_g", "W_i", "W_f"}),
    # the cell gradient handed back without the forget gate
    ("lstm", "carry_c", lambda v: v.dc, {"W_f", "W_i", "W_g", "b_f", "b_i", "b_g"}),
    # truncated BPTT: nothing carried back
    ("lstm", "carry_h", lambda v: 0.0, {"W_f", "W_i", "W_g", "W_o"}),
    ("gru", "h_prev_dz", lambda v: v.h, {"W_z", "U_z", "b_z"}),
    ("gru", "dfactor_r", lambda v: sigmoid(v.r), {"W_r", "U_r", "b_r"}),
    ("rnn", "h_prev_whh", lambda v: v.h, {"W_hh"}),
    ("rnn", "dfactor_h", lambda v: 1.0 - v.a_h**2, {"W_xh", "W_hh", "b_h"}),
]


@pytest.mark.parametrize(
    ("model", "slot", "hook", "must_fail"),
    BUGS,
    ids=[f"{b[0]}-{b[1]}-{i}" for i, b in enumerate(BUGS)],
)
def test_classic_bug_fails_gradcheck_upstream_only(
    model: str, slot: str, hook: Callable, must_fail: set[str]
) -> None:
    report = _check(model, (1, 5, 4, 6), {slot: hook})
    assert report.verdict is Verdict.FAIL
    assert must_fail <= set(report.failed), str(report)
    for name in READOUT:
        assert report[name].verdict is Verdict.PASS, str(report)


def test_rnn_whh_bug_leaves_the_other_recurrent_parameters_exact() -> None:
    report = _check("rnn", (2, 5, 3, 5), {"h_prev_whh": lambda v: v.h})
    assert report.failed == ["W_hh"], str(report)


# ---------------------------------------------------------------- slots and views


def _correct_hooks(model: str, params: dict, calls: dict[str, int]) -> dict:
    """Each slot's correct value recomputed from the view alone, counting the calls."""
    P = params
    if model == "lstm":
        formulas = {
            "overwrite": lambda v: np.zeros(1),
            "dy": lambda v: v.p - v.y,
            "h_readout": lambda v: v.hs[v.t],
            "c_in_do": lambda v: v.cs[v.t],
            "c_in_cellpath": lambda v: v.c,
            "cellpath_factor": lambda v: 1.0 - np.tanh(v.c) ** 2,
            "c_prev_df": lambda v: v.cs[v.t - 1] if v.t > 0 else v.c0,
            "dfactor_f": lambda v: sigmoid(v.a_f) * (1.0 - sigmoid(v.a_f)),
            "dfactor_i": lambda v: v.is_[v.t] * (1.0 - v.is_[v.t]),
            "dfactor_g": lambda v: 1.0 - np.tanh(v.a_g) ** 2,
            "dfactor_o": lambda v: v.os_[v.t] * (1.0 - v.o),
            "carry_h": lambda v: v.dconcat[: v.h.shape[0]],
            "carry_c": lambda v: v.dc * v.fs[v.t],
        }
    elif model == "gru":
        formulas = {
            "overwrite": lambda v: np.zeros(1),
            "dy": lambda v: v.ps[v.t] - v.y,
            "h_readout": lambda v: v.h,
            "h_prev_dz": lambda v: v.hs[v.t - 1] if v.t > 0 else v.h0,
            "dfactor_n": lambda v: 1.0 - np.tanh(v.a_n) ** 2,
            "dfactor_z": lambda v: v.zs[v.t] * (1.0 - v.z),
            "dfactor_r": lambda v: sigmoid(v.a_r) * (1.0 - v.r),
            "carry_h": lambda v: (
                v.dh * v.z
                + P["U_z"].T @ v.dpre["z"]
                + P["U_r"].T @ v.dpre["r"]
                + P["U_n"].T @ (v.dpre["n"] * v.r)
            ),
        }
    else:
        formulas = {
            "overwrite": lambda v: np.zeros(1),
            "dy": lambda v: v.p - v.y,
            "h_readout": lambda v: v.h,
            "dfactor_h": lambda v: 1.0 - np.tanh(v.a_h) ** 2,
            "h_prev_whh": lambda v: v.h_prev,
            "carry_h": lambda v: P["W_hh"].T @ v.dpre["h"],
        }

    def counted(name: str, formula: Callable[[StepView], np.ndarray]) -> Callable:
        def hook(view: StepView) -> np.ndarray:
            calls[name] = calls.get(name, 0) + 1
            return formula(view)

        return hook

    return {name: counted(name, formula) for name, formula in formulas.items()}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_slot_is_consulted_once_per_step_and_the_view_is_right(model: str) -> None:
    module = MODELS[model]
    params, inputs, targets, h0, c0 = _problem(model, 2, 5, 3, 5)
    cache = module.forward(params, inputs, h0, c0)
    calls: dict[str, int] = {}
    hooks = _correct_hooks(model, params, calls)
    assert hooks.keys() == module.SLOTS.keys()
    hooked = module.backward(params, cache, targets, hooks)
    plain = module.backward(params, cache, targets)
    assert calls == dict.fromkeys(module.SLOTS, len(inputs))
    for name in params:
        np.testing.assert_allclose(hooked[name], plain[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bad_hooks_raise_slot_errors(model: str) -> None:
    module = MODELS[model]
    params, inputs, targets, h0, c0 = _problem(model, 0, 4, 3, 4)
    cache = module.forward(params, inputs, h0, c0)
    with pytest.raises(ValueError, match="does not broadcast"):
        module.backward(params, cache, targets, {"carry_h": lambda v: np.ones((7, 1))})
    with pytest.raises(SlotError, match="unknown slot"):
        module.backward(params, cache, targets, {"no_such_slot": lambda v: 0.0})
    with pytest.raises(SlotError, match="IndexError"):
        module.backward(params, cache, targets, {"h_readout": lambda v: v.hs[v.t + 1]})


def test_hook_values_broadcast_only_to_the_slot_shape() -> None:
    module = MODELS["lstm"]
    params, inputs, targets, h0, c0 = _problem("lstm", 0, 4, 3, 4)
    cache = module.forward(params, inputs, h0, c0)
    scalar = module.backward(params, cache, targets, {"carry_c": lambda v: 0.0})
    cell = module.backward(params, cache, targets, {"carry_c": lambda v: np.zeros((1, 1))})
    for name in params:
        np.testing.assert_array_equal(scalar[name], cell[name])
    # a (1, H) row would silently turn an (H, 1) gradient into (H, H): refused
    with pytest.raises(SlotError, match=r"shape \(1, 3\)"):
        module.backward(params, cache, targets, {"carry_c": lambda v: (v.dc * v.f).T})


# ---------------------------------------------------------------- conventions


@pytest.mark.parametrize("model", sorted(MODELS))
def test_init_is_seeded_float64_and_shaped_by_the_conventions(model: str) -> None:
    module = MODELS[model]
    first = module.init_params(5, 4, seed=3)
    again = module.init_params(5, 4, seed=3)
    other = module.init_params(5, 4, seed=4)
    for name, value in first.items():
        assert value.dtype == np.float64
        np.testing.assert_array_equal(value, again[name])
        assert not np.array_equal(value, other[name])
    assert first["W_y"].shape == (5, 4) and first["b_y"].shape == (5, 1)
    if model == "lstm":
        assert first["W_f"].shape == (4, 4 + 5)
    elif model == "gru":
        assert first["W_z"].shape == (4, 5) and first["U_z"].shape == (4, 4)
    else:
        assert first["W_hh"].shape == (4, 4)


def test_loss_is_a_sum_and_accepts_a_custom_term() -> None:
    module = MODELS["lstm"]
    params, inputs, targets, h0, c0 = _problem("lstm", 1, 5, 4, 6)
    cache = module.forward(params, inputs, h0, c0)
    expected = -sum(np.log(p[y, 0]) for p, y in zip(cache.ps, targets, strict=True))
    assert module.loss(params, inputs, targets, h0, c0) == pytest.approx(expected, rel=1e-14)
    counted = module.loss(params, inputs, targets, h0, c0, loss_term=lambda p, y: 1.0)
    assert counted == len(inputs)


def test_forward_leaves_float32_params_alone_and_works_in_float64() -> None:
    module = MODELS["gru"]
    params = {k: v.astype(np.float32) for k, v in module.init_params(4, 3, seed=0).items()}
    before = {k: v.copy() for k, v in params.items()}
    cache = module.forward(params, [0, 1, 2], None)
    assert cache.hs[-1].dtype == np.float64 and cache.hs[-1].shape == (3, 1)
    grads = module.backward(params, cache, [1, 2, 3])
    assert all(g.dtype == np.float64 for g in grads.values())
    for name, value in params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("model", sorted(MODELS))
def test_overwritten_weight_gradients_keep_only_the_first_steps_share(model: str) -> None:
    module = MODELS[model]
    params, inputs, targets, h0, c0 = _problem(model, 4, 5, 3, 4)
    on = {"overwrite": lambda v: np.ones(1)}
    # one step: nothing to forget, the gradients are the same
    single = module.forward(params, inputs[:1], h0, c0)
    plain = module.backward(params, single, targets[:1])
    overwritten = module.backward(params, single, targets[:1], on)
    assert all(np.allclose(plain[k], overwritten[k]) for k in plain)
    # several: the backward ends at t = 0, so what is left is that step's share alone, which
    # differs from the sum over steps
    cache = module.forward(params, inputs, h0, c0)
    summed = module.backward(params, cache, targets)
    last = module.backward(params, cache, targets, on)
    assert any(not np.allclose(summed[k], last[k]) for k in summed)

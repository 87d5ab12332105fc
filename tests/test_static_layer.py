"""A class used as a namespace of static functions, its weights made by one of them: the
batched style where `W = Net.init(...)`, `Net.forward(X, W)` and `Net.backward(dH, cache)`
are checked as a layer whose parameters its initialiser makes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lstmlint.harness import extract, plan, shapes
from tests.test_harness import run

STATIC_LSTM = """\
import numpy as np


class StackedLSTM:
    @staticmethod
    def init_weights(n_in, n_hidden, forget_bias=1.0):
        W = np.random.randn(1 + n_in + n_hidden, 4 * n_hidden) * 0.3
        W[0, n_hidden : 2 * n_hidden] = forget_bias
        return W

    @staticmethod
    def forward(X, W, c0=None, h0=None):
        T, B, D = X.shape
        H = W.shape[1] // 4
        c_init = np.zeros((B, H)) if c0 is None else c0
        h_init = np.zeros((B, H)) if h0 is None else h0
        U = np.zeros((T, B, 1 + D + H))
        A = np.zeros((T, B, 4 * H))
        C = np.zeros((T, B, H))
        TC = np.zeros((T, B, H))
        Hs = np.zeros((T, B, H))
        for t in range(T):
            U[t, :, 0] = 1
            U[t, :, 1 : 1 + D] = X[t]
            U[t, :, 1 + D :] = Hs[t - 1] if t > 0 else h_init
            Z = U[t] @ W
            A[t, :, : 3 * H] = 1.0 / (1.0 + np.exp(-Z[:, : 3 * H]))
            A[t, :, 3 * H :] = np.tanh(Z[:, 3 * H :])
            before = C[t - 1] if t > 0 else c_init
            C[t] = A[t, :, :H] * A[t, :, 3 * H :] + A[t, :, H : 2 * H] * before
            TC[t] = np.tanh(C[t])
            Hs[t] = A[t, :, 2 * H : 3 * H] * TC[t]
        saved = {"U": U, "A": A, "C": C, "TC": TC, "W": W, "c0": c_init}
        return Hs, C[T - 1], Hs[T - 1], saved

    @staticmethod
    def backward(dHs_in, saved, dcn=None, dhn=None):
        U, A, C, TC, W = saved["U"], saved["A"], saved["C"], saved["TC"], saved["W"]
        T, B, H = dHs_in.shape
        D = U.shape[2] - 1 - H
        dW = np.zeros_like(W)
        dX = np.zeros((T, B, D))
        dh = np.zeros((B, H)) if dhn is None else dhn
        dc = np.zeros((B, H)) if dcn is None else dcn
        for t in reversed(range(T)):
            before = C[t - 1] if t > 0 else saved["c0"]
            dh_t = dHs_in[t] + dh
            dA = np.zeros((B, 4 * H))
            dA[:, 2 * H : 3 * H] = TC[t] * dh_t
            dc = dc + (1 - TC[t] ** 2) * A[t, :, 2 * H : 3 * H] * dh_t
            dA[:, :H] = A[t, :, 3 * H :] * dc
            dA[:, H : 2 * H] = before * dc
            dA[:, 3 * H :] = A[t, :, :H] * dc
            dc = A[t, :, H : 2 * H] * dc
            dZ = np.zeros_like(dA)
            dZ[:, 3 * H :] = (1 - A[t, :, 3 * H :] ** 2) * dA[:, 3 * H :]
            s = A[t, :, : 3 * H]
            dZ[:, : 3 * H] = s * (1 - s) * dA[:, : 3 * H]
            dW += U[t].T @ dZ
            dU = dZ @ W.T
            dX[t] = dU[:, 1 : 1 + D]
            dh = dU[:, 1 + D :]
        return dX, dW, dc, dh
"""


def _problems(code: str) -> list[dict]:
    return plan.find_problems(extract.reduce_module(code))


def test_a_class_of_static_functions_with_an_initialiser_is_a_layer() -> None:
    (problem,) = _problems(STATIC_LSTM)
    assert problem["kind"] == "layer"
    assert (problem["forward"], problem["backward"], problem["init"]) == (
        "StackedLSTM.forward",
        "StackedLSTM.backward",
        "StackedLSTM.init_weights",
    )
    assert problem["init_returns"] == ["W"] and problem["backward_required"] == ["dHs_in", "saved"]
    assert plan.entry_names(problem)[:3] == [
        "StackedLSTM.forward",
        "StackedLSTM.backward",
        "StackedLSTM.init_weights",
    ]


def test_without_one_static_initialiser_it_is_not() -> None:
    plain = STATIC_LSTM.replace("    def init_weights", "    def weights")
    assert _problems(plain) == []
    bound = STATIC_LSTM.replace("    @staticmethod\n    def forward", "    def forward")
    assert _problems(bound) == []


def _checks(code: str) -> list[tuple]:
    (problem,) = _problems(code)
    namespace: dict = {}
    exec(compile(code, "static_lstm", "exec"), namespace)
    return list(shapes.layer(problem, namespace, np.random.default_rng(0)))


def test_the_loss_weights_the_outputs_the_backward_takes_a_gradient_of() -> None:
    checks = _checks(STATIC_LSTM)
    assert [how for *_, how in checks] == [
        "a sequence of 4 steps of a batch of 2",
        "a batch of 2 sequences of 4 steps",
    ]
    loss, grads, start, _ = checks[0]
    assert set(start) == {"X", "W"} and start["X"].shape == (4, 2, 5)
    assert start["W"].shape == (1 + 5 + 4, 16)
    got = grads({k: v.copy() for k, v in start.items()})
    assert set(got) == {"X", "W"}
    for name in ("X", "W"):  # central differences of the loss, a few entries each
        for index in [(0,) * start[name].ndim, tuple(s - 1 for s in start[name].shape)]:
            moved = {k: v.copy() for k, v in start.items()}
            moved[name][index] += 1e-6
            up = loss(moved)
            moved[name][index] -= 2e-6
            numeric = (up - loss(moved)) / 2e-6
            assert numeric == pytest.approx(got[name][index], rel=1e-5, abs=1e-8)


def test_a_backward_argument_no_output_is_named_for_is_not_guessed() -> None:
    odd = STATIC_LSTM.replace("dHs_in", "upstream")
    with pytest.raises(shapes.NoBinding, match="`upstream` is no output"):
        _checks(odd)
    unreturned = STATIC_LSTM.replace("return dX, dW, dc, dh", "return dX, dc, dh")
    with pytest.raises(shapes.NoBinding, match="does not return a gradient"):
        _checks(unreturned)


def test_its_gradients_are_checked_and_a_wrong_one_is_found(tmp_path: Path, capsys) -> None:
    (tmp_path / "right.py").write_text(STATIC_LSTM)
    (tmp_path / "wrong.py").write_text(
        STATIC_LSTM.replace("dc = dc + (1 - TC[t] ** 2)", "dc = dc + (1 - TC[t])")
    )
    report = tmp_path / "report.json"
    run(capsys, "--harness-report", str(report), str(tmp_path))
    records = {Path(r["path"]).name: r for r in json.loads(report.read_text())}
    assert records["right.py"]["status"] == "checked"
    assert {p["name"]: p["verdict"] for p in records["right.py"]["parameters"]} == {
        "W": "PASS",
        "X": "PASS",
    }
    wrong = {p["name"] for p in records["wrong.py"]["parameters"] if p["verdict"] == "FAIL"}
    assert wrong == {"W", "X"}

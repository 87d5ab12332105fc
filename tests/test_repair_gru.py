"""The repair search on a GRU written as a step function and a time loop that calls it (the
CS231n layout): a bug of each kind the GRU's gates invite, put into the step function, where no
rule reads it, is reported once by the search, at its line (not again as an unexplained error
of the loop, which the same repair explains), and ``--fix`` makes the gradients exact, as
``lstmlint.gradcheck`` judges the fixed program."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run

from lstmlint.gradcheck import gradcheck

GRU = """\
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx[:, :2 * H] + prev_h @ Wh[:, :2 * H] + b[:2 * H]
    z = sigmoid(a[:, :H])
    r = sigmoid(a[:, H:2 * H])
    hh = np.tanh(x @ Wx[:, 2 * H:] + (r * prev_h) @ Wh[:, 2 * H:] + b[2 * H:])
    next_h = z * prev_h + (1 - z) * hh
    cache = (x, prev_h, Wx, Wh, z, r, hh)
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, hh = cache
    H = prev_h.shape[1]
    dz = dnext_h * (prev_h - hh) * z * (1 - z)
    dhh = dnext_h * (1 - z) * (1 - hh ** 2)
    dprev_h = dnext_h * z
    drh = dhh @ Wh[:, 2 * H:].T
    dr = drh * prev_h * r * (1 - r)
    dprev_h += drh * r
    da = np.hstack([dz, dr])
    dx = da @ Wx[:, :2 * H].T + dhh @ Wx[:, 2 * H:].T
    dprev_h += da @ Wh[:, :2 * H].T
    dWx = np.hstack([x.T @ da, x.T @ dhh])
    dWh = np.hstack([prev_h.T @ da, (r * prev_h).T @ dhh])
    db = np.concatenate([da.sum(0), dhh.sum(0)])
    return dx, dprev_h, dWx, dWh, db


def gru_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = []
    prev_h = h0
    for t in range(T):
        prev_h, cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(cache)
    return h, caches


def gru_backward(dh, caches):
    N, T, H = dh.shape
    D = caches[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 3 * H))
    dWh = np.zeros((H, 3 * H))
    db = np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t, :] + dprev_h, caches[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
"""
BUGS = {
    "square": ("(1 - hh ** 2)", "(1 - hh)"),
    "complement": ("dhh = dnext_h * (1 - z) * (1 - hh ** 2)", "dhh = dnext_h * z * (1 - hh ** 2)"),
    "difference": ("dz = dnext_h * (prev_h - hh)", "dz = dnext_h * (hh - prev_h)"),
    "factor of the gradient": ("dprev_h += drh * r", "dprev_h += drh"),
    "factor of a value read": ("(r * prev_h).T @ dhh", "prev_h.T @ dhh"),
    "activation for its derivative": ("* z * (1 - z)", "* sigmoid(z)"),
}


def _exact(text: str) -> bool:
    namespace: dict = {}
    exec(compile(text, "program", "exec"), namespace)
    rng = np.random.default_rng(1)
    x, h0, dout = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5)), rng.normal(size=(2, 3, 5))
    start = {
        "Wx": rng.normal(size=(4, 15)),
        "Wh": rng.normal(size=(5, 15)),
        "b": rng.normal(size=15),
    }

    def loss(p: dict) -> float:
        return float(np.sum(namespace["gru_forward"](x, h0, p["Wx"], p["Wh"], p["b"])[0] * dout))

    def grads(p: dict) -> dict:
        _, caches = namespace["gru_forward"](x, h0, p["Wx"], p["Wh"], p["b"])
        _, _, dWx, dWh, db = namespace["gru_backward"](dout, caches)
        return {"Wx": dWx, "Wh": dWh, "b": db}

    report = gradcheck(loss, grads, start)
    return all(r.verdict.value == "PASS" for r in report.results)


def test_the_gru_is_exact_before_any_bug() -> None:
    assert _exact(GRU)


@pytest.mark.parametrize("kind", sorted(BUGS))
def test_a_gru_bug_is_found_once_at_its_line_and_repaired(
    tmp_path: Path, capsys, kind: str
) -> None:
    right, wrong = BUGS[kind]
    buggy = GRU.replace(right, wrong, 1)
    assert buggy != GRU and not _exact(buggy)
    line = next(n for n, text in enumerate(buggy.splitlines(), 1) if wrong in text)
    path = tmp_path / "gru.py"
    path.write_text(buggy)
    _, out, _ = run(capsys, "--format", "json", "--isolated", str(path))
    found = [(d["code"], d["line"]) for d in json.loads(out) if d["code"].startswith("LST9")]
    assert found == [("LST901", line)], out
    run(capsys, "--fix", str(path))
    assert _exact(path.read_text())

"""The repair search on a GRU written as a step function and a time loop that calls it (the
CS231n layout): a bug of each kind the GRU's gates invite, put into the step function, is
reported once at its line, by a rule or by the search (not again as an unexplained error of the
loop, which the same fix explains), and ``--fix`` makes the gradients exact, as
``lstmlint.gradcheck`` judges the fixed program."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run
from lstmlint.rules._programs import GRU_STEP_CACHE as GRU

from lstmlint.gradcheck import gradcheck

GRADIENT = ("LST1", "LST2", "LST3", "LST9")
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
    found = [(d["code"], d["line"]) for d in json.loads(out) if d["code"][:4] in GRADIENT]
    assert len(found) == 1 and found[0][1] == line, out
    run(capsys, "--fix", str(path))
    assert _exact(path.read_text())

"""The repair search's kinds of edit, end to end: a bug of each kind in a min-char RNN, with
every rule but LST900/LST901 left out so that only the search can find it, is reported at its
line and repaired by ``--fix``. "Repaired" is judged by ``lstmlint.gradcheck`` on the fixed
program, never by comparing its text with the original."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run

from lstmlint.gradcheck import gradcheck
from lstmlint.registry import rule_by_code

CORRECT = rule_by_code("LST900").valid[0].code  # a min-char RNN with exact gradients
NAMES = ("Wxh", "Whh", "Why", "bh", "by")
BUGS = {
    "carry": ("dh = Why.T @ dy + dhnext", "dh = Why.T @ dy"),
    "square": ("dhraw = (1 - hs[t] ** 2) * dh", "dhraw = (1 - hs[t]) * dh"),
    "derivative": ("dhraw = (1 - hs[t] ** 2) * dh", "dhraw = (1 - np.tanh(hs[t]) ** 2) * dh"),
    "factor": ("dhraw = (1 - hs[t] ** 2) * dh", "dhraw = (1 - hs[t] ** 2) * dh * hs[t]"),
    "scale": ("dWxh += dhraw @ xs[t].T", "dWxh += dhraw @ xs[t].T / len(inputs)"),
    "next stage": ("dWxh += dhraw @ xs[t].T", "dWxh += dh @ xs[t].T"),
}


def _exact(text: str) -> bool:
    namespace: dict = {}
    exec(compile(text, "program", "exec"), namespace)
    inputs, targets, hprev = [0, 3, 1, 4], [3, 1, 4, 2], np.zeros((6, 1))

    def call(p: dict) -> tuple:
        namespace.update({n: v.copy() for n, v in p.items()})
        return namespace["lossFun"](inputs, targets, hprev)

    start = {n: namespace[n] + 0.3 for n in NAMES}  # away from zero: tanh(c) is not c there
    report = gradcheck(
        lambda p: call(p)[0], lambda p: dict(zip(NAMES, call(p)[1:6], strict=True)), start
    )
    return all(r.verdict.value == "PASS" for r in report.results)


def test_the_program_is_exact_before_any_bug() -> None:
    assert _exact(CORRECT)


@pytest.mark.parametrize("kind", sorted(BUGS))
def test_a_bug_of_each_kind_is_found_at_its_line_and_repaired(
    tmp_path: Path, capsys, kind: str
) -> None:
    right, wrong = BUGS[kind]
    buggy = CORRECT.replace(right, wrong)
    assert buggy != CORRECT and not _exact(buggy)
    line = next(n for n, text in enumerate(buggy.splitlines(), 1) if wrong in text)
    path = tmp_path / "rnn.py"
    path.write_text(buggy)
    (tmp_path / "pyproject.toml").write_text('[tool.lstmlint]\nselect = ["LST900", "LST901"]\n')
    _, out, _ = run(capsys, "--format", "json", str(path))
    found = [(d["code"], d["line"]) for d in json.loads(out)]
    assert found == [("LST901", line)], out
    run(capsys, "--fix", str(path))
    assert _exact(path.read_text())

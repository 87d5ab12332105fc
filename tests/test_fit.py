"""Helper classes of a sibling module that the file's calls do not fit: lstmlint's own stand in
for them, and the file is checked with them (an `activation.py` of another assignment)."""

from __future__ import annotations

import json
from pathlib import Path

from lstmlint.harness.extract import STAND_IN_HELPERS
from lstmlint.harness.fit import _takes, unfit_helpers
from lstmlint.pytree import python_tree
from tests.test_harness import GRU_CELL, run

# the other year's helpers: no `__call__`, no `derivative`, a `backward` without `state`
OTHER_YEAR = """\
import numpy as np


class Sigmoid:
    def forward(self, Z):
        self.A = 1 / (1 + np.exp(-Z))
        return self.A

    def backward(self):
        return self.A - self.A * self.A


class Tanh:
    def forward(self, Z):
        self.A = np.tanh(Z)
        return self.A

    def backward(self):
        return 1 - self.A ** 2
"""

SAME_YEAR = """\
import numpy as np


class Sigmoid:
    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        self.state = 1 / (1 + np.exp(-x))
        return self.state

    def derivative(self):
        return self.state * (1 - self.state)


class Tanh(Sigmoid):
    pass
"""


def _unfit(code: str, sibling: str) -> list[str]:
    return unfit_helpers(python_tree(code), python_tree(sibling), STAND_IN_HELPERS)


def test_helpers_the_calls_do_not_fit_are_named() -> None:
    assert _unfit(GRU_CELL, OTHER_YEAR) == ["Sigmoid", "Tanh"]


def test_helpers_that_take_every_call_are_kept() -> None:
    # Tanh inherits what it lacks; Sigmoid has each method the cell calls
    assert _unfit(GRU_CELL, SAME_YEAR) == []
    called_by_method = GRU_CELL.replace("self.z_act(", "self.z_act.forward(").replace(
        "self.z_act.derivative()", "self.z_act.backward()"
    )
    assert "Sigmoid" not in _unfit(called_by_method, OTHER_YEAR)


def test_a_call_no_stand_in_takes_keeps_the_sibling() -> None:
    # `backward(delta)` means the gradient times the derivative: never guessed at
    with_delta = GRU_CELL.replace("self.h_act.derivative()", "self.h_act.backward(delta)")
    assert _unfit(with_delta, OTHER_YEAR) == ["Sigmoid"]


def test_keywords_and_counts_of_arguments_are_matched() -> None:
    cell = GRU_CELL.replace("self.h_act(", "self.h_act.forward(")

    def fits(definition: str, call: str) -> bool:
        sibling = OTHER_YEAR.replace("def backward(self):", definition)
        return "Tanh" not in _unfit(cell.replace("self.h_act.derivative()", call), sibling)

    assert fits("def derivative(self, state):", "self.h_act.derivative(state=self.n)")
    assert fits("def derivative(self, state):", "self.h_act.derivative(self.n)")
    assert fits("def derivative(self, **how):", "self.h_act.derivative(state=self.n)")
    assert fits("def derivative(self, *values):", "self.h_act.derivative(self.n)")
    assert fits("def derivative(self, state=None):", "self.h_act.derivative()")
    assert not fits("def derivative(self):", "self.h_act.derivative(self.n)")
    assert not fits("def derivative(self, out):", "self.h_act.derivative(state=self.n)")
    assert not fits("def derivative(self, state):", "self.h_act.derivative()")
    assert not fits("def derivative(self, *, state):", "self.h_act.derivative()")


def test_an_argument_given_twice_does_not_fit() -> None:
    method = python_tree("class Tanh:\n    def derivative(self, state):\n        pass\n").body[0]
    call = python_tree("act.derivative(out, state=out)").body[0].value
    assert not _takes(method, "derivative", call)
    assert _takes(method, "derivative", python_tree("act.derivative(out)").body[0].value)


def test_a_helper_the_file_defines_itself_is_its_own() -> None:
    own = GRU_CELL.replace(
        "class GRUCell:", OTHER_YEAR.split("\n\n\n", 1)[1] + "\n\nclass GRUCell:"
    )
    assert "Sigmoid" not in _unfit(own, OTHER_YEAR)


def _report(capsys, tmp_path: Path, name: str) -> dict:
    report = tmp_path / "report.json"
    run(capsys, "--harness-report", str(report), str(tmp_path / name))
    return json.loads(report.read_text())[0]


def test_a_cell_beside_another_years_helpers_is_checked_with_lstmlints(
    tmp_path: Path, capsys
) -> None:
    (tmp_path / "activation.py").write_text(OTHER_YEAR)
    (tmp_path / "cell.py").write_text(GRU_CELL)
    # the candidate's derivative left out: only the check of the code as it runs sees it
    (tmp_path / "wrong.py").write_text(
        GRU_CELL.replace("dn = delta * self.z * self.h_act.derivative()", "dn = delta * self.z")
    )
    record = _report(capsys, tmp_path, "cell.py")
    assert record["status"] == "checked"
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}
    assert (
        "standing in for those of `activation` (`activation`'s own do not take" in record["inputs"]
    )
    wrong = _report(capsys, tmp_path, "wrong.py")
    assert {p["name"] for p in wrong["parameters"] if p["verdict"] == "FAIL"} == {"Wh", "Wx"}
    (tmp_path / "activation.py").write_text(SAME_YEAR)
    record = _report(capsys, tmp_path, "cell.py")
    assert record["status"] == "checked" and "standing in" not in record["inputs"]

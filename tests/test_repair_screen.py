"""The repair search's screen (``harness/screen.py``): it turns away only candidates the full
check would reject, and lets through every one it cannot judge."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlint.harness.screen import screen_for

X = np.array([0.5, -1.0, 2.0])
W0 = np.array([0.3, -0.2, 0.1])


def _loss(p: dict) -> float:
    return float(np.sum(np.tanh(p["W"] * X)) + np.sum(p["b"] ** 2))


def _right(p: dict) -> dict:
    return {"W": X * (1 - np.tanh(p["W"] * X) ** 2), "b": 2 * p["b"]}


def _binding(grads, loss=_loss, start=W0):
    return loss, grads, {"W": start.copy(), "b": np.ones(2)}


def _raises(p: dict) -> dict:
    raise ValueError("shapes do not align")


BINDINGS = {
    "start": _binding(lambda p: {**_right(p), "W": X * (1 - np.tanh(p["W"] * X))}),
    "repair": _binding(_right),
    "still wrong": _binding(lambda p: {**_right(p), "W": 2 * X}),
    "loss moved": _binding(_right, loss=lambda p: _loss(p) + 1.0),
    "does not run": _binding(_raises),
    "other values": _binding(lambda p: {**_right(p), "W": 2 * X}, start=W0 + 1),
    "no W": _binding(lambda p: {"b": 2 * p["b"]}),
    # halfway from the start's wrong gradient to the right one: maybe a step of the search
    "nearer": _binding(lambda p: {**_right(p), "W": X * (1 - 0.75 * np.tanh(p["W"] * X))}),
    "further": _binding(lambda p: {**_right(p), "W": X * (1 - np.tanh(p["W"] * X)) * 1.5}),
}
OUTCOME = {"params": {"W": {"verdict": "FAIL"}, "b": {"verdict": "PASS"}}}


def _bind(text: str) -> tuple:
    if text == "unbound":
        raise LookupError("no way of calling it")
    return BINDINGS[text]


@pytest.mark.parametrize(
    ("candidate", "passes"),
    [
        ("repair", True),  # the wrong gradient now agrees with the differences
        ("still wrong", False),
        ("loss moved", False),  # the search rejects it whatever its gradients
        ("does not run", False),  # another way of calling it means another loss
        ("no W", False),  # the wrong gradient is not even returned
        ("other values", True),  # the differences do not hold there: the full check decides
        ("nearer", True),  # a step the search may keep on its way to a repair
        ("further", False),
    ],
)
def test_the_screen_turns_away_only_what_the_check_would(candidate: str, passes: bool) -> None:
    assert screen_for(_bind, "start", OUTCOME, 6)(candidate) is passes


def test_a_start_the_screen_cannot_bind_lets_every_candidate_through() -> None:
    may_repair = screen_for(_bind, "unbound", OUTCOME, 6)
    assert all(may_repair(c) for c in ("still wrong", "loss moved", "does not run"))


def test_a_loss_not_finite_at_the_start_lets_every_candidate_through() -> None:
    BINDINGS["nan"] = _binding(_right, loss=lambda p: float("nan"))
    try:
        assert screen_for(_bind, "nan", OUTCOME, 6)("still wrong")
    finally:
        del BINDINGS["nan"]


def test_only_the_wrong_gradients_are_compared() -> None:
    # W was exact and b was not: b alone decides, however W fares
    outcome = {"params": {"W": {"verdict": "PASS"}, "b": {"verdict": "INCONCLUSIVE"}}}
    may_repair = screen_for(_bind, "start", outcome, 6)
    assert may_repair("still wrong") and may_repair("no W")  # b is right in both
    BINDINGS["b wrong"] = _binding(lambda p: {**_right(p), "b": p["b"]})
    try:
        assert not may_repair("b wrong")
    finally:
        del BINDINGS["b wrong"]


def test_a_wrong_gradient_no_longer_returned_does_not_hide_one_that_came_right() -> None:
    # W and b were both wrong; the candidate drops W but gets b right: it may be a repair
    outcome = {"params": {"W": {"verdict": "FAIL"}, "b": {"verdict": "FAIL"}}}
    assert screen_for(_bind, "start", outcome, 6)("no W")


def test_a_parameter_stored_transposed_is_perturbed_in_place() -> None:
    # a user's weights may be a transposed view; differences taken through a flat copy of it
    # would all be zero, and every right gradient would look wrong
    start = np.arange(6.0).reshape(2, 3).T / 10  # Fortran order

    def loss(p: dict) -> float:
        return float(np.sum(np.tanh(p["W"])))

    def right(p: dict) -> dict:
        return {"W": 1 - np.tanh(p["W"]) ** 2}

    bindings = {
        "start": (loss, lambda p: {"W": 1 - np.tanh(p["W"])}, {"W": start}),
        "repair": (loss, right, {"W": start}),
    }
    outcome = {"params": {"W": {"verdict": "FAIL"}}}
    assert screen_for(bindings.__getitem__, "start", outcome, 6)("repair")

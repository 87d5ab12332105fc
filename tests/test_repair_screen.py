"""The repair search's screen (``harness/screen.py``): it turns away only candidates the full
check would reject, and lets through every one it cannot judge."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lstmlint import gradcheck as gc
from lstmlint.harness import child, repair
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
    assert screen_for(_bind, "start", OUTCOME, 6, gc.STEPS)(candidate) is passes


def test_a_start_the_screen_cannot_bind_lets_every_candidate_through() -> None:
    may_repair = screen_for(_bind, "unbound", OUTCOME, 6, gc.STEPS)
    assert all(may_repair(c) for c in ("still wrong", "loss moved", "does not run"))


def test_a_loss_not_finite_at_the_start_lets_every_candidate_through() -> None:
    BINDINGS["nan"] = _binding(_right, loss=lambda p: float("nan"))
    try:
        assert screen_for(_bind, "nan", OUTCOME, 6, gc.STEPS)("still wrong")
    finally:
        del BINDINGS["nan"]


def test_only_the_wrong_gradients_are_compared() -> None:
    # W was exact and b was not: b alone decides, however W fares
    outcome = {"params": {"W": {"verdict": "PASS"}, "b": {"verdict": "INCONCLUSIVE"}}}
    may_repair = screen_for(_bind, "start", outcome, 6, gc.STEPS)
    assert may_repair("still wrong") and may_repair("no W")  # b is right in both
    BINDINGS["b wrong"] = _binding(lambda p: {**_right(p), "b": p["b"]})
    try:
        assert not may_repair("b wrong")
    finally:
        del BINDINGS["b wrong"]


def test_a_wrong_gradient_no_longer_returned_does_not_hide_one_that_came_right() -> None:
    # W and b were both wrong; the candidate drops W but gets b right: it may be a repair
    outcome = {"params": {"W": {"verdict": "FAIL"}, "b": {"verdict": "FAIL"}}}
    assert screen_for(_bind, "start", outcome, 6, gc.STEPS)("no W")


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
    assert screen_for(bindings.__getitem__, "start", outcome, 6, gc.STEPS)("repair")


def test_a_parameter_of_two_axes_is_compared_entry_by_entry() -> None:
    # the sampled entries are flat indices: a gradient of two axes is flattened to read them
    start = np.arange(6.0).reshape(2, 3) / 10

    def loss(p: dict) -> float:
        return float(np.sum(np.tanh(p["W"])))

    bindings = {
        "start": (loss, lambda p: {"W": 1 - np.tanh(p["W"])}, {"W": start}),
        "repair": (loss, lambda p: {"W": 1 - np.tanh(p["W"]) ** 2}, {"W": start}),
        "still wrong": (loss, lambda p: {"W": 2 * np.ones((2, 3))}, {"W": start}),
    }
    outcome = {"params": {"W": {"verdict": "FAIL"}}}
    may_repair = screen_for(bindings.__getitem__, "start", outcome, 6, gc.STEPS)
    assert may_repair("repair") and not may_repair("still wrong")


def test_a_parameter_larger_than_the_sample_is_screened_on_the_sample() -> None:
    # W has three entries; two are compared, and a wrong gradient is still turned away
    may_repair = screen_for(_bind, "start", OUTCOME, 2, gc.STEPS)
    assert may_repair("repair") and not may_repair("still wrong") and not may_repair("further")


def test_a_gradient_that_is_not_a_number_is_far() -> None:
    nan = _binding(lambda p: {**_right(p), "W": np.full(3, np.nan)})
    both_wrong = _binding(lambda p: {"W": 2 * X, "b": p["b"]})
    bindings = {**BINDINGS, "nan": nan, "both wrong": both_wrong}
    assert not screen_for(bindings.__getitem__, "start", OUTCOME, 6, gc.STEPS)("nan")
    # W and b were wrong: W is no longer a number, b came right; it may be a repair of b
    both = {"params": {"W": {"verdict": "FAIL"}, "b": {"verdict": "FAIL"}}}
    assert screen_for(bindings.__getitem__, "both wrong", both, 6, gc.STEPS)("nan")
    # a start whose wrong gradient is not a number: a repair gets through, nothing nearer does
    may_repair = screen_for(bindings.__getitem__, "nan", OUTCOME, 6, gc.STEPS)
    assert may_repair("repair") and not may_repair("still wrong")


# Candidates the search could keep, each where a quicker screen could go wrong. U is a second
# gradient, wrong at the start and in every candidate (of the wrong sign): the wrong gradients
# together come no nearer, so the screen can only let these through on W's own errors.
Y = np.array([10.0, 20.0])


Loss = Callable[[dict], float]
Grads = Callable[[dict], dict]


def _plus_u(loss: Loss) -> Loss:
    return lambda p: loss(p) + float(np.sum(p["U"] * Y))


def _u_wrong(grads: Grads) -> Grads:
    return lambda p: {**grads(p), "U": -Y}


def _checked(binding: tuple, steps: tuple[float, ...] = gc.STEPS) -> dict:
    """The outcome of the child's gradient check of ``binding`` (``child._check``)."""
    loss, grads, params = binding
    report = gc.gradcheck(loss, grads, params, max_entries=child.MAX_ENTRIES, steps=steps)
    verdicts = {
        r.name: {"verdict": r.verdict.value, "error": r.max_rel_error, "distance": r.norm_rel_error}
        for r in report.results
    }
    return {"status": "ok", "loss": loss(params), "params": verdicts}


def _search_may_keep(start: dict, after: dict) -> bool:
    """Whether the search would keep ``after`` as a repair of ``start`` or as a step to one."""
    wrong, left = repair._wrong(start), repair._wrong(after)
    if not repair._same_loss(after, start) or left - wrong:
        return False
    return len(left) < len(wrong) or repair._closer(after, start) > 0


def _scenario(loss: Loss, start: Grads, candidate: Grads, params: dict) -> dict:
    params = {**params, "U": np.zeros(2)}
    return {
        "start": (_plus_u(loss), _u_wrong(start), params),
        "candidate": (_plus_u(loss), _u_wrong(candidate), params),
    }


def _large_loss_tiny_entry() -> dict:
    # a loss of 1e4: its differences carry a rounding noise of ~1e-6, and the check grades
    # entries below that noise (here 1e-7) against a floor, not against their own size
    x = np.array([0.5, -1.0, 1e-7])

    def loss(p: dict) -> float:
        return 1e4 + float(np.sum(np.tanh(p["W"] * x)))

    def right(p: dict) -> dict:
        return {"W": x * (1 - np.tanh(p["W"] * x) ** 2)}

    def start(p: dict) -> dict:
        return {"W": x * (1 - np.tanh(p["W"] * x))}

    return _scenario(loss, start, right, {"W": W0.copy()})


def _kink_within(distance: float, slope: float) -> dict:
    # |W - K| with K within ``distance`` of each entry: a step longer than that straddles it
    w0 = np.array([0.3, -0.2])
    kink = w0 + np.array([distance, -distance])

    def loss(p: dict) -> float:
        return 1.0 + float(np.tanh(0.5 * p["V"][0])) + slope * float(np.sum(np.abs(p["W"] - kink)))

    def right(p: dict) -> dict:
        return {
            "W": slope * np.sign(p["W"] - kink),
            "V": [0.5 * (1 - np.tanh(0.5 * p["V"][0]) ** 2)],
        }

    def start(p: dict) -> dict:
        return {**right(p), "W": 1.1 * right(p)["W"]}

    return _scenario(loss, start, right, {"W": w0, "V": np.array([0.3])})


def _wrong_off_the_sample() -> dict:
    # right at the entries the check samples, three times too large at the others
    x = np.linspace(-1.0, 1.0, 10)
    sampled = gc._entries("W", x.size, child.MAX_ENTRIES, 0)
    off = np.ones(x.size)
    off[sampled] = 0.0

    def loss(p: dict) -> float:
        return float(np.sum(np.tanh(p["W"] * x)))

    def right(p: dict) -> dict:
        return {"W": x * (1 - np.tanh(p["W"] * x) ** 2)}

    def start(p: dict) -> dict:
        return {"W": 1.1 * right(p)["W"]}

    def candidate(p: dict) -> dict:
        return {"W": right(p)["W"] * (1 + 2 * off)}

    return _scenario(loss, start, candidate, {"W": np.linspace(0.1, 1.0, 10)})


SCENARIOS = {
    "a large loss, a gradient entry below its noise": _large_loss_tiny_entry,
    # the check's first step (1e-5) sees the slope, its second (1e-4) straddles the kink
    "a kink nearer than the second step": lambda: _kink_within(5e-5, 1.0),
    # only the check's third step (1e-6) sees the slope of a kink 5e-6 away; at its first,
    # that slope is too small to stand out of the noise floor (the check is inconclusive)
    "a kink nearer than the first step": lambda: _kink_within(5e-6, 3.6e-6),
    # a steep kink 5e-6 away: the first step straddles it and is far off; the third is exact
    "a steep kink seen only at the third step": lambda: _kink_within(5e-6, 1.0),
    "a gradient wrong only where the check does not sample": _wrong_off_the_sample,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_screen_lets_through_what_the_check_would_make_a_repair(name: str) -> None:
    bindings = SCENARIOS[name]()
    start, after = _checked(bindings["start"]), _checked(bindings["candidate"])
    assert repair._wrong(start) == {"W", "U"} and repair._wrong(after) == {"U"}
    assert _search_may_keep(start, after)
    may_repair = screen_for(bindings.__getitem__, "start", start, child.MAX_ENTRIES, gc.STEPS)
    assert may_repair("candidate")


def test_at_a_single_step_the_noise_of_a_large_loss_is_allowed_for() -> None:
    # no other step to fall back on: the screen's noise floor at this step alone decides
    bindings = _large_loss_tiny_entry()
    steps = gc.STEPS[:1]
    start, after = _checked(bindings["start"], steps), _checked(bindings["candidate"], steps)
    assert repair._wrong(start) == {"W", "U"} and repair._wrong(after) == {"U"}
    may_repair = screen_for(bindings.__getitem__, "start", start, child.MAX_ENTRIES, steps)
    assert may_repair("candidate")


def test_one_entry_left_as_wrong_is_far_however_near_the_others_are() -> None:
    # one small entry three times too large among large right ones: far by its largest
    # error, near as one vector; a candidate that changes nothing is no repair and no step
    x = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1e-4])

    def loss(p: dict) -> float:
        return float(np.sum(np.tanh(p["W"] * x)))

    def one_wrong(p: dict) -> dict:
        gradient = x * (1 - np.tanh(p["W"] * x) ** 2)
        gradient[-1] *= 3
        return {"W": gradient}

    binding = (loss, one_wrong, {"W": np.linspace(0.1, 0.6, 6)})
    start = _checked(binding)
    assert repair._wrong(start) == {"W"} and start["params"]["W"]["distance"] < gc.FAIL_ABOVE
    assert not screen_for(lambda text: binding, "start", start, 6, gc.STEPS)("candidate")


def _w_only(start_w: Callable[[np.ndarray], np.ndarray], candidate_w: Callable) -> dict:
    """W alone wrong at the start (as ``start_w`` gives it), and a candidate's ``candidate_w``."""
    loss, grads, params = BINDINGS["repair"]
    return {
        "start": (loss, lambda p: {**grads(p), "W": start_w(_right(p)["W"])}, params),
        "candidate": (loss, lambda p: {**grads(p), "W": candidate_w(_right(p)["W"])}, params),
    }


@pytest.mark.parametrize(
    ("start_w", "candidate_w", "kept"),
    [
        # none returned, then three times too large: half as far, a step the search may keep
        pytest.param(lambda g: 0 * g, lambda g: 3 * g, True, id="none, then three times"),
        # the wrong sign, then none: as far as before
        pytest.param(lambda g: -g, lambda g: 0 * g, False, id="the wrong sign, then none"),
    ],
)
def test_a_candidate_that_may_be_a_step_of_the_search_is_let_through(
    start_w: Callable, candidate_w: Callable, kept: bool
) -> None:
    bindings = _w_only(start_w, candidate_w)
    start, after = _checked(bindings["start"]), _checked(bindings["candidate"])
    assert repair._wrong(after) == repair._wrong(start) == {"W"}
    assert _search_may_keep(start, after) is kept
    assert screen_for(bindings.__getitem__, "start", start, 6, gc.STEPS)("candidate") is kept


@pytest.mark.parametrize(("share", "passes"), [(0.8, False), (1.2, True)])
def test_a_candidate_is_let_through_from_half_the_gain_the_search_asks_of_a_step(
    share: float, passes: bool
) -> None:
    # from three times too large (half as far as can be: 2 / (3 + 1)) to a distance that many
    # decades nearer, where the scale k is as far: (k - 1) / (k + 1)
    distance = 0.5 / 10 ** (share * repair.CLOSER / 2)
    k = (1 + distance) / (1 - distance)
    bindings = _w_only(lambda g: 3 * g, lambda g: k * g)
    start = _checked(bindings["start"])
    assert screen_for(bindings.__getitem__, "start", start, 6, gc.STEPS)("candidate") is passes


@pytest.mark.parametrize(
    ("offset", "moved"),
    [(0.0, 1e-9), (0.0, 1.5e-9), (1e3, 5e-7), (1e3, 2e-6), (-1e3, -5e-7), (-1e3, -2e-6)],
)
def test_the_screen_turns_away_a_moved_loss_exactly_when_the_search_would(
    offset: float, moved: float
) -> None:
    def loss_from(value: float) -> Loss:
        return lambda p: value + float(np.sum(p["W"] * X))

    bindings = {
        "start": (loss_from(offset), lambda p: {"W": 2 * X}, {"W": np.zeros(3)}),
        "candidate": (loss_from(offset + moved), lambda p: {"W": X}, {"W": np.zeros(3)}),
    }
    same = repair._same_loss({"loss": offset + moved}, {"loss": offset})
    outcome = {"params": {"W": {"verdict": "FAIL"}}}
    assert screen_for(bindings.__getitem__, "start", outcome, 6, gc.STEPS)("candidate") is same


def test_an_error_at_the_check_s_failing_bound_is_not_far() -> None:
    # W does not move the loss, whose differences are then 0 exactly and whose floor is
    # MAGNITUDE_FLOOR: a gradient of FAIL_ABOVE times that floor is off by FAIL_ABOVE exactly
    edge = gc.FAIL_ABOVE * gc.MAGNITUDE_FLOOR

    def loss(p: dict) -> float:
        return float(np.sum(p["U"] * Y))

    def returning(w: float) -> Grads:
        return lambda p: {"W": np.full(2, w), "U": -Y}

    params = {"W": np.ones(2), "U": np.zeros(2)}
    bindings = {
        "start": (loss, returning(2 * edge), params),
        "edge": (loss, returning(edge), params),
    }
    result = gc.gradcheck(loss, returning(edge), params, steps=gc.STEPS)["W"]
    assert result.max_rel_error == gc.FAIL_ABOVE and result.verdict is gc.Verdict.INCONCLUSIVE
    start = _checked(bindings["start"])
    assert screen_for(bindings.__getitem__, "start", start, 6, gc.STEPS)("edge")

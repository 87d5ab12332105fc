"""lstmlint.gradcheck on small closed-form losses whose exact gradient is known."""

from __future__ import annotations

import numpy as np
import pytest

from lstmlint import gradcheck as gc
from lstmlint.gradcheck import GradcheckReport, Verdict, gradcheck, relative_error

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal(5)


def _params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}


def loss(p: dict[str, np.ndarray]) -> float:
    # smooth, with non-zero third derivatives so the step size matters
    return float(np.sum(np.sin(p["W"]) * A) + np.sum(np.tanh(p["b"] * B)) + np.sum(p["W"] ** 3))


def grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "W": np.cos(p["W"]) * A + 3 * p["W"] ** 2,
        "b": B * (1 - np.tanh(p["b"] * B) ** 2),
    }


def test_exact_gradient_passes() -> None:
    report = gradcheck(loss, grads, _params())
    assert report.verdict is Verdict.PASS, str(report)
    assert report.failed == [] and report.inconclusive == []
    assert all(r.max_rel_error < gc.PASS_BELOW for r in report.results)
    assert report["W"].checked == 12 and report["b"].checked == 5
    report.assert_ok()


def test_wrong_gradient_fails_and_is_located() -> None:
    def wrong(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = grads(p)
        g["b"] = g["b"] * 1.5  # a missing or extra factor
        return g

    report = gradcheck(loss, wrong, _params())
    assert report.verdict is Verdict.FAIL
    assert report.failed == ["b"]
    assert report["W"].verdict is Verdict.PASS
    result = report["b"]
    assert result.frac_failing == 1.0
    assert result.max_rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert result.analytic == pytest.approx(1.5 * result.numeric, rel=1e-6)
    # every step was tried; a failure everywhere is reported at the first (canonical) step
    assert result.step == gc.STEPS[0]


def test_slightly_wrong_gradient_is_inconclusive() -> None:
    def close(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = grads(p)
        g["W"] = g["W"] * (1 + 1e-5)
        return g

    report = gradcheck(loss, close, _params())
    assert report.verdict is Verdict.INCONCLUSIVE
    assert report.inconclusive == ["W"] and report.failed == []
    assert 1e-6 < report["W"].max_rel_error < 1e-4
    with pytest.raises(AssertionError):
        report.assert_ok()


def test_report_text_names_the_worst_parameter_and_assert_ok_raises_it() -> None:
    def wrong(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = grads(p)
        g["W"] = -g["W"]
        return g

    report = gradcheck(loss, wrong, _params())
    text = str(report)
    assert text.startswith("gradcheck: FAIL; worst parameter W")
    assert "failed: W" in text
    assert report.worst is not None and report.worst.name == "W"
    with pytest.raises(AssertionError, match="worst parameter W") as raised:
        report.assert_ok()
    assert str(report["W"].worst_index) in str(raised.value)


def test_callers_arrays_are_never_written_to() -> None:
    params = {
        "W": np.asfortranarray(_params()["W"]),  # not C-contiguous
        "b": _params()["b"].astype(np.float32),
        "T": _params()["W"].T,  # a view of another array
    }
    before = {name: (value.copy(), value.dtype) for name, value in params.items()}
    seen = []

    def grads_mutating(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = {**grads(p), "T": 3 * p["T"] ** 2}
        for name in p:
            p[name] -= 0.1 * g[name]  # an SGD step inside the gradient function
        return g

    def loss_all(p: dict[str, np.ndarray]) -> float:
        seen.append(p["b"].dtype)
        return loss(p) + float(np.sum(p["T"] ** 3))

    gradcheck(loss_all, grads_mutating, params)
    assert set(seen) == {np.dtype(np.float64)}  # the loss saw float64 copies
    for name, (value, dtype) in before.items():
        assert params[name].dtype == dtype
        np.testing.assert_array_equal(params[name], value)


def test_arrays_are_unchanged_when_the_loss_raises() -> None:
    params = _params()
    before = {name: value.copy() for name, value in params.items()}
    calls = []

    def flaky(p: dict[str, np.ndarray]) -> float:
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return loss(p)

    with pytest.raises(RuntimeError):
        gradcheck(flaky, grads, params)
    for name, value in before.items():
        np.testing.assert_array_equal(params[name], value)


def test_max_entries_samples_deterministically_per_seed() -> None:
    big = {"M": np.random.default_rng(0).standard_normal((20, 30))}

    def quad(p: dict[str, np.ndarray]) -> float:
        return float(np.sum(p["M"] ** 2))

    def quad_grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        g = 2 * p["M"]
        g[3, 7] += 1.0  # one wrong entry: found only if it is sampled
        return {"M": g}

    first = gradcheck(quad, quad_grads, big, max_entries=10, seed=1)
    again = gradcheck(quad, quad_grads, big, max_entries=10, seed=1)
    full = gradcheck(quad, quad_grads, big)
    assert first["M"].checked == 10 and full["M"].checked == 600
    assert first["M"] == again["M"]
    assert full.failed == ["M"] and full["M"].worst_index == (3, 7)
    assert full["M"].frac_failing == pytest.approx(1 / 600)


def test_names_limits_the_check_and_unknown_names_are_refused() -> None:
    report = gradcheck(loss, grads, _params(), names=["b"])
    assert [r.name for r in report.results] == ["b"]
    with pytest.raises(KeyError, match="nope"):
        gradcheck(loss, grads, _params(), names=["nope"])


def test_float32_loss_and_bad_gradient_shapes_are_refused() -> None:
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda p: np.float32(loss(p)), grads, _params())
    with pytest.raises(ValueError, match="shape"):
        gradcheck(loss, lambda p: {**grads(p), "b": grads(p)["b"][:, None]}, _params())
    with pytest.raises(KeyError, match="no gradient"):
        gradcheck(loss, lambda p: {"W": grads(p)["W"]}, _params())


def test_a_step_size_artefact_is_retried_away() -> None:
    # sin(100 w): the truncation error at step 1e-5 is ~(100 * 1e-5)**2 / 6 = 1.7e-7 relative
    w0 = {"w": np.array([0.3, -0.2, 0.05])}
    report = gradcheck(
        lambda p: float(np.sum(np.sin(100 * p["w"]))),
        lambda p: {"w": 100 * np.cos(100 * p["w"])},
        w0,
    )
    assert report.verdict is Verdict.PASS, str(report)
    assert report["w"].step == 1e-6


def test_non_finite_gradients_fail() -> None:
    report = gradcheck(loss, lambda p: {**grads(p), "b": grads(p)["b"] * np.nan}, _params())
    assert report.failed == ["b"]
    assert "not finite" in str(report)


def test_a_non_finite_loss_is_inconclusive() -> None:
    def log_loss(p: dict[str, np.ndarray]) -> float:
        with np.errstate(invalid="ignore"):
            return float(np.sum(np.log(p["w"])))

    report = gradcheck(log_loss, lambda p: {"w": 1 / p["w"]}, {"w": np.array([-1.0, 2.0])})
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "not finite" in str(report)


def test_relative_error_floor_and_edge_cases() -> None:
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert relative_error(1e-12, 2e-12) == pytest.approx(1e-12 / gc.MAGNITUDE_FLOOR)
    assert relative_error(1e-3, 2e-3, floor=1.0) == pytest.approx(1e-3)
    assert relative_error(np.nan, 1.0) == np.inf
    np.testing.assert_array_equal(relative_error([1.0, 2.0], [1.0, 2.0]), [0.0, 0.0])


def test_empty_report_passes() -> None:
    assert GradcheckReport(()).verdict is Verdict.PASS


def test_transposed_parameter_arrays_are_perturbed() -> None:
    # an orthogonal initialiser often returns q.T, an array in Fortran order
    weights = np.random.default_rng(0).normal(size=(3, 5)).T
    assert not weights.flags.c_contiguous
    report = gradcheck(
        lambda p: float(np.sum(p["W"] ** 3)), lambda p: {"W": 3 * p["W"] ** 2}, {"W": weights}
    )
    assert report.verdict == Verdict.PASS
    wrong = gradcheck(
        lambda p: float(np.sum(p["W"] ** 3)), lambda p: {"W": 0 * p["W"]}, {"W": weights}
    )
    assert wrong.verdict == Verdict.FAIL

"""Central-difference gradient check for a scalar loss over a dict of NumPy parameters.

Usable on its own from a test suite::

    from lstmlint.gradcheck import gradcheck

    report = gradcheck(lambda p: loss(p, xs, ys), lambda p: grads(p, xs, ys), params)
    report.assert_ok()

Each parameter entry gets |a - n| / max(|a|, |n|, floor), graded PASS / INCONCLUSIVE / FAIL by
the thresholds below. A parameter that does not pass at the first step is retried at the other
steps and keeps the first step that reaches its best verdict, so a step-size artefact is never
reported as a bug.

The floor is what central differences can resolve: rounding in the loss makes the numeric
derivative uncertain by about eps * |loss| / step in absolute terms (measured on the reference
models: at most 3.7 such units at step 1e-5). An entry smaller than that noise divided by
PASS_BELOW is compared against the noise instead of its own magnitude, otherwise tiny but
correct entries (|g| ~ 1e-4 against noise ~ 1e-10) would sit right at the PASS threshold.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

# float64 central differences of a smooth (kink-free) loss land well below 1e-7 when the
# gradient is right; a wrong derivative factor or an off-by-one state is ~1e-2..1.
PASS_BELOW = 1e-7
FAIL_ABOVE = 1e-3
# 1e-5 is near the optimum (cube root of machine epsilon); the others are the retries.
STEPS = (1e-5, 1e-4, 1e-6)
# Below this magnitude both gradients count as zero: the relative error stops growing.
MAGNITUDE_FLOOR = 1e-8
# Rounding noise of the numeric derivative, in units of eps * |loss| / step (2x the measured max).
NOISE_ULPS = 8.0

LossFn = Callable[[dict[str, np.ndarray]], float]
GradsFn = Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray]]


class Verdict(str, enum.Enum):
    PASS = "PASS"
    INCONCLUSIVE = "INCONCLUSIVE"
    FAIL = "FAIL"


_RANK = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


def relative_error(
    analytic: np.ndarray | float, numeric: np.ndarray | float, floor: float = MAGNITUDE_FLOOR
) -> np.ndarray:
    """Elementwise |a - n| / max(|a|, |n|, floor); non-finite on either side is inf."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(n)
    with np.errstate(invalid="ignore"):
        scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
        error = np.abs(a - n) / scale
    return np.where(finite, error, np.inf)


@dataclass(frozen=True)
class ParamResult:
    """The check of one parameter tensor, at the step that agreed best."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float  # at worst_index
    numeric: float
    frac_failing: float  # fraction of checked entries above FAIL_ABOVE
    norm_rel_error: float  # |a - n| / (|a| + |n|) over the checked entries as vectors
    step: float
    floor: float  # the magnitude floor used in the relative error at this step
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class GradcheckReport:
    results: tuple[ParamResult, ...]

    @property
    def verdict(self) -> Verdict:
        verdicts = {result.verdict for result in self.results}
        for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
            if verdict in verdicts:
                return verdict
        return Verdict.PASS

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if r.verdict is Verdict.FAIL]

    @property
    def inconclusive(self) -> list[str]:
        return [r.name for r in self.results if r.verdict is Verdict.INCONCLUSIVE]

    @property
    def worst(self) -> ParamResult | None:
        return max(self.results, key=lambda r: r.max_rel_error, default=None)

    def __getitem__(self, name: str) -> ParamResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def __str__(self) -> str:
        header = ("param", "shape", "verdict", "max rel err", "at", "analytic", "numeric")
        header += ("frac>fail", "norm rel err", "step", "floor", "checked")
        rows = [header]
        for r in self.results:
            rows.append(
                (
                    r.name,
                    "x".join(map(str, r.shape)) or "scalar",
                    r.verdict.value,
                    f"{r.max_rel_error:.2e}",
                    str(r.worst_index),
                    f"{r.analytic:.6e}",
                    f"{r.numeric:.6e}",
                    f"{r.frac_failing:.2f}",
                    f"{r.norm_rel_error:.2e}",
                    f"{r.step:.0e}",
                    f"{r.floor:.1e}",
                    str(r.checked),
                )
            )
        widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines += [f"  {r.name}: {r.note}" for r in self.results if r.note]
        summary = f"gradcheck: {self.verdict.value}"
        worst = self.worst
        if worst is not None:
            summary += (
                f"; worst parameter {worst.name} (max rel err {worst.max_rel_error:.2e}"
                f" at {worst.worst_index})"
            )
        if self.failed:
            summary += f"; failed: {', '.join(self.failed)}"
        summary += f"  [PASS < {PASS_BELOW:.0e}, FAIL > {FAIL_ABOVE:.0e}]"
        return "\n".join([summary, *lines])

    def assert_ok(self) -> None:
        """Raise AssertionError with the table unless every parameter passed."""
        if self.verdict is not Verdict.PASS:
            raise AssertionError(str(self))


def gradcheck(
    loss_fn: LossFn,
    grads_fn: GradsFn,
    params: Mapping[str, np.ndarray],
    *,
    names: Iterable[str] | None = None,
    max_entries: int | None = None,
    seed: int = 0,
    steps: tuple[float, ...] = STEPS,
) -> GradcheckReport:
    """Compare ``grads_fn(params)`` with central differences of ``loss_fn`` around ``params``.

    Both functions receive float64 copies; the caller's arrays are never written to. ``names``
    limits the check to some parameters; ``max_entries`` samples that many entries per
    parameter (seeded by ``seed`` and the name) instead of checking every entry.
    """
    # C order, so that the flat views perturbed below are views (a transposed array is not)
    work = {name: np.array(value, dtype=np.float64, order="C") for name, value in params.items()}
    selected = list(work) if names is None else list(names)
    missing = [name for name in selected if name not in work]
    if missing:
        raise KeyError(f"no such parameter(s): {', '.join(missing)}")
    # a copy, so that a grads_fn that updates its parameters in place cannot move the point
    analytic_all = grads_fn({name: value.copy() for name, value in work.items()})
    base = _loss(loss_fn, work)
    results = []
    for name in selected:
        if name not in analytic_all:
            raise KeyError(f"grads_fn returned no gradient for {name!r}")
        analytic = np.asarray(analytic_all[name], dtype=np.float64)
        if analytic.shape != work[name].shape:
            raise ValueError(
                f"gradient of {name!r} has shape {analytic.shape}, "
                f"the parameter has {work[name].shape}"
            )
        entries = _entries(name, work[name].size, max_entries, seed)
        best: ParamResult | None = None
        for step in steps:
            numeric = _central_differences(loss_fn, work, name, entries, step)
            if not np.isfinite(base):
                numeric[:] = np.nan  # no derivative at a point where the loss itself is not finite
            noise = NOISE_ULPS * np.finfo(np.float64).eps * abs(base) / step
            floor = max(MAGNITUDE_FLOOR, noise / PASS_BELOW) if np.isfinite(noise) else np.inf
            analytic_flat = analytic.reshape(-1)
            result = _grade(name, work[name].shape, entries, analytic_flat, numeric, step, floor)
            # Rank by verdict only: the floor grows as the step shrinks, so comparing errors
            # across steps would always favour the smallest step. Ties keep the earlier step.
            if best is None or _RANK[result.verdict] < _RANK[best.verdict]:
                best = result
            if best.verdict is Verdict.PASS:
                break
        assert best is not None
        results.append(best)
    return GradcheckReport(tuple(results))


def _entries(name: str, size: int, max_entries: int | None, seed: int) -> np.ndarray:
    """Flat indices to check; a sample depends only on (seed, name), not on parameter order."""
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _loss(loss_fn: LossFn, work: dict[str, np.ndarray]) -> float:
    value = loss_fn(work)
    dtype = getattr(value, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8:
        # differences of a float32 loss are mostly rounding noise: every verdict would be wrong
        raise TypeError(f"loss_fn returned {dtype}; gradcheck needs a float64 loss")
    return float(value)


def _central_differences(
    loss_fn: LossFn, work: dict[str, np.ndarray], name: str, entries: np.ndarray, step: float
) -> np.ndarray:
    flat = work[name].reshape(-1)  # a view: work arrays are fresh contiguous copies
    numeric = np.empty(len(entries))
    for k, index in enumerate(entries):
        original = flat[index]
        plus, minus = original + step, original - step
        try:
            flat[index] = plus
            up = _loss(loss_fn, work)
            flat[index] = minus
            down = _loss(loss_fn, work)
        finally:
            flat[index] = original
        # divide by the spacing actually representable, not 2 * step
        numeric[k] = (up - down) / (plus - minus)
    return numeric


def _grade(
    name: str,
    shape: tuple[int, ...],
    entries: np.ndarray,
    analytic_flat: np.ndarray,
    numeric: np.ndarray,
    step: float,
    floor: float,
) -> ParamResult:
    if len(entries) == 0:
        return ParamResult(name, shape, 0, 0.0, (), 0.0, 0.0, 0.0, 0.0, step, floor, Verdict.PASS)
    analytic = analytic_flat[entries]
    errors = relative_error(analytic, numeric, floor)
    worst = int(np.argmax(errors))
    max_error = float(errors[worst])
    note = ""
    if not np.all(np.isfinite(analytic)):
        verdict, note = Verdict.FAIL, "the analytic gradient is not finite"
    elif not np.all(np.isfinite(numeric)):
        verdict, note = Verdict.INCONCLUSIVE, "the loss is not finite near this point"
    elif max_error < PASS_BELOW:
        verdict = Verdict.PASS
    elif max_error > FAIL_ABOVE:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    return ParamResult(
        name=name,
        shape=tuple(shape),
        checked=len(entries),
        max_rel_error=max_error,
        worst_index=tuple(int(i) for i in np.unravel_index(entries[worst], shape)),
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        frac_failing=float(np.mean(errors > FAIL_ABOVE)),
        norm_rel_error=_norm_relative_error(analytic, numeric),
        step=step,
        floor=floor,
        verdict=verdict,
        note=note,
    )


def _norm_relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    # the whole-tensor view: insensitive to single tiny entries, useful next to the elementwise max
    with np.errstate(invalid="ignore"):
        total = float(np.linalg.norm(analytic) + np.linalg.norm(numeric))
        value = float(np.linalg.norm(analytic - numeric)) / total if total > 0 else 0.0
    return value if np.isfinite(value) else float("inf")

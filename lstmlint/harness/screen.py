"""A quick first test of the repair search's candidates, before the full gradient check.

An edit of the backward leaves the loss as it was, so the central differences of the text the
search starts from hold for every candidate: a candidate needs one call of its backward, not a
fresh set of differences, to show whether a wrong gradient came close to them. Only candidates
that pass this go through the full check (``child._check``), which alone decides a repair.
The screen turns a candidate away only when the check would: when its loss moved, when it no
longer runs the way the check called the text (another way means other data, so another
loss), or when every gradient that was wrong is still far from the differences. Where it cannot
tell (the check remade its loss, other starting values), it lets the candidate through.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstmlint import gradcheck as gc
from lstmlint.harness.repair import CLOSER, decades

Screen = Callable[[str], bool]


def _let_through(text: str) -> bool:
    return True


def screen_for(
    bind: Callable[[str], tuple],
    text: str,
    outcome: dict,
    entries: int,
    steps: tuple[float, ...],
) -> Screen:
    """The screen for candidates edited from ``text``, whose check gave ``outcome`` with
    differences at ``steps``. ``bind`` loads a text and returns the binding the check used for
    it (loss, gradients, parameters), or raises."""
    wrong = [n for n, p in outcome["params"].items() if p["verdict"] != "PASS"]
    try:
        loss_fn, grads_fn, params = bind(text)
        work = {n: np.array(v, dtype=np.float64, order="C") for n, v in params.items()}
        base = gc._loss(loss_fn, work)
        references: dict[str, list[tuple]] = {}
        for name in wrong:
            sampled = gc._entries(name, work[name].size, entries, 0)
            references[name] = []
            for step in steps:  # the check keeps the best verdict over its steps
                numeric = gc._central_differences(loss_fn, work, name, sampled, step)
                noise = gc.NOISE_ULPS * np.finfo(np.float64).eps * abs(base) / step
                floor = max(gc.MAGNITUDE_FLOOR, noise / gc.PASS_BELOW)
                references[name].append((sampled, numeric, floor))
        own = _errors(grads_fn({n: v.copy() for n, v in work.items()}), work, references)
    except MemoryError:
        raise
    except Exception:  # the screen only saves time: without it every candidate is checked
        return _let_through
    if not all(np.all(np.isfinite(r[1])) for at in references.values() for r in at):
        return _let_through

    def may_repair(candidate: str) -> bool:
        try:
            loss_fn, grads_fn, params = bind(candidate)
            if set(params) != set(work) or not all(
                np.array_equal(params[n], work[n]) for n in work
            ):
                return True  # other starting values: the differences above do not hold
            loss = gc._loss(loss_fn, {n: v.copy() for n, v in work.items()})
            if abs(loss - base) > 1e-9 * max(1.0, abs(base)):
                return False  # the search rejects a moved loss whatever its gradients
            grads = grads_fn({n: v.copy() for n, v in work.items()})
        except MemoryError:
            raise
        except Exception:
            # the full check would call it another way, on other data: never the same loss
            return False
        errors = _errors(grads, work, references)
        if any(e[0] <= gc.FAIL_ABOVE for e in errors.values()):
            return True
        return _nearer(own, errors)

    return may_repair


def _errors(grads: dict, work: dict, references: dict) -> dict[str, tuple[float, float]]:
    """Of each gradient in ``references``, over its sampled entries and at the nearest of the
    steps: the largest relative error, and the distance of the entries as one vector
    (``|a - n| / (|a| + |n|)``); both infinite where the gradient is missing, misshapen or not
    finite."""
    found = {}
    for name, at_steps in references.items():
        value = np.asarray(grads.get(name), dtype=np.float64)
        found[name] = (np.inf, np.inf)
        if value.shape != work[name].shape:
            continue
        for sampled, numeric, floor in at_steps:
            analytic = value.reshape(-1)[sampled]
            errors = gc.relative_error(analytic, numeric, floor)
            if not np.all(np.isfinite(errors)):
                continue
            size = np.linalg.norm(analytic) + np.linalg.norm(numeric)
            distance = float(np.linalg.norm(analytic - numeric) / max(size, floor))
            error = float(np.max(errors))
            found[name] = (min(found[name][0], error), min(found[name][1], distance))
    return found


def _nearer(before: dict, after: dict) -> bool:
    """Whether a candidate may be a step of the search (``repair._closer``): its wrong gradients
    together nearer the differences by half what the search asks."""
    was = sum(e[1] for e in before.values())
    now = sum(e[1] for e in after.values())
    if not np.isfinite(was) or not np.isfinite(now):
        return False
    return now == 0 or decades(was, now) >= CLOSER / 2

"""The child process that runs a user's own forward and backward: ``python -m lstmlint.harness.child``.

It reads one job (JSON on stdin), caps its own memory, and for each problem gradient-checks the
original code, then the code with every known fix, then the code with every fix but one, one
finding at a time. Only the reduced modules (definitions and simple
constants, see ``extract``) are executed; what the user's code prints is captured and dropped.
The answer is one JSON object on the real stdout.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import os
import re
import sys
import time
import types
from pathlib import Path
from typing import Any

from lstmlint.harness.extract import reduce_module, restrict

# the builtins the user's code runs with: Python 3's, and the Python 2 name for `range` that
# course solutions written for both still use inside their loops (`for t in xrange(T)`)
BUILTINS = types.ModuleType("builtins")
vars(BUILTINS).update({**vars(builtins), "xrange": range})
# float32 arrays asked for by name (`dtype='f'`, `np.float32`), which a gradient check cannot
# compare: the same names for float64, spelled with as many characters, so that every
# position in the text stays where it was
SINGLE = re.compile(r"\bfloat32\b|(?<=dtype=)(['\"])f\1|(?<=astype\()(['\"])f\2")
MAX_ENTRIES = 6  # entries sampled per parameter: a wrong factor shows up in all of them
STEPS = (1e-5, 1e-6)


def _limit(megabytes: int) -> None:
    """A memory cap, and no byte written to any file: whatever the checks missed cannot change
    a file (writing raises OSError instead of killing the process)."""
    try:
        import resource
        import signal

        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    except (ImportError, ValueError, OSError, AttributeError):
        pass  # not on this platform: the time limit and the checks still hold


def _stub_clipping(namespace: dict) -> None:
    # gradient clipping rescales the gradients the check compares, so it is switched off
    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and "clip" in name.lower():
            namespace[name] = lambda *args, **kwargs: args[0] if args else None


def in_float64(text: str) -> str:
    """``text`` computing in float64 where it asks for float32 arrays by name."""
    return SINGLE.sub(
        lambda m: "float64" if m.group(0) == "float32" else m.group(0)[0] + "d" + m.group(0)[0],
        text,
    )


def _load(tree: ast.Module, path: str, namespace: dict) -> None:
    """Run the kept statements one by one. A top-level value that fails (a demonstration's
    ``cache = rnn_cell_forward(x, a, parameters)`` whose dict was filled by statements that
    were dropped) is left unbound, as if it had been dropped too; definitions never fail."""
    for stmt in tree.body:
        code = compile(ast.Module(body=[stmt], type_ignores=[]), path, "exec")
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            try:
                exec(code, namespace)
            except MemoryError:
                raise
            except Exception:  # the names it binds stay unbound: what needs them says so
                continue
        else:
            exec(code, namespace)


class Loader:
    def __init__(self, job: dict) -> None:
        self.job = job
        self.folder = Path(job["path"]).parent
        self.modules: dict[str, types.ModuleType] = {}

    def _bind(self, reduced, namespace: dict) -> None:
        for module, name, bound in reduced.siblings:
            loaded = self.sibling(module)
            if loaded is None:
                continue
            if name is None:
                namespace[bound] = loaded
            elif name == "*":
                public = getattr(loaded, "__all__", None)
                public = public or [n for n in vars(loaded) if not n.startswith("_")]
                namespace.update({n: getattr(loaded, n) for n in public if hasattr(loaded, n)})
            elif hasattr(loaded, name):
                namespace[bound] = getattr(loaded, name)

    def sibling(self, module: str) -> types.ModuleType | None:
        if module not in self.modules:
            text = self.job["siblings"].get(module)
            self.modules[module] = None  # an import cycle ends here
            if text is None:
                return None
            made = types.ModuleType(module)
            made.__file__ = str(self.folder / (module.replace(".", "/") + ".py"))
            made.__dict__["__builtins__"] = BUILTINS
            reduced = reduce_module(in_float64(text), self.folder, self.job["keep_imports"])
            self._bind(reduced, made.__dict__)
            _load(reduced.tree, made.__file__, made.__dict__)
            _stub_clipping(made.__dict__)
            self.modules[module] = made
        return self.modules[module]

    def main(self, text: str) -> dict:
        reduced = reduce_module(
            in_float64(text), self.folder, self.job["keep_imports"], self.job.get("unfit", ())
        )
        if self.job.get("entries") is not None:  # what the entry points reach, and no more
            reduced = restrict(reduced, self.job["entries"])
        namespace: dict[str, Any] = {
            "__name__": "lstmlint_checked_module",
            "__file__": self.job["path"],
            "__builtins__": BUILTINS,
        }
        self._bind(reduced, namespace)
        _load(reduced.tree, self.job["path"], namespace)
        _stub_clipping(namespace)
        return namespace


SPREAD = 0.5  # the scale of the second check's parameter values
# A loss near zero made of values near one (-log p with p near 1) rounds like those values,
# not like itself, so the check's noise allowance (which scales with the loss) is too small
# and exact gradients land just above PASS_BELOW; no gradient bug comes near this.
EXACT_BELOW = 1e-6
DECAY_STEP = 1e-5
# weight decay is a small multiple of the weight; a larger one is a wrong gradient
# (``2.5 * W`` where the loss gives ``2 * W``), not a penalty
MAX_DECAY = 0.1


def _at_spread_values(loss_fn, grads_fn, params: dict) -> dict:
    """The gradient check again at parameter values of order one (seeded normal draws of the
    same shapes): at a file's own tiny initial weights tanh(c) is c and c ** 2 vanishes, so a
    wrong derivative can pass. {} when the code does not run there (overflow, say)."""
    import numpy as np

    from lstmlint.gradcheck import gradcheck

    spread = _spread_point(params)
    try:
        with np.errstate(all="ignore"):
            if not np.isfinite(loss_fn({k: v.copy() for k, v in spread.items()})):
                return {}
            report = gradcheck(
                loss_fn, _copied_out(grads_fn), spread, max_entries=MAX_ENTRIES, steps=STEPS
            )
    except MemoryError:
        raise
    except Exception:  # the code needs values like its own: the first check stands alone
        return {}
    return {r.name: r for r in report.results}


def _spread_point(params: dict) -> dict:
    import numpy as np

    rng = np.random.default_rng(1)
    return {k: rng.normal(0.0, SPREAD, np.shape(v)) for k, v in params.items()}


def _verdict(first, spread) -> dict:
    """A parameter's verdict: the check at the file's own values, except that a gradient exact
    there but not at spread values is INCONCLUSIVE. Never FAIL from the spread alone: code
    that clips its gradients inline, or saturates, can disagree there while correct."""
    verdict = {
        "error": first.max_rel_error,
        "verdict": _graded(first),
        "distance": first.norm_rel_error,  # how far the whole gradient is: the repair's steps
    }
    if spread is not None and verdict["verdict"] == "PASS" and _graded(spread) != "PASS":
        return {
            "error": spread.max_rel_error,
            "verdict": "INCONCLUSIVE",
            "distance": spread.norm_rel_error,
        }
    return verdict


def _graded(result) -> str:
    """The check's verdict, with an inconclusive error below ``EXACT_BELOW`` counted as exact."""
    value = result.verdict.value
    if value == "INCONCLUSIVE" and result.max_rel_error < EXACT_BELOW:
        return "PASS"
    return value


def _check(loader: Loader, problem: dict, text: str, preferred: str | None) -> dict:
    import numpy as np

    from lstmlint.gradcheck import gradcheck
    from lstmlint.harness.shapes import SHAPES, NoBinding

    namespace = loader.main(text)
    reasons = []
    candidates = list(SHAPES[problem["kind"]](problem, namespace, np.random.default_rng(0)))
    # the preferred way may carry what the check found about it (", gradients averaged ...")
    candidates.sort(key=lambda c: not (preferred or "").startswith(c[3]))
    for loss_fn, grads_fn, params, how in candidates:
        try:
            changing = _not_deterministic(loss_fn, _copied_out(grads_fn), params)
            if changing:
                return {"status": "error", "reason": changing, "how": how}
            report = gradcheck(
                loss_fn, _copied_out(grads_fn), params, max_entries=MAX_ENTRIES, steps=STEPS
            )
            loss_fn, report, how = _averaged_if_closer(loss_fn, grads_fn, params, report, how)
            # the second check can only make a passing gradient inconclusive
            passing = any(r.verdict.value == "PASS" for r in report.results)
            spread = _at_spread_values(loss_fn, grads_fn, params) if passing else {}
            loss_fn, report, spread, how = _penalised_if_closer(
                loss_fn, grads_fn, params, report, spread, how
            )
            loss = float(loss_fn({k: v.copy() for k, v in params.items()}))
        except MemoryError:
            raise
        except (NoBinding, Exception) as exc:  # this way of calling does not fit; try the next
            reasons.append(f"{how}: {exc.__class__.__name__}: {exc}")
            continue
        if in_float64(text) != text:
            how += ", its float32 arrays made float64"
        return {
            "status": "ok",
            "how": how,
            "loss": loss,
            "params": {r.name: _verdict(r, spread.get(r.name)) for r in report.results},
        }
    if len(reasons) > 1:
        return {
            "status": "error",
            "reason": f"none of {len(reasons)} input formats fit; the first, {reasons[0]}",
        }
    return {"status": "error", "reason": reasons[0] if reasons else "no way to call it"}


def _averaged_if_closer(loss_fn, grads_fn, params: dict, report, how: str):
    """A loss made up over a batch of rows (``batch_rows``) is their sum; code that averages
    its gradients over the batch is right for their mean. The mean is taken when it makes more
    gradients exact: which of the two the training loop uses, the code alone does not say."""
    from lstmlint.gradcheck import gradcheck

    rows = getattr(loss_fn, "batch_rows", 1)
    if rows <= 1 or all(r.verdict.value == "PASS" for r in report.results):
        return loss_fn, report, how

    def averaged(p):
        return loss_fn(p) / rows

    mean = gradcheck(averaged, _copied_out(grads_fn), params, max_entries=MAX_ENTRIES, steps=STEPS)
    exact = [sum(r.verdict.value == "PASS" for r in x.results) for x in (report, mean)]
    if exact[1] > exact[0]:
        return averaged, mean, f"{how}, gradients averaged over its {rows} rows"
    return loss_fn, report, how


def _penalised_if_closer(loss_fn, grads_fn, params: dict, report, spread: dict, how: str):
    """A backward that adds weight decay (``dW += 2 * l2 * W``) differentiates the loss plus an
    L2 penalty that lives elsewhere (a training loop, a regularisation-loss function). Where a
    gradient is off from the loss's by one constant times its own parameter at every sampled
    entry (at the file's values, or at spread values for a parameter that starts at zero), that
    penalty is added to the loss when it makes more gradients exact."""
    import numpy as np

    from lstmlint.gradcheck import gradcheck

    wrong = [r.name for r in report.results if r.verdict.value != "PASS"]
    late = [n for n, r in spread.items() if n not in wrong and r.verdict.value != "PASS"]
    decay = {}
    for names, where in ((wrong, params), (late, _spread_point(params))):
        if not names:
            continue
        analytic = _copied_out(grads_fn)({k: v.copy() for k, v in where.items()})
        for name in names:
            rate = _decay_rate(loss_fn, where, name, analytic[name])
            if rate is not None:
                decay[name] = rate
    if not decay:
        return loss_fn, report, spread, how

    def penalised(p):
        return loss_fn(p) + sum(0.5 * rate * np.sum(p[k] ** 2) for k, rate in decay.items())

    again = gradcheck(
        penalised, _copied_out(grads_fn), params, max_entries=MAX_ENTRIES, steps=STEPS
    )
    passing = any(r.verdict.value == "PASS" for r in again.results)
    spread_again = _at_spread_values(penalised, grads_fn, params) if passing else {}

    def exact(first, second) -> int:
        return sum(_verdict(r, second.get(r.name))["verdict"] == "PASS" for r in first.results)

    if exact(again, spread_again) > exact(report, spread):
        named = ", ".join(decay)
        return (
            penalised,
            again,
            spread_again,
            f"{how}, with the L2 penalty its backward adds on {named}",
        )
    return loss_fn, report, spread, how


def _decay_rate(loss_fn, where: dict, name: str, gradient) -> float | None:
    """``l`` when ``gradient`` (of ``name`` at ``where``) is the loss's plus ``l * W`` at every
    sampled entry."""
    import numpy as np

    value = where[name].reshape(-1)
    entries = [i for i in np.argsort(-np.abs(value))[:MAX_ENTRIES] if abs(value[i]) > 1e-3]
    if len(entries) < 2:
        return None
    analytic = np.asarray(gradient).reshape(-1)
    first = None
    for index in entries:  # most wrong gradients disagree at the second entry: stop there
        work = {k: v.copy() for k, v in where.items()}
        flat = work[name].reshape(-1)  # a view of a fresh copy
        flat[index] = value[index] + DECAY_STEP
        up = loss_fn(work)
        flat[index] = value[index] - DECAY_STEP
        down = loss_fn(work)
        rate = (analytic[index] - (up - down) / (2 * DECAY_STEP)) / value[index]
        if first is None:
            if not 1e-6 <= abs(rate) <= MAX_DECAY:
                return None
            first = rate
        elif abs(rate - first) > 1e-4 * abs(first):
            return None
    return float(first)


def _copied_out(grads_fn):
    """Gradients copied as soon as they are returned: code that returns its own accumulators
    (``return self.dW``) and resets them on the next call must not change them afterwards.
    A gradient that holds its parameter's entries in order with axes of length 1 added or
    left out (``db = da.sum(axis=0, keepdims=True)`` of a bias of shape ``(4H,)``) is read in
    its parameter's shape."""
    import numpy as np

    from lstmlint.harness.shapes import same_vector

    def copied(p: dict) -> dict:
        found = {}
        for name, value in grads_fn(p).items():
            gradient = np.array(value, dtype=np.float64)
            shape = np.shape(p.get(name))
            if name in p and gradient.shape != shape and same_vector(gradient.shape, shape):
                gradient = gradient.reshape(shape)
            found[name] = gradient
        return found

    return copied


def _not_deterministic(loss_fn, grads_fn, params: dict) -> str | None:
    """Why two calls on the same inputs disagree (a random draw that no seed fixes), or None:
    a gradient check of such code would blame its gradients for the draws."""
    import numpy as np

    losses = [loss_fn({k: v.copy() for k, v in params.items()}) for _ in range(2)]
    if not np.isclose(losses[0], losses[1], rtol=1e-10, atol=0.0, equal_nan=True):
        return (
            f"your forward is not deterministic: two calls on the same inputs gave losses "
            f"{losses[0]:.6g} and {losses[1]:.6g} (a random draw inside it?)"
        )
    first, second = (grads_fn({k: v.copy() for k, v in params.items()}) for _ in range(2))
    for name, value in first.items():
        other = second.get(name)
        if other is None or not np.allclose(value, other, rtol=1e-10, atol=0.0, equal_nan=True):
            return (
                f"your backward is not deterministic: two calls on the same inputs gave "
                f"different gradients for {name} (a random draw inside it?)"
            )
    return None


def _passes(outcome: dict) -> bool:
    return outcome["status"] == "ok" and all(
        p["verdict"] == "PASS" for p in outcome["params"].values()
    )


def _repair(
    loader: Loader,
    problem: dict,
    job: dict,
    answer: dict,
    how: str | None,
    until: float,
    earlier: list[dict] | None = None,
) -> None:
    """Search single edits of the backward (``repair``) from the text with every known fix, or
    from the text as written when the fixes do not run, while some gradient is still wrong; the
    search ends by ``until`` (a ``time.monotonic()`` instant) whatever its own budget. The
    repairs found for ``earlier`` problems (answers) are tried first: a step function's bug is
    also the bug of the time loop that calls it."""
    from lstmlint.harness import repair
    from lstmlint.harness.screen import screen_for

    budget = min(job["repair_budget"], until - time.monotonic())
    if budget <= 0:
        return
    fixed = answer.get("all_fixed")
    base = "all_fixed" if fixed and fixed["status"] == "ok" else "original"
    if answer[base]["status"] != "ok" or _passes(answer[base]):
        return

    def check(text: str) -> dict:
        return _check(loader, problem, text, how)

    text, start, shared = job[base], answer[base], []
    tried = [r for a in earlier or [] if a.get("repair_base") == base for r in a["repairs"]]
    began = time.monotonic()
    for found in tried:
        candidate = repair.apply_all(text, found["edits"])
        try:
            after = check(candidate)
        except Exception:  # an edit that does not run here repairs nothing here
            continue
        if repair.improves(after, start):
            shared.append({**found, "before": start, "after": after})
            text, start = candidate, after
    answer["repairs"], answer["repair_base"] = shared, base
    if tried:
        budget -= time.monotonic() - began
    if _passes(start) or budget <= 0:
        return
    edited = {
        line for r in shared for e in r["edits"] for line in range(e["line"], e["end_line"] + 1)
    }
    answer["repairs"] += repair.search(
        text,
        problem["lines"],
        check,
        start,
        budget,
        [],
        lambda text, outcome: screen_for(
            lambda t: _binding(loader, problem, t, outcome["how"]),
            text,
            outcome,
            MAX_ENTRIES,
            STEPS,
        ),
        kept=edited,
    )


def _binding(loader: Loader, problem: dict, text: str, how: str) -> tuple:
    """The loss, gradients and parameters ``_check`` used for ``text`` when it said ``how``;
    raises where its loss was remade (averaged, penalised), which the screen cannot follow."""
    import numpy as np

    from lstmlint.harness.shapes import SHAPES

    namespace = loader.main(text)
    for loss_fn, grads_fn, params, way in SHAPES[problem["kind"]](
        problem, namespace, np.random.default_rng(0)
    ):
        if way == how:
            return loss_fn, _copied_out(grads_fn), params
    raise LookupError(f"no way of calling it is {how!r}")


def run(job: dict) -> dict:
    loader = Loader(job)
    # the search gets no more than half the file's time limit, so that on a slow machine the
    # check's own verdict still comes back in time
    until = time.monotonic() + job.get("time_limit", float("inf")) / 2
    answers = []
    for problem in job["problems"]:
        answer: dict[str, Any] = {}
        try:
            answer["original"] = _check(loader, problem, job["original"], None)
            how = answer["original"].get("how")
            if answer["original"]["status"] == "ok" and not _passes(answer["original"]):
                if job["all_fixed"] is not None:
                    answer["all_fixed"] = _check(loader, problem, job["all_fixed"], how)
                    # every fix but one: which fix was needed (all of them make the code
                    # exact), or which one is wrong (all of them do not)
                    if answer["all_fixed"]["status"] == "ok":
                        answer["without"] = {
                            key: _check(loader, problem, text, how)
                            for key, text in job["without"].items()
                        }
                if job.get("repair_budget"):
                    _repair(loader, problem, job, answer, how, until, answers)
        except MemoryError:
            raise
        except Exception as exc:  # the user's module itself failed to load
            answer.setdefault(
                "original", {"status": "error", "reason": f"{exc.__class__.__name__}: {exc}"}
            )
        answers.append(answer)
    return {"problems": answers}


def answer(job: dict) -> dict:
    """The answer to ``job``, in this process (which it limits): what the user's code prints
    is captured and dropped, and nothing it raises escapes."""
    sys.dont_write_bytecode = True
    _limit(job["memory_mb"])
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            return run(job)
        except MemoryError:
            return {"error": f"your code needed more than {job['memory_mb']} MiB"}
        except BaseException as exc:  # SystemExit from user code included
            return {"error": f"{exc.__class__.__name__}: {exc}"}


def main() -> None:
    job = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    found = answer(job)
    real_stdout.write(json.dumps(found, default=float))
    real_stdout.flush()
    os._exit(0)  # no atexit handler of user code runs


if __name__ == "__main__":
    main()

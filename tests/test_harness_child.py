"""The child that runs the user's own code, exercised in this process.

The end-to-end tests (`test_harness.py`, `test_sandbox.py`) run the child where lstmlint runs it,
in a process of its own. Here the same job is answered in the test process instead (the code
run is the project's own fixtures), so that what the child does can be seen directly: its limits,
what it swallows, and each step of a check.
"""

from __future__ import annotations

import json
import math
import resource
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import run

import lstmlint.harness as harness
from lstmlint.harness import child
from lstmlint.registry import rule_by_code

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TRANSPOSED = (
    rule_by_code("LST900")
    .invalid[0]
    .code.replace("np.log(ps[t][targets[t], 0])", "np.log(ps[t][targets[t], 0] + 1e-12)")
)
CORRECT = (
    rule_by_code("LST900")
    .valid[0]
    .code.replace("np.log(ps[t][targets[t], 0])", "np.log(ps[t][targets[t], 0] + 1e-12)")
)
RETURN = "    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]\n"
assert RETURN in TRANSPOSED and RETURN in CORRECT


@pytest.fixture
def limits(monkeypatch) -> list[tuple]:
    """The limits the child sets, recorded instead of set: this process must keep its own."""
    calls: list[tuple] = []
    monkeypatch.setattr(resource, "setrlimit", lambda *args: calls.append(("setrlimit", *args)))
    monkeypatch.setattr(signal, "signal", lambda *args: calls.append(("signal", *args)))
    return calls


@pytest.fixture
def in_process(monkeypatch) -> list[dict]:
    """Answer every harness job in this process; the jobs are returned for inspection."""
    jobs: list[dict] = []

    def launch(job: dict, timeout: float) -> dict:
        jobs.append(job)
        return child.run(job)

    monkeypatch.setattr(harness, "_launch", launch)
    return jobs


def _json(capsys, *args: str) -> list[dict]:
    _, out, _ = run(capsys, "--format", "json", "--no-cache", "--show-refuted", *args)
    return json.loads(out)


def test_the_child_caps_its_memory_and_may_write_no_byte(limits: list[tuple]) -> None:
    child._limit(300)
    assert limits == [
        ("setrlimit", resource.RLIMIT_AS, (300 * 2**20, 300 * 2**20)),
        ("signal", signal.SIGXFSZ, signal.SIG_IGN),  # a write raises OSError, never kills
        ("setrlimit", resource.RLIMIT_FSIZE, (0, 0)),
    ]


def test_without_the_resource_module_the_child_still_runs(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows
    child._limit(300)  # no exception: the time limit and the checks still hold


def test_answer_limits_itself_and_swallows_what_user_code_prints(
    limits: list[tuple], capsys, tmp_path: Path
) -> None:
    path = tmp_path / "rnn.py"
    text = TRANSPOSED.replace(RETURN, "    print('noise')\n" + RETURN)
    path.write_text(text)
    job = _job(path, text)
    found = child.answer(job)
    assert limits[0] == ("setrlimit", resource.RLIMIT_AS, (777 * 2**20, 777 * 2**20))
    assert capsys.readouterr() == ("", "")
    (problem,) = found["problems"]
    assert problem["original"]["status"] == "ok"
    assert problem["original"]["params"]["Whh"]["verdict"] == "FAIL"
    assert problem["original"]["params"]["Wxh"]["verdict"] == "PASS"


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("raise MemoryError", "your code needed more than 777 MiB"),
        ("raise SystemExit(3)", "SystemExit: 3"),
        ("raise KeyboardInterrupt('stop')", "KeyboardInterrupt: stop"),
    ],
)
def test_answer_turns_what_escapes_into_a_reason(
    limits: list[tuple], tmp_path: Path, statement: str, error: str
) -> None:
    path = tmp_path / "rnn.py"
    text = TRANSPOSED.replace(RETURN, f"    {statement}\n" + RETURN)
    path.write_text(text)
    assert child.answer(_job(path, text)) == {"error": error}


def _job(path: Path, text: str) -> dict:
    from lstmlint.harness import extract, plan

    return {
        "path": str(path),
        "keep_imports": False,
        "memory_mb": 777,
        "siblings": {},
        "problems": plan.find_problems(extract.reduce_module(text, path.parent, False)),
        "original": text,
        "all_fixed": None,
        "without": {},
    }


def test_a_module_that_fails_to_load_is_an_error_of_the_original(tmp_path: Path) -> None:
    path = tmp_path / "rnn.py"
    # a definition that fails (a top-level value that fails is only left unbound)
    text = TRANSPOSED + "\n\ndef broken(shape=np.zeros((2, -1))):\n    return shape\n"
    path.write_text(text)
    (problem,) = child.run(_job(path, text))["problems"]
    assert problem["original"]["status"] == "error"
    assert problem["original"]["reason"].startswith("ValueError: ")


# --- a whole check, with the child in this process -------------------------------------------


def test_every_finding_is_confirmed_by_its_own_fix(
    in_process: list[dict], tmp_path: Path, capsys
) -> None:
    path = tmp_path / "rnn.py"
    path.write_text((FIXTURES / "minchar" / "rnn_dict_buggy.py").read_text())
    found = _json(capsys, str(path))
    assert {d["code"] for d in found} == {"LST206", "LST102", "LST101"}
    for diag in found:
        confirmation = diag["confirmation"]
        assert (confirmation["status"], confirmation["method"]) == ("confirmed", "your-code")
        assert confirmation["evidence"]
        assert all(e["error"] > 1e-7 and e["fixed_error"] < 1e-7 for e in confirmation["evidence"])
    (job,) = in_process
    assert job["all_fixed"] is not None and sorted(job["without"]) == ["0", "1", "2"]


def test_an_error_no_rule_explains_is_found_in_process(
    in_process: list[dict], tmp_path: Path, capsys
) -> None:
    path = tmp_path / "rnn.py"
    path.write_text(TRANSPOSED)
    found = _json(capsys, str(path))
    assert [(d["code"], d["confirmation"]["evidence"][0]["param"]) for d in found] == [
        ("LST900", "Whh")
    ]
    correct = tmp_path / "correct.py"
    correct.write_text(CORRECT)
    assert _json(capsys, str(correct)) == []
    assert len(in_process) == 2  # both were run


def test_gradient_clipping_is_bypassed(in_process: list[dict], tmp_path: Path, capsys) -> None:
    # clipping to a tiny bound would make every gradient wrong; the check compares them unclipped
    clip = (
        "    dWxh, dWhh, dWhy, dbh, dby = [clip_grads(d) for d in (dWxh, dWhh, dWhy, dbh, dby)]\n"
    )
    helper = "\n\ndef clip_grads(d):\n    return np.clip(d, -1e-9, 1e-9)\n"
    path = tmp_path / "rnn.py"
    path.write_text(CORRECT.replace(RETURN, clip + RETURN) + helper)
    assert _json(capsys, str(path)) == []
    assert len(in_process) == 1


def test_a_sibling_module_is_loaded_for_the_check(
    in_process: list[dict], tmp_path: Path, capsys
) -> None:
    (tmp_path / "acts.py").write_text("def identity(x):\n    return x * 1.0\n")
    for name, header, call in (
        ("from_import.py", "from acts import identity\n", "identity(loss)"),
        ("module_import.py", "import acts\n", "acts.identity(loss)"),
        ("aliased.py", "from acts import identity as same\n", "same(loss)"),
    ):
        path = tmp_path / name
        path.write_text(header + TRANSPOSED.replace(RETURN, f"    loss = {call}\n" + RETURN))
        found = _json(capsys, str(path))
        assert [d["code"] for d in found] == ["LST900"], name


def test_code_with_random_draws_is_not_blamed(
    in_process: list[dict], tmp_path: Path, capsys
) -> None:
    noise = "    loss = loss + 1e-3 * np.random.default_rng().standard_normal()\n"
    path = tmp_path / "rnn.py"
    path.write_text(TRANSPOSED.replace(RETURN, noise + RETURN))
    assert [d["code"] for d in _json(capsys, str(path))] == []
    grads = "    dWxh = dWxh + 1e-3 * np.random.default_rng().standard_normal(dWxh.shape)\n"
    path.write_text(CORRECT.replace(RETURN, grads + RETURN))
    assert [d["code"] for d in _json(capsys, str(path))] == []
    assert len(in_process) == 2


def test_gradients_returned_by_reference_are_copied(tmp_path: Path) -> None:
    import numpy as np

    store = {"W": np.ones(2)}

    def grads(params: dict) -> dict:
        store["W"] += 1  # the next call changes the array it returned before
        return store

    first = child._copied_out(grads)({})
    child._copied_out(grads)({})
    assert first["W"].tolist() == [2.0, 2.0]
    assert child._not_deterministic(lambda p: 1.0, child._copied_out(grads), {"W": np.ones(2)})


# --- each step of a check, with the gradients written by hand ------------------------------------


class _Loaded:
    """A loader whose module is given: `_check` asks it for the namespace of the text."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def main(self, text: str) -> dict:
        self.texts.append(text)
        return {"text": text}


def _quadratic(factor: float = 2.0) -> tuple:
    """The loss sum(W ** 2) and a gradient ``factor * W`` (right for factor 2)."""
    import numpy as np

    params = {"W": np.arange(1.0, 4.0), "b": np.array([0.5])}

    def loss(p: dict) -> float:
        return float(np.sum(p["W"] ** 2) + np.sum(p["b"] ** 2))

    def grads(p: dict) -> dict:
        return {"W": factor * p["W"], "b": 2 * p["b"]}

    return loss, grads, params


class Shapes:
    """The candidates `_check` tries for a problem of kind "synthetic", and what it gave them."""

    def __init__(self) -> None:
        self.use: list[tuple] = []
        self.seen: list[tuple] = []

    def check(self, candidates: list[tuple], preferred: str | None = None) -> dict:
        """`_check` with these candidates and a loader whose module is given."""
        self.use = candidates
        loader = _Loaded()
        found = child._check(loader, {"kind": "synthetic"}, "text of the module", preferred)  # type: ignore[arg-type]
        assert loader.texts == ["text of the module"]
        return found


@pytest.fixture
def shapes(monkeypatch) -> Shapes:
    from lstmlint.harness import shapes as module

    made = Shapes()

    def synthetic(problem: dict, namespace: dict, rng) -> list:
        made.seen.append((problem, namespace, rng.random()))
        return list(made.use)

    monkeypatch.setitem(module.SHAPES, "synthetic", synthetic)
    return made


def test_a_check_reports_each_parameter_s_error_and_verdict(shapes: Shapes) -> None:
    import numpy as np

    loss, grads, params = _quadratic(factor=2.5)
    found = shapes.check([(loss, grads, params, "arrays")])
    assert found["status"] == "ok" and found["how"] == "arrays"
    assert {name: p["verdict"] for name, p in found["params"].items()} == {
        "W": "FAIL",
        "b": "PASS",
    }
    assert found["params"]["W"]["error"] == pytest.approx(0.2, rel=1e-4)  # |2.5 - 2| / 2.5
    assert found["params"]["b"]["error"] < 1e-7
    assert found["loss"] == 14.25  # the loss at the point checked: 1 + 4 + 9 + 0.25
    # the candidates are drawn from a generator seeded with 0, given the module's namespace
    ((problem, namespace, draw),) = shapes.seen
    assert problem == {"kind": "synthetic"} and namespace == {"text": "text of the module"}
    assert draw == np.random.default_rng(0).random()


def test_a_check_samples_six_entries_at_two_steps(shapes: Shapes, monkeypatch) -> None:
    import lstmlint.gradcheck as gradcheck

    calls: list[dict] = []
    real = gradcheck.gradcheck

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gradcheck, "gradcheck", spy)
    found = shapes.check([(*_quadratic(), "arrays")])
    assert found["status"] == "ok"
    # each gradient check (at the file's values, and again at spread values) is sampled
    assert calls
    assert all(kwargs == {"max_entries": 6, "steps": (1e-5, 1e-6)} for kwargs in calls)


def test_the_preferred_input_format_is_tried_first(shapes: Shapes) -> None:
    loss, grads, params = _quadratic()
    candidates = [(loss, grads, params, "lists"), (loss, grads, params, "arrays")]
    assert shapes.check(candidates, "arrays")["how"] == "arrays"
    assert shapes.check(candidates, "lists")["how"] == "lists"
    assert shapes.check(candidates, None)["how"] == "lists"  # else in the order found


def test_an_input_format_that_does_not_fit_gives_way_to_the_next(shapes: Shapes) -> None:
    from lstmlint.harness.shapes import NoBinding

    loss, grads, params = _quadratic()

    def unbound(p: dict) -> float:
        raise NoBinding("no hidden size")

    def wrong_keys(p: dict) -> dict:
        return {"V": p["W"]}

    fits = (loss, grads, params, "a batch")
    first, second = (unbound, grads, params, "lists"), (loss, wrong_keys, params, "arrays")
    found = shapes.check([first, second, fits])
    assert (found["status"], found["how"]) == ("ok", "a batch")
    found = shapes.check([first, second])
    assert found == {
        "status": "error",
        "reason": "none of 2 input formats fit; the first, lists: NoBinding: no hidden size",
    }
    found = shapes.check([second])
    assert found == {
        "status": "error",
        "reason": "arrays: KeyError: \"grads_fn returned no gradient for 'W'\"",
    }
    found = shapes.check([])
    assert found == {"status": "error", "reason": "no way to call it"}


def test_running_out_of_memory_ends_the_check(shapes: Shapes) -> None:
    loss, grads, params = _quadratic()

    def hog(p: dict) -> float:
        raise MemoryError

    with pytest.raises(MemoryError):
        shapes.check([(hog, grads, params, "lists"), (loss, grads, params, "arrays")])


def test_code_that_changes_between_two_calls_is_not_checked(shapes: Shapes) -> None:
    import numpy as np

    loss, _, params = _quadratic()
    store = {"W": np.zeros(3), "b": np.zeros(1)}

    def accumulating(p: dict) -> dict:  # adds to its own gradients and returns them
        store["W"] += 2 * p["W"]
        store["b"] += 2 * p["b"]
        return store

    found = shapes.check([(loss, accumulating, params, "lists"), (*_quadratic(), "x")])
    assert found == {
        "status": "error",
        "reason": "your backward is not deterministic: two calls on the same inputs gave "
        "different gradients for W (a random draw inside it?)",
        "how": "lists",
    }


def test_gradients_a_later_forward_resets_are_checked_as_returned(shapes: Shapes) -> None:
    import numpy as np

    loss, _, params = _quadratic()
    store: dict = {}

    def forward(p: dict) -> float:
        for value in store.values():
            value[:] = 0.0  # the next forward resets the accumulators it returned
        return loss(p)

    def backward(p: dict) -> dict:
        store["W"], store["b"] = 2 * p["W"], 2 * p["b"]
        return store

    found = shapes.check([(forward, backward, params, "lists")])
    assert {name: p["verdict"] for name, p in found["params"].items()} == {
        "W": "PASS",
        "b": "PASS",
    }
    assert np.all(store["W"] == 0.0)  # they were reset after they were copied


def test_determinism_is_checked_on_the_loss_and_on_every_gradient() -> None:
    import numpy as np

    params = {"W": np.ones(3)}
    calls: list[str] = []

    def losses(*values: float):
        queue = list(values)

        def loss(p: dict) -> float:
            calls.append("loss")
            p["W"] += 1.0  # a forward that updates its input must not move the next call
            return queue.pop(0)

        return loss

    def grads(*values: dict):
        queue = list(values)

        def grad(p: dict) -> dict:
            calls.append("grads")
            p["W"] *= 2.0
            return queue.pop(0)

        return grad

    same = {"W": np.ones(3)}
    assert child._not_deterministic(losses(1.0, 1.0), grads(same, same), params) is None
    assert calls == ["loss", "loss", "grads", "grads"]
    assert params["W"].tolist() == [1.0, 1.0, 1.0]
    nan = float("nan")
    assert child._not_deterministic(losses(nan, nan), grads(same, same), params) is None
    close = 1.0 + 1e-12  # within the relative tolerance of 1e-10
    assert child._not_deterministic(losses(1.0, close), grads(same, same), params) is None
    assert child._not_deterministic(losses(1.0, 1.5), grads(same, same), params) == (
        "your forward is not deterministic: two calls on the same inputs gave losses 1 and 1.5 "
        "(a random draw inside it?)"
    )
    for first, second in ((1e-3, 2e-3), (1.0, 1.0 + 1e-9), (1.0, nan), (0.0, 1e-300)):
        assert child._not_deterministic(losses(first, second), grads(same, same), params)
    for other in (
        {"W": np.ones(3) + 1e-9},
        {"W": np.full(3, 1e-3)},
        {"W": np.full(3, nan)},
        {"V": np.ones(3)},
    ):
        changing = child._not_deterministic(losses(1.0, 1.0), grads(same, other), params)
        assert changing == (
            "your backward is not deterministic: two calls on the same inputs gave different "
            "gradients for W (a random draw inside it?)"
        )
    tiny = {"W": np.ones(3) + 1e-12}
    assert child._not_deterministic(losses(1.0, 1.0), grads(same, tiny), params) is None
    nans = {"W": np.full(3, nan)}
    assert child._not_deterministic(losses(1.0, 1.0), grads(nans, dict(nans)), params) is None
    # a gradient only the second call returns is no disagreement
    more = {"W": np.ones(3), "V": np.zeros(2)}
    assert child._not_deterministic(losses(1.0, 1.0), grads(same, more), params) is None


def test_clipping_functions_are_replaced_by_the_identity() -> None:
    def clip_grads(d: float) -> float:
        return 0.0

    def ClipByNorm(d: float, bound: float = 1.0) -> float:
        return 0.0

    def softmax(d: float) -> float:
        return 0.0

    namespace: dict = {"clip_grads": clip_grads, "ClipByNorm": ClipByNorm, "softmax": softmax}
    namespace["clip_value"] = 5.0  # not a function
    child._stub_clipping(namespace)
    assert namespace["clip_grads"](3.0) == 3.0
    assert namespace["ClipByNorm"](4.0, bound=1e-9) == 4.0
    assert namespace["ClipByNorm"]() is None
    assert namespace["softmax"] is softmax
    assert namespace["clip_value"] == 5.0


# --- the order of the checks of one job, with `_check` answering from a table --------------------


def _exact() -> dict:
    return {"status": "ok", "how": "lists", "params": {"W": {"error": 1e-9, "verdict": "PASS"}}}


def _wrong(how: str = "lists") -> dict:
    return {"status": "ok", "how": how, "params": {"W": {"error": 0.5, "verdict": "FAIL"}}}


def _unsure() -> dict:
    return {
        "status": "ok",
        "how": "lists",
        "params": {"W": {"error": 1e-5, "verdict": "INCONCLUSIVE"}},
    }


FAILED = {"status": "error", "reason": "no way to call it"}


def _ran(
    monkeypatch,
    table: dict,
    *,
    fixed: str | None = "fixed",
    without: dict | None = None,
    repair_budget: float | None = None,
    time_limit: float | None = None,
):
    """`run` on a job of two problems, `_check` answering ``table[(problem, text)]``; the
    answer, and the checks made as (problem, text, preferred input format)."""
    asked: list[tuple] = []
    loaders: set[int] = set()

    def check(loader, problem: dict, text: str, preferred: str | None) -> dict:
        loaders.add(id(loader))
        assert loader.job is job
        asked.append((problem["name"], text, preferred))
        found = table[(problem["name"], text)]
        if isinstance(found, BaseException):
            raise found
        return found

    monkeypatch.setattr(child, "_check", check)
    job = {
        "path": "/nowhere/rnn.py",
        "problems": [{"name": "one"}, {"name": "two"}],
        "original": "as written",
        "all_fixed": fixed,
        "without": {"0": "without 0", "3": "without 3"} if without is None else without,
    }
    if repair_budget is not None:
        job["repair_budget"] = repair_budget
    if time_limit is not None:
        job["time_limit"] = time_limit
    found = child.run(job)
    assert len(loaders) == 1  # one loader for the job: sibling modules are loaded once
    return found, asked


def test_exact_code_and_code_that_cannot_be_called_are_checked_once(monkeypatch) -> None:
    found, asked = _ran(
        monkeypatch, {("one", "as written"): _exact(), ("two", "as written"): FAILED}
    )
    assert found == {"problems": [{"original": _exact()}, {"original": FAILED}]}
    assert asked == [("one", "as written", None), ("two", "as written", None)]


def test_inexact_code_is_checked_with_every_fix_and_every_fix_but_one(monkeypatch) -> None:
    table = {
        ("one", "as written"): _wrong("arrays"),
        ("one", "fixed"): _exact(),
        ("one", "without 0"): _wrong(),
        ("one", "without 3"): _exact(),
        ("two", "as written"): _unsure(),
        ("two", "fixed"): _wrong(),
        ("two", "without 0"): FAILED,
        ("two", "without 3"): _exact(),
    }
    found, asked = _ran(monkeypatch, table)
    assert found["problems"][0] == {
        "original": _wrong("arrays"),
        "all_fixed": _exact(),
        "without": {"0": _wrong(), "3": _exact()},
    }
    assert found["problems"][1]["without"] == {"0": FAILED, "3": _exact()}
    # the format the original was called with is tried first for its variants
    assert asked[:4] == [
        ("one", "as written", None),
        ("one", "fixed", "arrays"),
        ("one", "without 0", "arrays"),
        ("one", "without 3", "arrays"),
    ]
    assert asked[4:] == [
        ("two", "as written", None),
        ("two", "fixed", "lists"),
        ("two", "without 0", "lists"),
        ("two", "without 3", "lists"),
    ]


def test_no_fix_is_checked_when_the_fixes_did_not_all_apply_or_failed(monkeypatch) -> None:
    table = {("one", "as written"): _wrong(), ("two", "as written"): _wrong()}
    found, asked = _ran(monkeypatch, table, fixed=None)
    assert found == {"problems": [{"original": _wrong()}, {"original": _wrong()}]}
    assert len(asked) == 2
    table = {**table, ("one", "fixed"): FAILED, ("two", "fixed"): _wrong()}
    found, asked = _ran(monkeypatch, table, without={})
    assert found["problems"] == [
        {"original": _wrong(), "all_fixed": FAILED},
        {"original": _wrong(), "all_fixed": _wrong(), "without": {}},
    ]


def test_a_failure_while_checking_keeps_what_was_measured(monkeypatch) -> None:
    table = {
        ("one", "as written"): ValueError("bad shape"),
        ("two", "as written"): _wrong(),
        ("two", "fixed"): RuntimeError("broken fix"),
    }
    found, _ = _ran(monkeypatch, table)
    assert found == {
        "problems": [
            {"original": {"status": "error", "reason": "ValueError: bad shape"}},
            {"original": _wrong()},
        ]
    }
    table[("one", "as written")] = MemoryError()
    with pytest.raises(MemoryError):
        _ran(monkeypatch, table)


def test_answer_captures_both_streams_and_marks_no_bytecode(
    limits: list[tuple], monkeypatch, capsys
) -> None:
    import sys

    def noisy(job: dict) -> dict:
        print("out")
        print("err", file=sys.stderr)
        sys.stdout.write("written out")  # as code run with --confirm=exec may
        sys.stderr.write("written err")
        return {"problems": [job["memory_mb"]]}

    monkeypatch.setattr(child, "run", noisy)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert child.answer({"memory_mb": 5}) == {"problems": [5]}
    assert capsys.readouterr() == ("", "")
    assert sys.dont_write_bytecode is True
    assert limits[0] == ("setrlimit", resource.RLIMIT_AS, (5 * 2**20, 5 * 2**20))


def test_gradients_are_copied_as_float64() -> None:
    import numpy as np

    copied = child._copied_out(lambda p: {"W": [1, 2], "b": np.ones(2, dtype=np.float32)})({})
    assert {name: value.dtype for name, value in copied.items()} == {
        "W": np.float64,
        "b": np.float64,
    }


def test_repairs_are_searched_only_when_the_job_has_a_budget(monkeypatch) -> None:
    searched: list[tuple] = []
    limits: list[float] = []

    def repair(
        loader, problem: dict, job: dict, answer: dict, how: str | None, until, earlier: list
    ) -> None:
        assert loader.job is job  # the job's own loader: its siblings are loaded once
        assert earlier == []  # the first problem: no other problem's repairs to try first
        searched.append((problem["name"], job["repair_budget"], dict(answer), how))
        limits.append(until - time.monotonic())

    monkeypatch.setattr(child, "_repair", repair)
    table = {
        ("one", "as written"): _wrong("arrays"),
        ("one", "fixed"): _exact(),
        ("one", "without 0"): _wrong(),
        ("one", "without 3"): _exact(),
        ("two", "as written"): _exact(),
    }
    _ran(monkeypatch, table)
    assert searched == []
    _ran(monkeypatch, table, repair_budget=2.5)
    assert searched == [
        (
            "one",
            2.5,
            {
                "original": _wrong("arrays"),
                "all_fixed": _exact(),
                "without": {"0": _wrong(), "3": _exact()},
            },
            "arrays",
        )
    ]
    assert limits[0] == float("inf")  # a job without a time limit
    searched.clear()
    limits.clear()
    _ran(monkeypatch, table, repair_budget=2.5, time_limit=30.0)
    assert len(searched) == 1 and 14.0 < limits[0] <= 15.0  # half the file's time limit


def _outcome(*wrong: str) -> dict:
    return {
        "status": "ok",
        "how": "lists",
        "loss": 1.0,
        "params": {
            name: {"error": 0.5, "verdict": "FAIL"}
            if name in wrong
            else {"error": 1e-9, "verdict": "PASS"}
            for name in ("W", "U", "b")
        },
    }


def _swap(line: int, letter: str) -> dict:
    return {"line": line, "column": 1, "end_line": line, "end_column": 2, "replacement": letter}


def test_another_problem_s_repairs_are_tried_first_and_the_search_goes_on_from_them(
    monkeypatch,
) -> None:
    from lstmlint.harness import repair
    from lstmlint.harness import screen as screen_module

    outcomes = {
        "a\nb\nc\n": _outcome("W", "U"),
        "A\nb\nc\n": _outcome("U"),  # the first problem's first repair helps here too
        "A\nB\nc\n": _outcome("U", "b"),  # its second breaks an exact gradient here
        "A\nb\nC\n": _outcome(),
    }
    monkeypatch.setattr(child, "_check", lambda loader, problem, text, how: outcomes[text])
    searched: list[tuple] = []
    screens: list[tuple] = []

    def search(text, lines, check, start, budget, tried, screen_for, kept) -> list:
        searched.append((text, start, kept, 2.5 < budget <= 3.0))
        assert screen_for("candidate's base", {"how": "the way"}) == "a screen"
        return [{"edit": "found"}]

    def screen(bind, text, outcome, entries, steps) -> str:
        screens.append((bind("candidate"), text, outcome, entries, steps))
        return "a screen"

    monkeypatch.setattr(repair, "search", search)
    monkeypatch.setattr(screen_module, "screen_for", screen)
    monkeypatch.setattr(child, "_binding", lambda *args: args)
    first, second, elsewhere = (
        {"edit": _swap(n, x), "edits": [_swap(n, x)], "before": {}, "after": {}}
        for n, x in ((1, "A"), (2, "B"), (3, "C"))
    )
    earlier = [
        {"repair_base": "original", "repairs": [first, second]},
        {"repair_base": "all_fixed", "repairs": [elsewhere]},  # another text: not tried
    ]
    job = {"original": "a\nb\nc\n", "all_fixed": None, "repair_budget": 3.0}
    answer: dict = {"original": _outcome("W", "U")}
    child._repair("loader", {"lines": []}, job, answer, "lists", time.monotonic() + 60, earlier)  # type: ignore[arg-type]
    assert answer["repair_base"] == "original"
    assert answer["repairs"] == [
        {**first, "before": _outcome("W", "U"), "after": _outcome("U")},
        {"edit": "found"},
    ]
    # the search starts from the text with that repair made, and leaves its line alone
    assert searched == [("A\nb\nc\n", _outcome("U"), {1}, True)]
    # its screen binds candidates as the check of this problem does, the way it was called
    binding = ("loader", {"lines": []}, "candidate", "the way")
    assert screens == [
        (binding, "candidate's base", {"how": "the way"}, child.MAX_ENTRIES, child.STEPS)
    ]
    # a repair that makes every gradient exact here ends it: nothing is searched
    searched.clear()
    answer = {"original": _outcome("W", "U")}
    broken = {"edit": _swap(2, "X"), "edits": [_swap(2, "X")], "before": {}, "after": {}}
    earlier = [{"repair_base": "original", "repairs": [broken, first, elsewhere]}]
    child._repair("loader", {"lines": []}, job, answer, "lists", time.monotonic() + 60, earlier)  # type: ignore[arg-type]
    assert [r["edit"] for r in answer["repairs"]] == [first["edit"], elsewhere["edit"]]
    assert answer["repairs"][-1]["after"] == _outcome() and searched == []


def test_a_repair_starts_from_every_fix_when_they_ran(monkeypatch) -> None:
    from lstmlint.harness import repair

    calls: list[tuple] = []

    def search(
        text: str, lines: list, check, before: dict, budget: float, tried: list, screen_for, kept
    ) -> list:
        calls.append((text, lines, check("edited"), before, budget, tried))
        assert callable(screen_for)
        assert kept == set()
        return [{"edit": "found"}]

    checked: list[tuple] = []

    def check(loader, problem: dict, text: str, preferred: str | None) -> dict:
        checked.append((loader, problem["name"], text, preferred))
        return _exact()

    monkeypatch.setattr(repair, "search", search)
    monkeypatch.setattr(child, "_check", check)
    job = {"original": "as written", "all_fixed": "fixed", "repair_budget": 3.0}
    problem = {"name": "one", "lines": [[3, 7]]}
    for answer, base in (
        ({"original": _wrong(), "all_fixed": _wrong("arrays")}, "all_fixed"),
        ({"original": _wrong()}, "original"),
        ({"original": _wrong(), "all_fixed": FAILED}, "original"),
    ):
        calls.clear()
        checked.clear()
        child._repair("loader", problem, job, answer, "lists", time.monotonic() + 60)  # type: ignore[arg-type]
        assert answer["repairs"] == [{"edit": "found"}]
        assert answer["repair_base"] == base
        assert calls == [(job[base], [[3, 7]], _exact(), answer[base], 3.0, [])]
        assert checked == [("loader", "one", "edited", "lists")]
    # nothing to repair: exact, or not run
    for answer in (
        {"original": _wrong(), "all_fixed": _exact()},
        {"original": _exact()},
        {"original": FAILED},
    ):
        before = dict(answer)
        calls.clear()
        child._repair("loader", problem, job, answer, "lists", time.monotonic() + 60)  # type: ignore[arg-type]
        assert (calls, answer) == ([], before)
    # the file's time is nearly spent: a shorter search, or none
    answer = {"original": _wrong()}
    calls.clear()
    child._repair("loader", problem, job, answer, "lists", time.monotonic() + 1)  # type: ignore[arg-type]
    assert len(calls) == 1 and 0.5 < calls[0][4] <= 1.0
    answer = {"original": _wrong()}
    calls.clear()
    child._repair("loader", problem, job, answer, "lists", time.monotonic() - 1)  # type: ignore[arg-type]
    assert (calls, answer) == ([], {"original": _wrong()})
    # a budget of nothing is no search
    answer = {"original": _wrong()}
    calls.clear()
    child._repair(
        "loader",  # type: ignore[arg-type]
        problem,
        {**job, "repair_budget": 0.0},
        answer,
        "lists",
        time.monotonic() + 60,
    )
    assert (calls, answer) == ([], {"original": _wrong()})


def _loader(tmp_path: Path, files: dict[str, str], **job: object) -> child.Loader:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    siblings = {
        name.removesuffix(".py").replace("/", "."): text
        for name, text in files.items()
        if name != "main.py"
    }
    full = {"path": str(tmp_path / "main.py"), "keep_imports": False, "siblings": siblings}
    return child.Loader({**full, **job})


def test_the_checked_module_runs_as_a_module_of_its_own(tmp_path: Path) -> None:
    import builtins

    main = "import numpy as np\n\ndef f(x):\n    return np.tanh(x)\n"
    namespace = _loader(tmp_path, {"main.py": main}).main(main)
    assert namespace["__name__"] == "lstmlint_checked_module"
    assert namespace["f"].__module__ == "lstmlint_checked_module"
    assert namespace["__file__"] == str(tmp_path / "main.py")
    # Python 3's builtins, with Python 2's name for range beside them
    assert vars(namespace["__builtins__"]) == {**vars(builtins), "xrange": range}


def test_only_what_the_entry_points_reach_is_loaded(tmp_path: Path) -> None:
    main = "def f(x):\n    return g(x)\n\ndef g(x):\n    return x\n\ndef h(x):\n    return x\n"
    everything = _loader(tmp_path, {"main.py": main}).main(main)
    assert {"f", "g", "h"} <= set(everything)
    reached = _loader(tmp_path, {"main.py": main}, entries=["f"]).main(main)
    assert {"f", "g"} <= set(reached) and "h" not in reached


def test_exec_mode_keeps_the_imports_of_the_module_and_its_siblings(tmp_path: Path) -> None:
    import json

    main = "import json\nfrom helpers import dump\n\ndef f(x):\n    return json.dumps(dump(x))\n"
    files = {"main.py": main, "helpers.py": "import json\n\ndef dump(x):\n    return x\n"}
    kept = _loader(tmp_path, files, keep_imports=True)
    assert kept.main(main)["json"] is json
    assert kept.modules["helpers"].json is json
    dropped = _loader(tmp_path, files)
    assert "json" not in dropped.main(main)
    assert not hasattr(dropped.modules["helpers"], "json")


def test_siblings_are_loaded_with_their_own_siblings_and_file_names(tmp_path: Path) -> None:
    files = {
        "main.py": "from pkg.first import outer\n",
        "pkg/first.py": "from pkg.second import inner\n\ndef outer(x):\n    return inner(x) + 1\n",
        "pkg/second.py": "def inner(x):\n    return 2 * x\n",
    }
    loader = _loader(tmp_path, files)
    namespace = loader.main(files["main.py"])
    assert namespace["outer"](3) == 7
    assert loader.modules["pkg.first"].__file__ == str(tmp_path / "pkg" / "first.py")
    assert loader.modules["pkg.second"].__file__ == str(tmp_path / "pkg" / "second.py")


def test_a_sibling_that_was_not_sent_leaves_the_next_ones_bound(tmp_path: Path) -> None:
    main = "from gone import lost\nfrom helpers import inner\n"
    files = {"main.py": main, "gone.py": "def lost(x):\n    return x\n"}
    files["helpers.py"] = "def inner(x):\n    return 2 * x\n"
    loader = _loader(tmp_path, files)
    del loader.job["siblings"]["gone"]  # it could not be read when the job was made
    namespace = loader.main(main)
    assert "lost" not in namespace
    assert namespace["inner"](2) == 4


def test_an_import_cycle_between_siblings_ends(tmp_path: Path) -> None:
    files = {
        "main.py": "import first\n",
        "first.py": "import second\n\ndef one(x):\n    return x\n",
        "second.py": "import first\n\ndef two(x):\n    return x\n",
    }
    loader = _loader(tmp_path, files)
    namespace = loader.main(files["main.py"])
    assert namespace["first"].second.two(1) == 1
    assert not hasattr(loader.modules["second"], "first")  # still loading when it was asked


def test_a_top_level_value_that_fails_is_left_unbound(tmp_path: Path) -> None:
    main = (
        "import numpy as np\n"
        "broken = np.zeros((2, -1))\n"
        "kept = np.zeros((2, 1))\n"
        "def f(x):\n    return x\n"
    )
    namespace = _loader(tmp_path, {"main.py": main}).main(main)
    assert "broken" not in namespace
    assert namespace["kept"].shape == (2, 1)
    assert "f" in namespace
    hog = "def grow():\n    raise MemoryError\n\nbig = grow()\n"
    with pytest.raises(MemoryError):
        _loader(tmp_path, {"main.py": hog}).main(hog)


def test_python_2_s_name_for_range_runs_as_range(tmp_path: Path) -> None:
    # CS231n solutions written for Python 2 and 3 loop with `xrange` in their sequence layers
    from lstmlint.harness.child import BUILTINS

    text = (FIXTURES / "cs231n" / "lstm_layers_correct.py").read_text()
    old = text.replace("    for t in range(T):\n", "    for t in xrange(T):\n")
    old = old.replace("    for t in reversed(range(T)):\n", "    for t in reversed(xrange(T)):\n")
    assert old.count("xrange(T)") == 2
    path = tmp_path / "layers.py"
    path.write_text(old)
    statuses = [p["original"]["status"] for p in child.run(_job(path, old))["problems"]]
    path.write_text(text)
    assert statuses == [p["original"]["status"] for p in child.run(_job(path, text))["problems"]]
    assert statuses.count("ok") >= 2  # the step pair and the sequence pair
    # in a module of the user's own, too; and the rest of the builtins are Python 3's
    (tmp_path / "loops.py").write_text("def steps(T):\n    return list(xrange(T))\n")
    loader = child.Loader(
        {
            "path": str(path),
            "siblings": {"loops": "def steps(T):\n    return list(xrange(T))\n"},
            "keep_imports": False,
        }
    )
    assert loader.sibling("loops").steps(3) == [0, 1, 2]
    assert BUILTINS.range is range and BUILTINS.xrange is range
    assert not hasattr(BUILTINS, "unicode")


# a textbook's sequence layer: weights handed in, arrays made float32 by name
FLOAT32_LAYER = """import numpy as np


class TimeTanh:
    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, xs):
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        self.xs = xs
        self.hs = np.zeros((N, T + 1, H), dtype='f')
        for t in range(T):
            self.hs[:, t + 1] = np.tanh(xs[:, t] @ Wx + self.hs[:, t] @ Wh + b)
        return self.hs[:, 1:]

    def backward(self, dhs):
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        dh = np.zeros((N, H), dtype=np.float32)
        for t in reversed(range(T)):
            da = (dhs[:, t] + dh) * (1 - self.hs[:, t + 1] ** 2)
            dWx += self.xs[:, t].T @ da
            dWh += self.hs[:, t].T @ da
            db += da.sum(axis=0)
            dh = da @ Wh.T
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
"""


def test_arrays_asked_for_in_float32_are_checked_in_float64(
    in_process: list[dict], tmp_path: Path, capsys
) -> None:
    path = tmp_path / "layers.py"
    path.write_text(FLOAT32_LAYER)
    report = tmp_path / "report.json"
    assert _json(capsys, "--harness-report", str(report), str(path)) == []
    [record] = json.loads(report.read_text())
    assert record["status"] == "checked"
    assert record["inputs"].startswith("its weights made, ")  # the way it was called, first
    assert record["inputs"].endswith(", its float32 arrays made float64")
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}
    # and a wrong gradient of such a layer is found
    wrong = FLOAT32_LAYER.replace("dh = da @ Wh.T", "dh = da @ Wh")
    path.write_text(wrong)
    found = _json(capsys, str(path))
    assert [(d["code"], d["confirmation"]["method"]) for d in found] == [("LST209", "your-code")]
    assert found[0]["confirmation"]["status"] == "confirmed"


def test_the_float64_spelling_keeps_every_position() -> None:
    from lstmlint.harness.child import in_float64

    text = (
        "a = np.empty((2, 3), dtype='f')\nb = x.astype(\"f\")\nc = np.float32(1)\n"
        "d = np.zeros(2, dtype=np.float32)\ne = 'f'\nf = float32x\n"
    )
    assert in_float64(text) == (
        "a = np.empty((2, 3), dtype='d')\nb = x.astype(\"d\")\nc = np.float64(1)\n"
        "d = np.zeros(2, dtype=np.float64)\ne = 'f'\nf = float32x\n"
    )


def test_a_gradient_with_unit_axes_apart_is_read_in_its_parameter_s_shape() -> None:
    params = {"b": np.zeros(4), "W": np.zeros((2, 3)), "h": np.zeros((3, 1))}
    given = {"b": np.ones((1, 4)), "W": np.ones((3, 2)), "h": np.ones(3), "extra": np.ones((1, 2))}
    read = child._copied_out(lambda p: given)(params)
    assert read["b"].shape == (4,)  # `keepdims=True` of a 1-D bias
    assert read["h"].shape == (3, 1)  # a column returned flat
    assert read["W"].shape == (3, 2)  # a transposed matrix stays wrong: the check says so
    assert read["extra"].shape == (1, 2)  # no parameter to take a shape from
    assert read["b"] is not given["b"] and read["b"].dtype == np.float64
    given["b"][0, 0] = 5.0
    assert read["b"][0] == 1.0  # copied out as soon as returned


def test_a_gradient_exact_only_at_the_file_s_values_is_inconclusive(tmp_path: Path) -> None:
    # the wrong term vanishes while the biases are zero, as the file makes them: the second
    # check, at spread values, shows it
    text = CORRECT.replace(
        "        dWhh += dhraw @ hs[t - 1].T\n",
        "        dWhh += dhraw @ hs[t - 1].T + bh.sum() * Whh\n",
    )
    assert text != CORRECT
    path = tmp_path / "rnn.py"
    path.write_text(text)
    (problem,) = child.run(_job(path, text))["problems"]
    verdicts = {n: p["verdict"] for n, p in problem["original"]["params"].items()}
    assert verdicts["Whh"] == "INCONCLUSIVE"
    assert {v for n, v in verdicts.items() if n != "Whh"} == {"PASS"}
    path.write_text(CORRECT)
    (problem,) = child.run(_job(path, CORRECT))["problems"]
    assert {p["verdict"] for p in problem["original"]["params"].values()} == {"PASS"}


def test_an_unfit_sibling_s_helpers_are_lstmlint_s_own_in_the_checked_module(
    tmp_path: Path,
) -> None:
    other_year = "class Tanh:\n    def forward(self):\n        return 'theirs'\n"
    main = "from activation import *\n\ndef f(x):\n    return Tanh()(x)\n"
    files = {"main.py": main, "activation.py": other_year}
    theirs = _loader(tmp_path, files).main(main)
    assert theirs["Tanh"]().forward() == "theirs"
    ours = _loader(tmp_path, files, unfit=["activation"]).main(main)
    assert float(ours["f"](0.5)) == pytest.approx(math.tanh(0.5))
    assert ours["Tanh"]().derivative(state=0.5) == pytest.approx(0.75)

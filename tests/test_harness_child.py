"""The child that runs the user's own code, exercised in this process.

The end-to-end tests (`test_harness.py`, `test_sandbox.py`) run the child where lstmlint runs it,
in a process of its own. Here the same job is answered in the test process instead (the code
run is the project's own fixtures), so that what the child does can be seen directly: its limits,
what it swallows, and each step of a check.
"""

from __future__ import annotations

import json
import resource
import signal
from pathlib import Path

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
    text = TRANSPOSED.replace("bh = np.zeros((hidden_size, 1))", "bh = np.zeros((hidden_size, -1))")
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

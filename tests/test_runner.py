"""The runner: screening in this process, worker processes for many files, the same output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import run

from lstmlint import runner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _copies(root: Path, count: int) -> Path:
    """Fixture folders (with notebooks and sibling imports) ``count`` times, and odd files."""
    for index in range(count):
        for folder in ("reviewed", "minchar", "vanilla"):
            shutil.copytree(FIXTURES / folder, root / f"copy{index}" / folder)
    (root / "plain.py").write_text("import os\nprint(os.sep)\n")
    (root / "bad.py").write_bytes(b"x = 1\x00\n")
    return root


def test_jobs_give_the_same_json_as_one_process(tmp_path: Path, capsys, monkeypatch) -> None:
    tree = _copies(tmp_path / "tree", 3)
    started = []
    real = runner._executor
    monkeypatch.setattr(runner, "_executor", lambda n, s: started.append(n) or real(n, s))
    common = ("--format", "json", "--no-confirm", "--no-cache", "--select", "ALL", str(tree))
    status_one, one, _ = run(capsys, "--jobs", "1", *common)
    assert started == []
    status_two, two, _ = run(capsys, "--jobs", "2", *common)
    assert started == [2]
    assert status_one == status_two == 2  # bad.py cannot be read
    records = json.loads(one)
    assert len(records) > 50 and {r["code"] for r in records} >= {"LST001", "LST101", "LST206"}
    assert two == one


def test_few_files_are_checked_without_workers(tmp_path: Path, capsys, monkeypatch) -> None:
    def refuse(workers: int, settings):
        raise AssertionError("no worker processes for a handful of files")

    monkeypatch.setattr(runner, "_executor", refuse)
    for name in ("lstm_scratch.py", "utils.py", "data.py"):
        shutil.copy(FIXTURES / "reviewed" / name, tmp_path)
    for index in range(30):  # many files, but only one that needs the analysis
        (tmp_path / f"plain{index}.py").write_text(f"x = {index}\n")
    status, out, _ = run(capsys, "--jobs", "4", "--no-confirm", "--format", "json", str(tmp_path))
    assert status == 1 and {r["path"] for r in json.loads(out)} == {
        str(tmp_path / "lstm_scratch.py")
    }


_PARENT = os.getpid()
_CHECK = runner._check


def _crash_in_a_worker(target, selection, collect):
    if os.getpid() != _PARENT:
        os._exit(3)  # as a worker killed for its memory would
    return _CHECK(target, selection, collect)


def test_a_worker_that_dies_costs_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for index in range(runner.POOL_MIN_FILES + 1):
        shutil.copy(FIXTURES / "minchar" / "rnn_dict_buggy.py", tree / f"rnn{index}.py")
    common = ("--format", "json", "--no-confirm", "--no-cache", str(tree))
    _, expected, _ = run(capsys, "--jobs", "1", *common)
    monkeypatch.setattr(runner, "_check", _crash_in_a_worker)
    if runner._executor(2, None) is None:
        pytest.skip("no worker processes here")
    _, out, _ = run(capsys, "--jobs", "2", *common)
    assert out == expected


def test_screening_reads_plain_files_only(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("import os\n")
    assert runner._screen(plain, False) is False
    rnn = tmp_path / "rnn.py"
    rnn.write_text("h = np.tanh(h)\n")
    assert runner._screen(rnn, False) == rnn.read_bytes()
    # everything the engine must look at itself: it may be unreadable, or its text differ
    cases = {
        "cookie.py": b"# -*- coding: latin-1 -*-\nx = 1\n",
        "latin1.py": "x = 'caf\xe9'\n".encode("latin-1"),
        "nul.py": b"x = 1\x00\n",
        "book.ipynb": b'{"cells": []}',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert runner._screen(tmp_path / name, False) == data, name
    assert runner._screen(tmp_path / "missing.py", False) is None
    noqa = tmp_path / "noqa.py"
    noqa.write_text("x = 1  # noqa: LST101\n")
    assert runner._screen(noqa, False) is False
    assert runner._screen(noqa, True) == noqa.read_bytes()  # --warn-unused-noqa reports it


def test_screening_and_cache_lookups_in_workers(tmp_path: Path, capsys, monkeypatch) -> None:
    tree = _copies(tmp_path / "tree", 1)
    monkeypatch.chdir(tmp_path)
    common = ("--format", "json", "--no-confirm", str(tree))
    _, expected, _ = run(capsys, "--jobs", "1", "--no-cache", *common)
    monkeypatch.setattr(runner, "SCREEN_IN_WORKERS_MIN", 1)
    monkeypatch.setattr(runner, "SCREEN_BATCH", 3)
    _, cold, _ = run(capsys, "--jobs", "2", *common)
    entries = {p: p.stat().st_mtime_ns for p in (tmp_path / ".lstmlint_cache").glob("*.json")}
    assert cold == expected and entries
    _, warm, _ = run(capsys, "--jobs", "2", *common)
    assert warm == expected
    assert {p: p.stat().st_mtime_ns for p in entries} == entries  # all hits: nothing rewritten

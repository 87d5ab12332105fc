"""How a run hands its files to the harness, and how a job reaches a child process.

``run_user_code`` checks every analysed, readable file's own code in the modes that run it,
in threads, and closes the child servers it started; ``_launch`` sends one job to a server
forked from a process with NumPy loaded (one per thread), or, where there is no ``fork``, to a
fresh child in a scratch folder, and turns a child that gave no answer into a reason. The child
processes are replaced here by stand-ins, so these tests run in this process; the real ones are
tested in ``test_harness.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

import lstmlint.child_process as child_process
import lstmlint.harness as harness
from lstmlint.child_process import ChildFailed
from lstmlint.engine import FileResult


def _result(name: str, analysed: bool = True, unreadable: bool = False) -> FileResult:
    return FileResult(path=name, analysed=analysed, unreadable=unreadable)


class Closing:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize(
    ("mode", "runs"), [("auto", True), ("exec", True), ("reference", False), ("off", False)]
)
def test_the_user_s_code_is_run_in_the_modes_that_run_it(
    monkeypatch, mode: str, runs: bool
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(harness, "_one_file", lambda result, settings: seen.append(result.path))
    harness.run_user_code([_result("a.py")], SimpleNamespace(confirm=mode))
    assert seen == (["a.py"] if runs else [])


def test_only_analysed_readable_files_are_run_each_once_in_threads(monkeypatch) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def one_file(result, settings):
        with lock:
            seen.append((result.path, settings.confirm))

    monkeypatch.setattr(harness, "_one_file", one_file)
    results = [
        _result("a.py"),
        _result("b.py", analysed=False),
        _result("c.py", unreadable=True),
        _result("d.py"),
        SimpleNamespace(path="e.py", unreadable=False),  # no `analysed`: never analysed
    ]
    harness.run_user_code(results, SimpleNamespace(confirm="auto"))
    assert sorted(seen) == [("a.py", "auto"), ("d.py", "auto")]


def test_one_file_s_internal_error_costs_that_file_only(monkeypatch) -> None:
    def one_file(result, settings):
        if result.path == "bad.py":
            raise KeyError("oops")
        harness._record(result, "checked")

    monkeypatch.setattr(harness, "_one_file", one_file)
    bad, good = _result("bad.py"), _result("good.py")
    harness.run_user_code([bad, good], SimpleNamespace(confirm="auto"))
    assert good.harness == {"status": "checked", "reason": None}
    assert bad.harness["status"] == "not-run"
    assert "KeyError" in bad.harness["reason"]


def test_the_servers_started_are_closed_and_forgotten_when_the_run_ends(monkeypatch) -> None:
    servers = [Closing(), Closing()]

    def one_file(result, settings):
        harness._servers.all.extend(servers)

    monkeypatch.setattr(harness, "_one_file", one_file)
    harness.run_user_code([_result("a.py")], SimpleNamespace(confirm="auto"))
    assert [s.closed for s in servers] == [1, 1]
    assert harness._servers.all == []


def test_the_servers_are_closed_even_when_the_run_fails(monkeypatch) -> None:
    server = Closing()

    def one_file(result, settings):
        harness._servers.all.append(server)

    def guarded(result, settings):
        one_file(result, settings)
        raise KeyboardInterrupt

    monkeypatch.setattr(harness, "_guarded", guarded)
    with pytest.raises(KeyboardInterrupt):
        harness.run_user_code([_result("a.py")], SimpleNamespace(confirm="auto"))
    assert server.closed == 1
    assert harness._servers.all == []


def test_no_file_to_run_starts_nothing(monkeypatch) -> None:
    monkeypatch.setattr(harness, "_one_file", lambda result, settings: pytest.fail("ran"))
    harness.run_user_code([], SimpleNamespace(confirm="auto"))
    harness.run_user_code([_result("b.py", analysed=False)], SimpleNamespace(confirm="auto"))


class FakeServer:
    made: ClassVar[list[FakeServer]] = []

    def __init__(self, module: str, env: dict | None = None) -> None:
        self.module, self.env = module, env
        self.requests: list[tuple[dict, float]] = []
        self.reply: object = {"answer": {"problems": []}}
        FakeServer.made.append(self)

    def ask(self, request: dict, timeout: float):
        self.requests.append((request, timeout))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    def close(self) -> None:
        pass


@pytest.fixture
def servers(monkeypatch):
    FakeServer.made = []
    monkeypatch.setattr(child_process, "Server", FakeServer)
    monkeypatch.setattr(harness, "_servers", harness._Servers())
    monkeypatch.setattr(harness._Servers, "all", [])  # shared by every thread's record
    return FakeServer.made


def test_a_job_goes_to_one_forked_server_per_thread(servers) -> None:
    assert harness._launch({"path": "a.py"}, 7.0) == {"problems": []}
    assert harness._launch({"path": "b.py"}, 3.0) == {"problems": []}
    [server] = servers
    assert server.module == "lstmlint.harness.server"
    assert server.env == harness._child_env()
    assert server.requests == [
        ({"job": {"path": "a.py"}, "timeout": 7.0}, 7.0),
        ({"job": {"path": "b.py"}, "timeout": 3.0}, 3.0),
    ]
    assert harness._servers.all == [server]
    other = threading.Thread(target=harness._launch, args=({"path": "c.py"}, 1.0))
    other.start()
    other.join()
    assert len(servers) == 2  # a thread of its own gets a server of its own
    assert harness._servers.all == servers


def test_a_server_that_could_not_run_the_job_gives_a_transient_reason(servers) -> None:
    harness._launch({}, 1.0)
    servers[0].reply = {"failed": "did not finish within 1 s"}
    assert harness._launch({}, 1.0) == {
        "error": "the process running your code did not finish within 1 s",
        "transient": True,
    }
    servers[0].reply = ChildFailed("failed (exit status -9)")
    assert harness._launch({}, 1.0) == {
        "error": "the process running your code failed (exit status -9)",
        "transient": True,
    }


@pytest.mark.parametrize("reply", [{}, {"answer": None}, {"answer": ["not", "a", "dict"]}])
def test_an_answer_that_is_no_answer_is_said_so(servers, reply: dict) -> None:
    harness._launch({}, 1.0)
    servers[0].reply = reply
    assert harness._launch({}, 1.0) == {
        "error": "the process running your code gave an unexpected answer",
        "transient": True,
    }


def test_without_fork_each_job_gets_a_child_in_a_scratch_folder(monkeypatch, servers) -> None:
    monkeypatch.delattr(harness.os, "fork")
    calls: list[tuple] = []

    def ask(module, payload, timeout, cwd=None, env=None):
        calls.append((module, payload, timeout, Path(cwd), env))
        assert Path(cwd).is_dir() and Path(cwd).name.startswith("lstmlint-run-")
        return {"problems": [1]}

    monkeypatch.setattr(child_process, "ask", ask)
    assert harness._launch({"path": "a.py"}, 5.0) == {"problems": [1]}
    [(module, payload, timeout, cwd, env)] = calls
    assert (module, payload, timeout, env) == (
        "lstmlint.harness.child",
        {"path": "a.py"},
        5.0,
        harness._child_env(),
    )
    assert not cwd.exists()  # the scratch folder is gone with the child
    assert servers == []

    def failing(*args, **kwargs):
        raise ChildFailed("could not start")

    monkeypatch.setattr(child_process, "ask", failing)
    assert harness._launch({}, 5.0) == {
        "error": "the process running your code could not start",
        "transient": True,
    }


@pytest.mark.parametrize(
    ("files", "cores", "workers"), [(1, 2, 1), (5, 2, 2), (3, 8, 3), (2, 0, 1)]
)
def test_one_thread_per_file_up_to_the_cores(
    monkeypatch, files: int, cores: int, workers: int
) -> None:
    # each thread runs its own child server, which may use the whole memory limit
    import lstmlint.settings

    made: list[int] = []
    real = harness.ThreadPoolExecutor

    def executor(max_workers=None):
        made.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(harness, "ThreadPoolExecutor", executor)
    monkeypatch.setattr(lstmlint.settings, "cores", lambda: cores)
    monkeypatch.setattr(harness, "_one_file", lambda result, settings: None)
    harness.run_user_code(
        [_result(f"{i}.py") for i in range(files)], SimpleNamespace(confirm="auto")
    )
    assert made == [workers]

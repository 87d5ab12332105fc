"""A process that runs users' code for many files, each in a fresh fork of itself:
``python -m lstmlint.harness.server`` (where ``os.fork`` exists).

Starting Python and importing NumPy costs more than checking a file's gradients, so the
harness keeps one such process per thread for a whole run. It reads one request per line
(JSON: the job and its time limit). For each it forks a child, which moves to an empty scratch
folder, puts stdin, stdout and stderr on the null device, answers the job with
``child.answer`` (memory cap, no file writes) and writes that answer to a pipe of its own.
The server waits at most the time limit, kills the child if it must, and writes one line:
``{"answer": ...}`` or ``{"failed": "did not finish within 10 s"}``. It never runs user code
itself, so nothing one file's code does reaches the next file's.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time

import numpy  # noqa: F401 - imported once here, and inherited by every child

from lstmlint.harness import child


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        reply = serve(request["job"], float(request["timeout"]))
        sys.stdout.write(json.dumps(reply, default=float) + "\n")
        sys.stdout.flush()


def serve(job: dict, timeout: float) -> dict:
    scratch = tempfile.mkdtemp(prefix="lstmlint-run-")
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in (read, write):
            os.close(fd)
        shutil.rmtree(scratch, ignore_errors=True)
        return {"failed": f"could not start ({exc})"}
    if pid == 0:
        os.close(read)
        _answer_in_child(job, scratch, write)
    os.close(write)
    try:
        data, status = _collect(read, pid, time.monotonic() + timeout)
    finally:
        os.close(read)
        shutil.rmtree(scratch, ignore_errors=True)
    if status is None:
        return {"failed": f"did not finish within {timeout:g} s"}
    try:
        return {"answer": json.loads(data)}
    except ValueError:
        return {"failed": f"failed (exit status {_exit_code(status)})"}


def _answer_in_child(job: dict, scratch: str, write: int) -> None:
    code = 1
    try:
        os.chdir(scratch)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the server's requests and replies travel on 0 and 1
            os.dup2(null, fd)
        data = memoryview(json.dumps(child.answer(job), default=float).encode())
        while data:
            data = data[os.write(write, data) :]
        code = 0
    finally:
        os._exit(code)  # no atexit handler of user code runs


def _collect(fd: int, pid: int, deadline: float) -> tuple[bytes, int | None]:
    """What the child wrote, and its wait status (None: killed at the deadline)."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", _kill(pid)
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    while True:  # the answer is in: the child is exiting
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return b"".join(chunks), status
        if time.monotonic() > deadline:
            return b"", _kill(pid)
        time.sleep(0.002)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
    return None


def _exit_code(status: int) -> int:
    try:
        return os.waitstatus_to_exitcode(status)
    except ValueError:
        return status


if __name__ == "__main__":
    main()

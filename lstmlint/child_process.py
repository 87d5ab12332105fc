"""Asking a child Python process for an answer: JSON in on stdin, JSON out on stdout (once,
or one line per request from a long-lived server)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class ChildFailed(Exception):
    """The child did not answer: it timed out, could not start, or wrote no JSON."""


def ask(
    module: str,
    payload: Any,
    timeout: float,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    """Run ``python -m module`` with ``payload`` and return its JSON answer.

    Raises ChildFailed with a message that completes "the process ..." (e.g. "did not finish
    within 10 s").
    """
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise ChildFailed(f"could not start ({exc})") from None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise ChildFailed(f"failed (exit status {done.returncode})") from None


class Server:
    """A long-lived ``python -m module`` that answers one JSON line with another, for many
    requests; started on the first ``ask``. If it dies or stops answering it is killed, and the
    next ``ask`` starts a new one."""

    GRACE = 5.0  # seconds beyond a request's time limit before the server itself is given up

    def __init__(self, module: str, env: dict[str, str] | None = None) -> None:
        self.module = module
        self.env = env
        self._process: subprocess.Popen | None = None
        self._buffer = b""

    def ask(self, request: dict, timeout: float) -> Any:
        """The server's answer to ``request``; ChildFailed when it gives none in ``timeout`` s
        (plus a grace period) or cannot start."""
        process = self._process or self._start()
        try:
            process.stdin.write(json.dumps(request).encode() + b"\n")
            process.stdin.flush()
        except OSError:
            self.close()
            raise ChildFailed(f"failed (exit status {process.poll()})") from None
        line = self._line(process, time.monotonic() + timeout + self.GRACE)
        if line is None:
            self.close()
            raise ChildFailed(f"did not finish within {timeout:g} s")
        if not line:
            self.close()
            raise ChildFailed(f"failed (exit status {process.wait()})")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            self.close()
            raise ChildFailed("failed (an unreadable answer)") from None

    def _start(self) -> subprocess.Popen:
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
            )
        except OSError as exc:
            raise ChildFailed(f"could not start ({exc})") from None
        self._buffer = b""
        return self._process

    def _line(self, process: subprocess.Popen, deadline: float) -> bytes | None:
        """The next line the server writes: b"" when it ended, None at the deadline."""
        fd = process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b""
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""Asking a child Python process for an answer: JSON in on stdin, JSON out on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
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

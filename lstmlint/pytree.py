"""Python's own syntax trees, built one thread at a time.

Python 3.11's AST builder keeps its recursion depth in interpreter-wide state: two threads
building trees at once (the harness checks files in threads) can fail with a SystemError. This
module imports nothing heavy, so the start-up path (file discovery, the prefilter) can use it.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()


def python_tree(text: str, mode: str = "exec") -> Any:
    """``ast.parse(text, mode=mode)``, one thread at a time."""
    import ast

    with _lock:
        return ast.parse(text, mode=mode)

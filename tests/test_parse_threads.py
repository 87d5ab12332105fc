"""The harness checks files in threads: every tree the engine builds must survive that."""

import sys
import threading
from pathlib import Path

from lstmlint import pytree

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class _Finalised:
    """Garbage whose finaliser runs Python code, so the interpreter may switch threads inside
    the C code that builds a tree."""

    def __del__(self) -> None:
        sum(range(2000))


def test_trees_are_built_safely_from_several_threads() -> None:
    text = (FIXTURES / "cs231n" / "lstm_layers_correct.py").read_text()
    failures: list[Exception] = []

    def build() -> None:
        for _ in range(40):
            for _ in range(50):
                a, b = _Finalised(), _Finalised()
                a.other, b.other = b, a  # a cycle: freed by the collector, mid-parse
            try:
                pytree.python_tree(text)
            except SystemError as exc:
                failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=build) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []

"""lstmlint: finds the silent gradient bugs of hand-written recurrent networks in NumPy."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lstmlint.gradcheck import gradcheck


def __getattr__(name: str):
    # lazily, so that `lstmlint` on a tree without RNN code never imports numpy
    if name == "gradcheck":
        from lstmlint.gradcheck import gradcheck

        return gradcheck
    raise AttributeError(f"module 'lstmlint' has no attribute {name!r}")


__all__ = ["__version__", "gradcheck"]

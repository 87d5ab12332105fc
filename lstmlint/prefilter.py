"""A cheap look at a file's bytes: can it hold recurrent-network code at all?

Every rule needs a recognised recurrent cell (LSTM, GRU and vanilla RNN cells all use tanh) or
an activation helper, and those are not written without one of these words. Files without any
of them are not parsed: on a large tree most files are skipped after one scan of their bytes.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(rb"tanh|sigmoid|expit|\blstm|\bgru|\brnn", re.IGNORECASE)


def may_hold_rnn_code(data: bytes) -> bool:
    return _MARKERS.search(data) is not None


_ACTIVATIONS = ("tanh", "sigmoid", "expit", "sigm")
_SHAPES = ("lstm", "gru", "rnn", "backward", "bptt", "backprop")


def _name_of(node) -> str:
    import ast

    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Name):
        return node.id.lower()
    return ""


def may_hold_rnn_code_syntax(text: str) -> bool:
    """A second, structural look with ``ast`` (about ten times cheaper than a libcst parse).

    Recurrent code applies an activation inside a loop (the forward walk over time), or defines
    an LSTM/GRU/RNN or a backward pass. Code that does neither (a test calling ``np.tanh``
    once, docs that mention ``sigmoid``) is not analysed further. A file that ``ast`` cannot
    parse is let through, so that its syntax error is reported.
    """
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            name = node.name.lower()
            if any(shape in name for shape in _SHAPES) or any(act in name for act in _ACTIVATIONS):
                return True
        elif isinstance(node, ast.For | ast.While):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and any(
                    act in _name_of(inner.func) for act in _ACTIVATIONS
                ):
                    return True
    return False

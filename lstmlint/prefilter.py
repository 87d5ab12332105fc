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
_STEP_NAMES = ("cell", "step", "fwd", "bwd", "forward")  # count only with an activation inside


def _name_of(node) -> str:
    import ast

    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Name):
        return node.id.lower()
    return ""


def _activates(node) -> bool:
    import ast

    return any(
        isinstance(n, ast.Call) and any(act in _name_of(n.func) for act in _ACTIVATIONS)
        for n in ast.walk(node)
    )


def _carries_state(loop) -> bool:
    """An activation in a loop that also updates a value it reads: a recurrence over time."""
    import ast

    activation = False
    assigned: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and any(act in _name_of(node.func) for act in _ACTIVATIONS):
            activation = True
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for inner in ast.walk(target):
                    if isinstance(inner, ast.Name):
                        assigned.add(inner.id)
            if node.value is not None:
                read.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Call) and _name_of(node.func) == "append":
            return activation or any(
                isinstance(n, ast.Call) and any(act in _name_of(n.func) for act in _ACTIVATIONS)
                for n in ast.walk(loop)
            )
    return activation and bool(assigned & read)


def may_hold_rnn_code_syntax(text: str) -> bool:
    """A second, structural look with ``ast`` (about ten times cheaper than a libcst parse).

    Recurrent code updates a state with an activation inside a loop (the walk over time), or
    defines an LSTM/GRU/RNN or a backward pass. Code that does neither (a test calling
    ``np.tanh`` in a loop over cases, a module of activation helpers) is not analysed further;
    the helpers are still read when a recurrent file imports them. A file that ``ast`` cannot
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
            if any(shape in name for shape in _SHAPES):
                return True
            if any(step in name for step in _STEP_NAMES) and _activates(node):
                return True
        elif isinstance(node, ast.For | ast.While) and _carries_state(node):
            return True
    return False

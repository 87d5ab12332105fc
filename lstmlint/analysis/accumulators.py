"""Gradient accumulators that start from random values.

A backward loop sums each step's share into an accumulator (``dWf += ...``). Whatever the
accumulator held before the loop is added to the true gradient: an accumulator whose every
assignment is a random draw (``self.dWf = 0.1 * np.random.randn(n, n)``, copied from the
weight's initialisation) hands back the gradient plus noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.names import code_of, dotted, key_of, walk

GRADIENT = re.compile(r"^(d[A-Za-z_]|grad)")


@dataclass
class RandomStart:
    key: str  # the accumulator (``self.dWf``, ``dWhh``)
    value: cst.BaseExpression  # the random value it is given
    zeros: str | None  # the same shape of zeros, where the draw says it plainly


def _random_call(value: cst.BaseExpression) -> cst.Call | None:
    for node in walk(value):
        if isinstance(node, cst.Call) and "random" in (dotted(node.func) or "").split("."):
            return node
    return None


def assignment_pairs(statement: cst.Assign) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(target, value) of each name an assignment binds; an unpacking counts when both sides
    are tuples of one length, else its targets get no value (None)."""
    pairs = []
    for assigned in statement.targets:
        target, value = assigned.target, statement.value
        if isinstance(target, cst.Tuple | cst.List):
            parts = value.elements if isinstance(value, cst.Tuple | cst.List) else None
            if parts is not None and len(parts) == len(target.elements):
                pairs += [(t.value, v.value) for t, v in zip(target.elements, parts, strict=True)]
            else:
                pairs += [(t.value, None) for t in target.elements]
        else:
            pairs.append((target, value))
    return pairs


def _zeros(call: cst.Call) -> str | None:
    """``np.zeros((n, n))`` for ``np.random.randn(n, n)`` (or ``rand``), with its alias."""
    name = dotted(call.func) or ""
    head, _, function = name.rpartition(".random.")
    if function not in ("randn", "rand") or not head or any(a.keyword for a in call.args):
        return None
    if len(call.args) == 1 and call.args[0].star == "*":
        return f"{head}.zeros({code_of(call.args[0].value)})"
    if any(a.star for a in call.args) or not call.args:
        return None
    sizes = ", ".join(code_of(a.value) for a in call.args)
    return f"{head}.zeros({sizes if len(call.args) == 1 else f'({sizes})'})"


def random_starts(model) -> list[RandomStart]:
    """Accumulators summed in backward code whose every assignment is a random draw: in the
    function that sums into a local name, anywhere in the module for an attribute."""
    summed: dict[str, cst.CSTNode] = {}
    for point in model.region_points:
        statement = point.statement
        if isinstance(statement, cst.AugAssign) and isinstance(statement.operator, cst.AddAssign):
            key = key_of(statement.target)
            if key is not None and GRADIENT.match(key.rsplit(".", 1)[-1]):
                local = isinstance(statement.target, cst.Name)
                summed[key] = point.scope.node if local else model.module
    found = []
    for key, where in summed.items():
        values = [
            value
            for node in walk(where)
            if isinstance(node, cst.Assign)
            for target, value in assignment_pairs(node)
            if key_of(target) == key
        ]
        calls = [_random_call(v) if v is not None else None for v in values]
        if calls and all(c is not None for c in calls):
            found += [RandomStart(key, v, _zeros(c)) for v, c in zip(values, calls, strict=True)]
    return found

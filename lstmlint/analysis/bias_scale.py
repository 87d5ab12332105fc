"""Bias gradients averaged over the batch while the weight gradients beside them are summed.

``dWaa = np.dot(dtanh, a_prev.T)`` sums each example's share; ``dba = np.mean(dtanh, axis=1)``
averages it. Either convention alone is consistent with a loss summed or averaged over the batch;
together, one of the two gradients is off by the batch size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.algebra import matmul_operands
from lstmlint.analysis.names import dotted, walk

WEIGHT_GRADIENT = re.compile(r"^d_?[WUV]")
BIAS_GRADIENT = re.compile(r"^d_?b")


@dataclass
class AveragedBias:
    node: cst.Call  # the mean
    name: str  # the bias gradient
    weight: str  # a weight gradient summed from the same gradient
    edit: tuple[cst.CSTNode, str] | None


def _target(statement: cst.CSTNode) -> str | None:
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
    elif isinstance(statement, cst.AugAssign):
        target = statement.target
    else:
        return None
    while isinstance(target, cst.Subscript | cst.Attribute):  # `grads["db"]`, `self.db`
        if isinstance(target, cst.Attribute):
            return target.attr.value
        target = target.value
    return target.value if isinstance(target, cst.Name) else None


def _mean_of(
    value: cst.BaseExpression,
) -> tuple[str, cst.Call, tuple[cst.CSTNode, str] | None] | None:
    """(the averaged name, the call, the edit to a sum) for ``np.mean(g, axis=..)``/``g.mean(..)``."""
    if not isinstance(value, cst.Call) or not any(
        a.keyword and a.keyword.value == "axis" for a in value.args
    ):
        return None
    name = dotted(value.func) or ""
    if (
        name.endswith(".mean")
        and name.count(".") == 1
        and value.args
        and value.args[0].keyword is None
    ):
        head = name.split(".")[0]
        if head in ("np", "numpy") and isinstance(value.args[0].value, cst.Name):
            return value.args[0].value.value, value, (value.func, f"{head}.sum")
    if isinstance(value.func, cst.Attribute) and value.func.attr.value == "mean":
        if isinstance(value.func.value, cst.Name):
            return value.func.value.value, value, (value.func.attr, "sum")
    return None


def averaged_biases(model) -> list[AveragedBias]:
    found: list[AveragedBias] = []
    scopes: dict[int, list] = {}
    for point in model.region_points:
        scopes.setdefault(id(point.scope.node), []).append(point.statement)
    for statements in scopes.values():
        summed: dict[str, str] = {}  # gradient -> a weight gradient summed from it
        for statement in statements:
            target = _target(statement)
            value = getattr(statement, "value", None)
            if target is None or value is None or not WEIGHT_GRADIENT.match(target):
                continue
            divided = any(
                isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.Divide)
                for n in walk(value)
            )
            for node in walk(value):
                operands = matmul_operands(node) if isinstance(node, cst.BaseExpression) else None
                for operand in operands or ():
                    while isinstance(operand, cst.Attribute) and operand.attr.value == "T":
                        operand = operand.value
                    if isinstance(operand, cst.Name) and not divided:  # `/ m`: averaged too
                        summed.setdefault(operand.value, target)
        for statement in statements:
            target = _target(statement)
            value = getattr(statement, "value", None)
            if target is None or value is None or not BIAS_GRADIENT.match(target):
                continue
            mean = _mean_of(value)
            if mean is not None and mean[0] in summed:
                found.append(AveragedBias(mean[1], target, summed[mean[0]], mean[2]))
    return found

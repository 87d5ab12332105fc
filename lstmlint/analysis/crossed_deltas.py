"""Backward products that pair a weight with the delta of another weight.

A weight's gradient and the gradient passed back through that weight use one delta:
``dWo += do_raw @ hx.T`` and ``Wo.T @ do_raw``. A product ``Wo.T @ df_raw``, where ``df_raw``
is the delta of ``dWf`` and of no gradient of ``Wo`` (a line copied from the forget gate's),
passes the forget gate's share back twice and the output gate's never. Read within one
function: the deltas each weight's gradient is computed with, then the products of a weight
with a gradient that only other weights' gradients use.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.algebra import matmul_operands
from lstmlint.analysis.interp import bare_code
from lstmlint.analysis.names import code_of, key_of, walk
from lstmlint.analysis.transposes import (
    gradient_of_weight,
    unwrap,
    weight_name,
    weight_reading,
)


@dataclass
class CrossedDelta:
    node: cst.BaseExpression  # the delta as the product has it
    weight: str  # the weight it is multiplied by (``Wo``)
    owners: list[str]  # the weights whose gradients use that delta (``Wf``)
    own: str | None  # the one delta the weight's own gradient uses, if there is one

    @property
    def node_text(self) -> str:
        return code_of(self.node)


def _text(node: cst.BaseExpression) -> str:
    return bare_code(unwrap(node)[0])


def _gradient_target(statement: cst.CSTNode, weights: set[str]) -> str | None:
    """The weight whose gradient ``statement`` assigns (``dWo``, ``self.dWo``, ``grads["Wo"]``)."""
    if isinstance(statement, cst.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        targets = [statement.targets[0].target]
    else:
        return None
    key = key_of(targets[0]) or ""
    last = key.rsplit(".", 1)[-1]
    if last.endswith("]"):
        last = last[last.rfind("[") + 1 : -1].strip("'\"")
        if last in weights and key.split("[")[0].split(".")[-1].startswith(("d", "grad")):
            return last
    return gradient_of_weight(last, weights)


def _deltas_of(value: cst.BaseExpression, is_gradient) -> set[str]:
    """The gradients a weight's gradient is computed from (``do_raw`` in ``do_raw @ hx.T``,
    ``np.outer(do_raw, hx)``)."""
    found = set()
    for node in walk(value):
        operands = matmul_operands(node) if isinstance(node, cst.BaseExpression) else None
        if operands is None:
            continue
        for operand in operands:
            bare, _ = unwrap(operand)
            if is_gradient(bare):
                found.add(_text(bare))
    return found


def crossed_deltas(model) -> list[CrossedDelta]:
    reading = weight_reading(model)
    weights = set(reading.forward)
    by_scope: dict[int, list] = {}
    for point in model.region_points:
        by_scope.setdefault(id(point.scope.node), []).append(point)
    found: list[CrossedDelta] = []
    for points in by_scope.values():
        deltas: dict[str, set[str]] = {}
        passed_back = []
        for point in points:
            statement = point.statement
            weight = _gradient_target(statement, weights)
            value = getattr(statement, "value", None)
            if weight is not None and isinstance(value, cst.BaseExpression):
                deltas.setdefault(weight, set()).update(_deltas_of(value, reading.is_gradient))
            elif isinstance(value, cst.BaseExpression):
                passed_back.append(value)
        owners: dict[str, list[str]] = {}
        for weight, texts in deltas.items():
            for text in texts:
                owners.setdefault(text, []).append(weight)
        for value in passed_back:
            for node in walk(value):
                operands = matmul_operands(node) if isinstance(node, cst.BaseExpression) else None
                if operands is None:
                    continue
                for weight_side, other in (operands, operands[::-1]):
                    name = weight_name(unwrap(weight_side)[0])
                    bare, _ = unwrap(other)
                    text = _text(bare)
                    if (
                        name is None
                        or not deltas.get(name)
                        or text in deltas[name]
                        or text not in owners
                    ):
                        continue
                    own = sorted(deltas[name])
                    found.append(
                        CrossedDelta(
                            bare, name, sorted(owners[text]), own[0] if len(own) == 1 else None
                        )
                    )
    return found

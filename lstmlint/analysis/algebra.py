"""Reading arithmetic structure: the terms of a sum and the factors of a product."""

from __future__ import annotations

import libcst as cst

from lstmlint.analysis.names import dotted, walk

MATMUL_FUNCS = {"dot", "matmul", "outer"}


def terms(node: cst.BaseExpression) -> list[tuple[int, cst.BaseExpression]]:
    """Signed top-level terms of a sum: ``a - b*c`` gives [(+1, a), (-1, b*c)]."""
    kind = type(node)  # not isinstance: see names.dotted
    if kind is cst.BinaryOperation and type(node.operator) in (cst.Add, cst.Subtract):
        sign = 1 if type(node.operator) is cst.Add else -1
        return terms(node.left) + [(sign * s, t) for s, t in terms(node.right)]
    if (
        kind is cst.Call
        and (dotted(node.func) or "").rsplit(".", 1)[-1] == "add"
        and len(node.args) == 2
    ):
        return terms(node.args[0].value) + terms(node.args[1].value)
    return [(1, node)]


def factors(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """Top-level factors of an elementwise product (``*`` and ``np.multiply``); a leading minus is dropped."""
    kind = type(node)
    if kind is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        return factors(node.left) + factors(node.right)
    if kind is cst.UnaryOperation and type(node.operator) is cst.Minus:
        return factors(node.expression)
    if (
        kind is cst.Call
        and (dotted(node.func) or "").rsplit(".", 1)[-1] == "multiply"
        and len(node.args) >= 2
    ):
        return factors(node.args[0].value) + factors(node.args[1].value)
    return [node]


def matmul_operands(
    node: cst.BaseExpression,
) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(left, right) of ``a @ b``, ``np.dot(a, b)``, ``a.dot(b)``, ``np.outer(a, b)``, ``np.matmul``."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
        return node.left, node.right
    if isinstance(node, cst.Call):
        name = dotted(node.func) or ""
        positional = [a.value for a in node.args if a.keyword is None]
        if (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "dot"
            and len(positional) == 1
        ):
            head = dotted(node.func.value)
            if head not in ("np", "numpy"):
                return node.func.value, positional[0]
        if name.rsplit(".", 1)[-1] in MATMUL_FUNCS and len(positional) == 2:
            return positional[0], positional[1]
    return None


def strip_transpose(node: cst.BaseExpression) -> cst.BaseExpression:
    while True:
        if isinstance(node, cst.Attribute) and node.attr.value == "T":
            node = node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("transpose", "reshape", "ravel", "flatten", "copy")
        ):
            node = node.func.value
        elif isinstance(node, cst.Call) and (dotted(node.func) or "").rsplit(".", 1)[-1] in (
            "transpose",
            "ravel",
            "squeeze",
            "atleast_2d",
        ):
            if not node.args:
                return node
            node = node.args[0].value
        else:
            return node


def is_call_to(node: cst.BaseExpression, *names: str) -> bool:
    return isinstance(node, cst.Call) and (dotted(node.func) or "").rsplit(".", 1)[-1] in names


def mentions(node: cst.CSTNode, name: str) -> bool:
    return any(
        isinstance(n, cst.Name) and n.value == name for n in walk(node, attribute_names=False)
    )


def names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in walk(node, attribute_names=False) if isinstance(n, cst.Name)}

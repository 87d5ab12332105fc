"""The previous cell's gradient of a per-step LSTM backward that keeps only the carried part.

At a step, the cell state's gradient has two parts: the one carried from the next step
(``dnext_c``) and the one that comes through this step's hidden state
(``dnext_h * o * (1 - tanh(c)**2)``). The previous cell's gradient is their sum times the
forget gate. A step function that computes the sum (it feeds the gates' gradients) but hands
back ``dnext_c * f`` drops the second part: every step before the last is trained on a cell
gradient that never saw its own output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.algebra import matmul_operands
from lstmlint.analysis.backward import statement_value
from lstmlint.analysis.flow import Point
from lstmlint.analysis.gradients import (
    CELL_GRADIENT_KEY,
    _has_cell_derivative,
    _reads,
    _target_names,
    forget_factor,
    step_function_points,
)
from lstmlint.analysis.names import code_of, string_key, walk

# a step function's parameter holding the cell gradient carried in from the next step
INCOMING_CELL = re.compile(
    r"^d_?(c|cell|cs?)_?(next|t|out|in)?$|^d_?next_?(c|cell)$|^d_?c_?state_?next$", re.IGNORECASE
)
# a step function's parameter holding the gradient of its hidden state (output)
INCOMING_HIDDEN = re.compile(
    r"^d_?(h|a|hidden|out|y|s)_?(next|t|out|in)?$|^d_?next_?(h|a|hidden)$", re.IGNORECASE
)
# the returned gradient of the previous cell state, by its name
PREVIOUS_CELL = re.compile(r"^d_?(c|cell)_?prev\w*$|^d_?prev_?(c|cell)\w*$", re.IGNORECASE)


@dataclass
class HiddenPathGap:
    """``dprev_c = dnext_c * f`` in a step function that computes the cell's full gradient."""

    statement: cst.CSTNode
    value: cst.BaseExpression
    point: Point
    incoming: str  # the parameter read where the full cell gradient belongs
    full: str | None  # the full gradient as the function spells it, for the fix


def carries_without_hidden_path(model) -> list[HiddenPathGap]:
    """Per-step backward functions whose returned previous-cell gradient reads the carried
    cell gradient alone, although the function computes the part through the hidden state."""
    if not model.is_rnn:
        return []
    found = (_gap(model, points) for points in step_function_points(model))
    return [gap for gap in found if gap is not None]


def _gap(model, points: list[Point]) -> HiddenPathGap | None:
    parameters = points[0].scope.params
    incoming = [p for p in parameters if INCOMING_CELL.search(p)]
    if len(incoming) != 1:
        return None
    carried = incoming[0]
    hidden = {p for p in parameters if INCOMING_HIDDEN.search(p)}  # and what is computed from it
    full: set[str] = set()  # names whose value includes the part through the hidden state
    assigned: dict[str, tuple[cst.CSTNode, cst.BaseExpression, Point]] = {}
    returned: list[str] = []
    for point in points:
        statement = point.statement
        value = statement_value(statement)
        if value is None:
            continue
        read = [n.value for n in _reads(value)]
        if isinstance(statement, cst.Return):
            returned += read
            continue
        reads = set(read)
        targets = _target_names(statement)
        if (
            _has_cell_derivative(model.reader(point), point)
            or reads & full
            or reads & hidden
            and any(_sum_with(n, carried) for n in walk(value))
        ):
            full.update(targets)
        if reads & hidden:
            hidden.update(targets)
        for target in targets:
            assigned[target] = (statement, value, point)
    if not full or carried in assigned:
        return None  # a carried gradient reassigned (``dnext_c += ...``) is not read alone
    for name in _previous_cell(returned, assigned):
        statement, value, point = assigned[name]
        reads = {n.value for n in _reads(value)}
        if (
            name not in full
            and carried in reads
            and not reads & (full | hidden)
            and forget_factor(model.reader(point), value)
            and matmul_operands(value) is None
        ):
            return HiddenPathGap(
                statement, value, point, carried, _full_spelling(points, carried, full)
            )
    return None


def _previous_cell(returned: list[str], assigned: dict) -> list[str]:
    """The returned names that hold the previous cell's gradient: by name, or as the entry of a
    returned dict whose key names it (``{"dc_prev": dc_prev, ...}``)."""
    found: list[str] = []
    for name in returned:
        container = assigned[name][1] if name in assigned else None
        if isinstance(container, cst.Dict):
            for element in container.elements:
                key = string_key(element.key) if isinstance(element, cst.DictElement) else None
                if key and CELL_GRADIENT_KEY.search(key) and PREVIOUS_CELL.search(key):
                    found += [n.value for n in _reads(element.value)]
        elif PREVIOUS_CELL.search(name):
            found.append(name)
    return [name for name in dict.fromkeys(found) if name in assigned]


def _full_spelling(points: list[Point], carried: str, full: set[str]) -> str | None:
    """The full cell gradient as the function writes it: a name assigned ``dnext_c + ...``, else
    the first sum ``(dnext_c + ...)`` written inside a statement that computes that part."""
    for point in points:
        value = statement_value(point.statement)
        targets = _target_names(point.statement)
        if (
            isinstance(point.statement, cst.Assign)
            and len(targets) == 1
            and targets[0] in full
            and _sum_with(value, carried)
        ):
            return targets[0]
    for point in points:
        value = statement_value(point.statement)
        if value is None or not set(_target_names(point.statement)) & full:
            continue
        for node in walk(value):
            if _sum_with(node, carried):
                text = code_of(node)
                return text if node.lpar else f"({text})"
    return None


def _sum_with(node: cst.CSTNode | None, name: str) -> bool:
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Add)
        and any(
            isinstance(side, cst.Name) and side.value == name for side in (node.left, node.right)
        )
    )


def hidden_path_edits(gap: HiddenPathGap) -> list[tuple[cst.CSTNode, str]]:
    """Each read of the carried-in gradient in the returned value becomes the full gradient."""
    if gap.full is None:
        return []
    return [
        (node, gap.full)
        for node in walk(gap.value, attribute_names=False)
        if isinstance(node, cst.Name) and node.value == gap.incoming
    ]


def loop_carry_without_hidden_path(model, carry) -> HiddenPathGap | None:
    """In a backward loop: the cell gradient carried on as ``dc_next = dc_next * f[t]``, its
    own value times the gate, although the loop computes the full gradient from it."""
    if not carry.is_cell or len(carry.writes) != 1:
        return None  # a carry written twice may have been made the full gradient first
    statement, point = carry.writes[0]
    value = statement_value(statement)
    others = carry.cell_gradients - {carry.name}
    if value is None or not others:
        return None
    reads = {n.value for n in _reads(value)}
    if (
        carry.name not in reads
        or reads & others
        or not forget_factor(model.reader(point), value)
        or matmul_operands(value) is not None
    ):
        return None
    points = [p for p in model.points if p.loop is carry.loop]
    full = _full_spelling(points, carry.name, set(others))
    return HiddenPathGap(statement, value, point, carry.name, full)

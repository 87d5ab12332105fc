"""An LSTM backward loop whose cell gradient never reaches the previous step.

The forget gate's gradient multiplies the cell state's gradient by the previous cell state
(``df = dc * c_prev``), which names the cell gradient even where nothing else does. The
previous step needs ``dc * f`` of it; in a loop that hands other gradients from step to step
(``dh_next``), a cell gradient from which no carried name is ever computed was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import factors, matmul_operands
from lstmlint.analysis.backward import statement_value
from lstmlint.analysis.gradients import carries, zero_inits
from lstmlint.analysis.loops import carried_names
from lstmlint.analysis.names import parents, walk


@dataclass
class UncarriedCell:
    statement: cst.CSTNode  # where the cell gradient is computed
    name: str


def uncarried_cells(model) -> list[UncarriedCell]:
    return model.memo("uncarried_cells", _find)


def _find(model) -> list[UncarriedCell]:
    loops: dict[int, list] = {}
    for point in model.region_points:
        if point.loop is not None:
            loops.setdefault(id(point.loop.loop.node), []).append(point)
    # a loop with a cell gradient carried from before it: the checks of carries judge it
    with_cell_carry = {id(c.loop.loop.node) for c in carries(model) if c.is_cell and c.loop}
    found: dict[str, UncarriedCell] = {}
    for anchor, points in loops.items():
        if anchor in with_cell_carry:
            continue
        carried = carried_names(points[0].loop.loop.node)
        if not carried:
            continue  # nothing is handed from step to step: not backpropagation through time
        # a carry set up before the loop is judged by the checks of carried gradients
        carried |= set(zero_inits(points[0].loop))
        defined: dict[str, cst.CSTNode] = {}
        for point in points:
            for name in _cell_gradients(model, point, defined):
                if name not in found and _handed_on(points, name, carried) is False:
                    found[name] = UncarriedCell(defined[name], name)
            target = _single_name(point.statement)
            if target is not None:
                defined[target] = point.statement
    return list(found.values())


def _cell_gradients(model, point, defined: dict[str, cst.CSTNode]) -> list[str]:
    """The one name this loop computed that a product multiplies by an earlier cell state
    (``dc * c_prev``, ``dc * self.cs[t] * f * (1 - f)``): the cell state's gradient."""
    value = statement_value(point.statement)
    reader = model.reader(point)
    found = []
    for product in walk(value) if value is not None else []:
        parts = factors(product) if isinstance(product, cst.BaseExpression) else []
        if len(parts) < 2:
            continue
        facts = [reader.fact(part) for part in parts]
        cells = [f for f in facts if f is not None and f.kind == F.STATE and f.state == "c"]
        computed = [
            part.value
            for part, fact in zip(parts, facts, strict=True)
            if isinstance(part, cst.Name) and part.value in defined and fact is None
        ]
        if len(cells) == 1 and cells[0].step != 0 and len(computed) == 1:
            found.append(computed[0])
    return found


def _single_name(statement: cst.CSTNode) -> str | None:
    if (
        isinstance(statement, cst.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0].target, cst.Name)
    ):
        return statement.targets[0].target.value
    return None


def _handed_on(points, name: str, carried: set[str]) -> bool | None:
    """Whether a carried name is computed from ``name`` elementwise (through products with a
    weight a gradient changes meaning: that is the hidden state's path); None when something
    computed from it is stored where the loop's names cannot follow (``self.dc = dc * f``)."""
    derived = {name}
    for _ in range(2):  # a carry assigned at the top of the body from the pass before
        for point in points:
            statement = point.statement
            # a sum kept in place (``dbf += df``) is an accumulator, not a carry
            if not isinstance(statement, cst.Assign) or not _feeds(statement.value, derived):
                continue
            for target in (t.target for t in statement.targets):
                names = [n.value for n in walk(target) if isinstance(n, cst.Name)]
                if not isinstance(target, cst.Name | cst.Tuple | cst.List):
                    return None
                derived.update(names)
    return bool(derived & carried)


def _feeds(value: cst.BaseExpression, derived: set[str]) -> bool:
    """Whether a name of ``derived`` reaches ``value`` other than through a matrix product."""
    above = parents(value)
    for node in walk(value):
        if not isinstance(node, cst.Name) or node.value not in derived:
            continue
        current, through_product = node, False
        while id(current) in above and current is not value:
            current = above[id(current)]
            if isinstance(current, cst.BaseExpression) and matmul_operands(current) is not None:
                through_product = True
                break
        if not through_product:
            return True
    return False

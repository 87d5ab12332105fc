"""How gradients move through backward code: gate branches, derivative factors and carried state.

``branch_uses``: a gradient that was multiplied by a gate's partner in the forward product
(``dc * c_prev`` is the forget gate's branch) and then used in a matrix product or a bias sum,
with whether the gate's derivative factor was applied on the way.
``carries``: gradients carried from one backward step to the previous one (``dh_next``,
``dc_next``): whether they are updated and read in the loop, and with which factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import factors, is_call_to, matmul_operands, strip_transpose, terms
from lstmlint.analysis.backward import ACT, IDENTITY, OK, Group, groups, statement_value
from lstmlint.analysis.flow import LoopInfo, Point, _one_minus
from lstmlint.analysis.names import key_of, walk

PARTNERS = {"g": "i", "i": "g"}  # c = f*c_prev + i*g: the gradient of i is dc * g, of g is dc * i


@dataclass
class BranchUse:
    node: cst.CSTNode  # the matrix product or sum that uses the gradient
    name: str  # the gradient variable
    gate: str  # whose derivative factor is missing
    point: Point


@dataclass
class Carry:
    name: str
    init: cst.CSTNode
    reads: list[cst.CSTNode] = field(default_factory=list)
    writes: list[tuple[cst.CSTNode, Point]] = field(default_factory=list)
    is_cell: bool = False
    loop: LoopInfo | None = None


def _regions(points: list[Point]) -> list[list[Point]]:
    """Backward points grouped by their loop (or by their function when there is no loop)."""
    grouped: dict[int, list[Point]] = {}
    for point in points:
        if point.in_region:
            anchor = point.loop.loop.node if point.loop is not None else point.scope.node
            grouped.setdefault(id(anchor), []).append(point)
    return list(grouped.values())


def _target_names(statement: cst.CSTNode) -> list[str]:
    if isinstance(statement, cst.Assign):
        names = []
        for target in statement.targets:
            names.extend(_names_of(target.target))
        return names
    if isinstance(statement, cst.AugAssign | cst.AnnAssign):
        return _names_of(statement.target)
    return []


def _names_of(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Tuple | cst.List):
        return [n for e in target.elements for n in _names_of(e.value)]
    key = key_of(target)
    return [key] if key else []


def _stack_parts(value: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    if (
        is_call_to(value, "hstack", "vstack", "concatenate", "row_stack", "column_stack")
        and value.args
    ):
        inner = value.args[0].value
        if isinstance(inner, cst.Tuple | cst.List):
            return [e.value for e in inner.elements]
    return None


class _Marks:
    """Per-variable markers: ``partner:X`` (on gate X's branch), ``deriv:X`` (its factor applied)."""

    def __init__(self, model) -> None:
        self.model = model
        self.marks: dict[str, list[frozenset[str]]] = {}
        self.defs: dict[str, cst.BaseExpression] = {}  # the last value assigned to each name
        self.gru = any(label.gate in ("z", "r") for label in model._flow.labels.values())

    def _gru_partner(self, reader, part: cst.BaseExpression) -> str | None:
        """h = (1 - z) * n + z * h_prev and n = tanh(W x + r * (U h_prev) + b): each gate's partner."""
        one_minus = _one_minus(part)
        if one_minus is not None and _gate_of(reader, one_minus) == "z":
            return "n"
        if isinstance(part, cst.BinaryOperation) and isinstance(
            part.operator, cst.Add | cst.Subtract
        ):
            gates = {_gate_of(reader, t) for _, t in terms(part)}
            if {"h", "n"} <= gates:
                return "z"
        definition = self.defs.get(part.value) if isinstance(part, cst.Name) else part
        operands = matmul_operands(definition) if definition is not None else None
        if operands is not None and any(_gate_of(reader, o) == "h" for o in operands):
            return "r"
        return None

    def of(self, node: cst.BaseExpression) -> list[frozenset[str]] | None:
        key = key_of(strip_transpose(node))
        return self.marks.get(key) if key else None

    def compute(
        self, reader, point: Point, value: cst.BaseExpression, found: list[Group]
    ) -> list[frozenset[str]]:
        parts = _stack_parts(value)
        if parts is not None:
            components: list[frozenset[str]] = []
            for part in parts:
                components.extend(self.of(part) or [frozenset()])
            return components
        result: set[str] = set()
        for _, term in terms(value):
            result |= self._term(reader, term, found)
        return [frozenset(result)]

    def _term(self, reader, term: cst.BaseExpression, found: list[Group]) -> set[str]:
        parts = factors(term)
        partner = None
        inherited: set[str] = set()
        in_derivative = {id(n) for g in found if g.kind not in (IDENTITY, None) for n in g.nodes}
        for part in parts:
            marks = self.of(part)
            if marks:
                for component in marks:
                    inherited |= component
            bare = strip_transpose(part)
            fact = (
                reader.fact(bare)
                if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript)
                else None
            )
            if id(part) in in_derivative:
                continue
            if fact is not None and fact.kind == F.STATE and fact.state == "c":
                partner = "f"
            elif fact is not None and fact.kind == F.ACT and fact.gate in PARTNERS:
                partner = PARTNERS[fact.gate]
            elif reader.activation_call(part) == "tanh":
                inner = reader.fact(reader.call_argument(part))
                if inner is not None and inner.state == "c":
                    partner = "o"
            elif self.gru:
                partner = self._gru_partner(reader, part) or partner
            operands = matmul_operands(part)
            if operands is not None and any(self.of(o) or _is_prob(reader, o) for o in operands):
                inherited.add("needs:h")
        derived = set()
        for group in found:
            if group.kind in (IDENTITY, None) or not any(n in parts for n in group.nodes):
                continue
            derived.add(f"deriv:{group.fact.gate}" if group.fact.gate else "deriv:*")
            if group.fact.kind == F.STATE and group.fact.state == "h" and group.kind == OK:
                derived.add("deriv:h")
            if group.fact.kind == F.STATE and group.fact.state == "c" and group.kind == OK:
                derived.add("cellpath")
        base = {f"partner:{partner}"} if partner else inherited
        return base | derived


def _gate_of(reader, node: cst.BaseExpression) -> str | None:
    bare = strip_transpose(node)
    fact = reader.fact(bare) if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript) else None
    if fact is None:
        return None
    return fact.gate or ("h" if fact.kind == F.STATE and fact.state == "h" else None)


def _is_prob(reader, node: cst.BaseExpression) -> bool:
    bare = strip_transpose(node)
    fact = reader.fact(bare) if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript) else None
    return fact is not None and fact.kind == F.PROB


def _vanilla(model) -> bool:
    has_tanh_state = False
    for env in model.flow.envs.values():
        for fact in env.values():
            target = fact.elem if fact.kind == F.SEQ and fact.elem is not None else fact
            if target.gate:
                return False
            if target.kind == F.STATE and target.act == "tanh":
                has_tanh_state = True
    return has_tanh_state


def _branch_uses(model) -> list[BranchUse]:
    uses: list[BranchUse] = []
    vanilla = _vanilla(model)
    for region in _regions(model.points):
        marks = _Marks(model)
        reported: set[str] = set()
        for point in region:
            value = statement_value(point.statement)
            if value is None:
                continue
            reader = model.reader(point)
            found = groups(reader, point)
            for node, name in _uses(value, point.statement):
                component_marks = marks.marks.get(name)
                if not component_marks or name in reported:
                    continue
                for component in component_marks:
                    missing = [
                        m.split(":")[1]
                        for m in component
                        if m.startswith("partner:")
                        and f"deriv:{m.split(':')[1]}" not in component
                        and "deriv:*" not in component
                    ]
                    if (
                        not missing
                        and vanilla
                        and "needs:h" in component
                        and "deriv:h" not in component
                        and not any(m.startswith("partner:") for m in component)
                    ):
                        missing = ["h"]
                    if missing:
                        uses.append(BranchUse(node, name, missing[0], point))
                        reported.add(name)
                        break
            computed = marks.compute(reader, point, value, found)
            for target in _target_names(point.statement):
                marks.defs[target] = value
                if isinstance(point.statement, cst.AugAssign) and isinstance(
                    point.statement.operator, cst.MultiplyAssign
                ):
                    previous = marks.marks.get(target, [frozenset()])
                    marks.marks[target] = [p | c for p in previous for c in computed[:1]]
                elif isinstance(point.statement, cst.AugAssign):
                    previous = marks.marks.get(target, [frozenset()])
                    marks.marks[target] = [frozenset(set().union(*previous, *computed))]
                elif isinstance(
                    point.statement.targets[0].target
                    if isinstance(point.statement, cst.Assign)
                    else None,
                    cst.Name,
                ):
                    marks.marks[target] = computed
    return uses


def _uses(value: cst.BaseExpression, statement: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """Gradient variables used in a matrix product, or summed into an accumulator (a bias gradient)."""
    found: list[tuple[cst.CSTNode, str]] = []

    class Visitor(cst.CSTVisitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            self._check(node)

        def visit_Call(self, node: cst.Call) -> None:
            self._check(node)
            if is_call_to(node, "sum") and node.args:
                key = key_of(strip_transpose(node.args[0].value))
                if key:
                    found.append((node, key))
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "sum":
                key = key_of(strip_transpose(node.func.value))
                if key:
                    found.append((node, key))

        def _check(self, node) -> None:
            operands = matmul_operands(node)
            if operands is None:
                return
            for operand in operands:
                key = key_of(strip_transpose(operand))
                if key:
                    found.append((node, key))

    value.visit(Visitor())
    if isinstance(statement, cst.AugAssign) and isinstance(statement.operator, cst.AddAssign):
        key = key_of(value)
        if key:
            found.append((value, key))
    return found


# carried gradients -----------------------------------------------------------------------
def _zero_inits(before: list[cst.CSTNode]) -> dict[str, tuple[cst.CSTNode, cst.BaseExpression]]:
    inits: dict[str, tuple[cst.CSTNode, cst.BaseExpression]] = {}
    for statement in before:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                continue
            target, value = small.targets[0].target, small.value
            pairs = []
            if (
                isinstance(target, cst.Tuple)
                and isinstance(value, cst.Tuple)
                and len(target.elements) == len(value.elements)
            ):
                pairs = [
                    (t.value, v.value) for t, v in zip(target.elements, value.elements, strict=True)
                ]
            else:
                pairs = [(target, value)]
            for name_node, init in pairs:
                if isinstance(name_node, cst.Name) and _is_zero(init):
                    inits[name_node.value] = (small, init)
    return inits


def _is_zero(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer | cst.Float):
        return float(node.evaluated_value) == 0.0
    return is_call_to(node, "zeros", "zeros_like", "empty_like")


def zero_inits(info: LoopInfo) -> dict[str, tuple[cst.CSTNode, cst.BaseExpression]]:
    return _zero_inits(info.before)


def _reads(value: cst.BaseExpression) -> list[cst.Name]:
    return [n for n in walk(value, attribute_names=False) if isinstance(n, cst.Name)]


def _carries(model) -> list[Carry]:
    result: list[Carry] = []
    if not model.is_rnn:
        return result
    by_loop: dict[int, list[Point]] = {}
    for point in model.points:
        if point.loop is not None:
            by_loop.setdefault(id(point.loop.loop.node), []).append(point)
    for info in model.flow.loops:
        if info.loop.direction != "backward":
            continue
        points = by_loop.get(id(info.loop.node), [])
        inits = zero_inits(info)
        if not inits or not points:
            continue
        cellgrad: set[str] = set()
        carried: dict[str, Carry] = {}
        histories = {
            n.value.value
            for p in points
            if statement_value(p.statement) is not None
            for n in _subscripts(statement_value(p.statement))
        }
        feeds: dict[str, set[str]] = {}
        for point in points:
            statement = point.statement
            value = statement_value(statement)
            if value is None:
                continue
            targets = _target_names(statement)
            reader = model.reader(point)
            found = groups(reader, point)
            if any(
                g.kind not in (None, IDENTITY, ACT)
                and g.fact.kind == F.STATE
                and g.fact.state == "c"
                for g in found
            ) or (
                any(n.value in cellgrad for n in _reads(value))
                and not _has_gate_factor(reader, value)
            ):
                cellgrad.update(t for t in targets)
            subscripted = {n.value.value for n in _subscripts(value)}
            for name in _reads(value):
                if (
                    name.value in inits
                    and name.value not in subscripted
                    and not _self_accumulates(statement, name.value)
                ):
                    carry = carried.setdefault(
                        name.value, Carry(name.value, inits[name.value][0], loop=info)
                    )
                    carry.reads.append(name)
                    feeds.setdefault(name.value, set()).update(targets)
            for target in targets:
                if target in inits:
                    carry = carried.setdefault(target, Carry(target, inits[target][0], loop=info))
                    carry.writes.append((statement, point))
        for carry in carried.values():
            if (
                any(isinstance(statement, cst.AugAssign) for statement, _ in carry.writes)
                or carry.name in histories
            ):
                continue  # an accumulator (dW += ...) or a history indexed by time, not a carried gradient
            carry.is_cell = bool(feeds.get(carry.name, set()) & cellgrad)
            result.append(carry)
    return result


def _subscripts(value: cst.BaseExpression) -> list[cst.Subscript]:
    return [
        n for n in walk(value) if isinstance(n, cst.Subscript) and isinstance(n.value, cst.Name)
    ]


def _self_accumulates(statement: cst.CSTNode, name: str) -> bool:
    return isinstance(statement, cst.AugAssign) and key_of(statement.target) == name


def _has_gate_factor(reader, value: cst.BaseExpression) -> bool:
    for _, term in terms(value):
        for part in factors(term):
            bare = strip_transpose(part)
            fact = (
                reader.fact(bare)
                if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript)
                else None
            )
            if fact is not None and fact.kind == F.ACT and fact.gate:
                return True
    return False


def forget_factor(reader, value: cst.BaseExpression) -> bool:
    for _, term in terms(value):
        for part in factors(term):
            bare = strip_transpose(part)
            fact = (
                reader.fact(bare)
                if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript)
                else None
            )
            if fact is not None and fact.kind == F.ACT and fact.gate == "f":
                return True
    return False


def _has_cell_derivative(reader, point: Point) -> bool:
    return any(
        g.kind not in (None, IDENTITY, ACT) and g.fact.kind == F.STATE and g.fact.state == "c"
        for g in groups(reader, point)
    )


def step_cell_carries(model) -> list[tuple[cst.CSTNode, cst.BaseExpression]]:
    """In per-step backward functions: the returned previous-cell gradient, when it lacks the forget gate."""
    problems: list[tuple[cst.CSTNode, cst.BaseExpression]] = []
    by_scope: dict[int, list[Point]] = {}
    for point in model.points:
        if point.in_region and point.loop is None:
            by_scope.setdefault(id(point.scope.node), []).append(point)
    for points in by_scope.values():
        cellgrad: set[str] = set()
        assigned: dict[str, tuple[cst.CSTNode, cst.BaseExpression, Point]] = {}
        returned: set[str] = set()
        for point in points:
            statement = point.statement
            value = statement_value(statement)
            if value is None:
                continue
            if isinstance(statement, cst.Return):
                returned.update(n.value for n in _reads(value))
                continue
            reader = model.reader(point)
            targets = _target_names(statement)
            if _has_cell_derivative(reader, point):
                cellgrad.update(targets)
            for target in targets:
                assigned[target] = (statement, value, point)
        for name in returned - cellgrad:
            if name not in assigned:
                continue
            statement, value, point = assigned[name]
            reads = {n.value for n in _reads(value)}
            if (
                reads & cellgrad
                and not forget_factor(model.reader(point), value)
                and matmul_operands(value) is None
            ):
                problems.append((statement, value))
    return problems


def initial_sized(model) -> list[tuple[cst.CSTNode, str]]:
    """``np.zeros_like(h[0])`` before a backward loop, where ``h[0]`` is a prepended initial state."""
    found: list[tuple[cst.CSTNode, str]] = []
    by_loop: dict[int, Point] = {}
    for point in model.points:
        if point.loop is not None:
            by_loop.setdefault(id(point.loop.loop.node), point)
    for info in model.flow.loops:
        point = by_loop.get(id(info.loop.node))
        if info.loop.direction != "backward" or point is None:
            continue
        reader = model.reader(point)
        for _, init in zero_inits(info).values():
            if not isinstance(init, cst.Call) or not init.args:
                continue
            argument = init.args[0].value
            while isinstance(argument, cst.Attribute) and argument.attr.value == "shape":
                argument = argument.value
            if not isinstance(argument, cst.Subscript) or len(argument.slice) != 1:
                continue
            index = argument.slice[0].slice
            if not (
                isinstance(index, cst.Index)
                and isinstance(index.value, cst.Integer)
                and index.value.value == "0"
            ):
                continue
            seq = reader.fact(argument.value)
            if (
                seq is not None
                and seq.kind == F.SEQ
                and seq.convention == F.PREPENDED
                and seq.elem is not None
                and seq.elem.kind == F.STATE
            ):
                found.append((argument, cst.Module([]).code_for_node(argument)))
    return found


def branch_uses(model):
    return model.memo("branch_uses", _branch_uses)


def carries(model):
    return model.memo("carries", _carries)

"""How gradients move through backward code: gate branches, derivative factors and carried state.

``branch_uses``: a gradient that was multiplied by a gate's partner in the forward product
(``dc * c_prev`` is the forget gate's branch) and then used in a matrix product or a bias sum,
with whether the gate's derivative factor was applied on the way.
``carries``: gradients carried from one backward step to the previous one (``dh_next``,
``dc_next``): whether they are updated and read in the loop, and with which factor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import (
    factors,
    is_call_to,
    matmul_operands,
    mentions,
    strip_transpose,
    terms,
)
from lstmlint.analysis.backward import ACT, IDENTITY, OK, Group, groups, statement_value
from lstmlint.analysis.flow import LoopInfo, Point, _one_minus
from lstmlint.analysis.names import (
    code_of,
    dotted,
    key_of,
    memoised,
    named_gate,
    nodes_of,
    parents,
    string_key,
    walk,
)

PARTNERS = {"g": "i", "i": "g"}  # c = f*c_prev + i*g: the gradient of i is dc * g, of g is dc * i


@dataclass
class BranchUse:
    node: cst.CSTNode  # the matrix product or sum that uses the gradient
    name: str  # the gradient variable
    gate: str  # whose derivative factor is missing
    point: Point
    # for a stacked gradient (`da = np.hstack((di, df, ...))`): which part lacks it, of how many
    part: tuple[int, int] | None = None
    # the gate's own value among the gradient's factors (`di = dc * g * i`): its activation
    # where its derivative belongs
    own: cst.BaseExpression | None = None


@dataclass
class Carry:
    name: str
    init: cst.CSTNode
    reads: list[cst.CSTNode] = field(default_factory=list)
    writes: list[tuple[cst.CSTNode, Point]] = field(default_factory=list)
    is_cell: bool = False
    loop: LoopInfo | None = None
    assigned: frozenset[str] = frozenset()  # names the loop body assigns (gradients, mostly)
    cell_gradients: frozenset[str] = frozenset()  # names that hold the cell state's gradient


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
        self.reset = any(label.gate == "r" for label in model._flow.labels.values())
        self.spread_z = False

    def _gru_partner(self, reader, part: cst.BaseExpression, gradient: bool) -> str | None:
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
        if self.reset and not self.spread_z and _gate_of(reader, part) == "h" and gradient:
            return "r"  # n = tanh(W x + U (r * h_prev) + b): the reset gate's partner is h_prev
        return None

    def _carries_gradient(self, part: cst.BaseExpression) -> bool:
        """A gradient the marks follow, or a product of a weight with one (``Uh.T @ dn``)."""
        operands = matmul_operands(strip_transpose(part))
        return bool(self.of(part)) or any(self.of(o) for o in operands or [])

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
        whole = any(g.nodes == [value] for g in found)  # `dtanh = 1 - h ** 2`: one factor
        # `dz = dh * n - dh * h_prev`: the update gate's partner spread over two terms
        spread = {_gate_of(reader, p) for _, t in terms(value) for p in factors(t)}
        self.spread_z = {"h", "n"} <= spread
        for _, term in [(1, value)] if whole else terms(value):
            result |= self._term(reader, term, found)
        return [frozenset(result)]

    def _term(self, reader, term: cst.BaseExpression, found: list[Group]) -> set[str]:
        parts = factors(term)
        partner = None
        inherited: set[str] = set()
        unnamed_derivative = False
        # `do = dh * np.tanh(c)`: tanh of the cell is the output gate's partner, not a
        # derivative attempted on it
        cell_tanh = {id(p) for p in parts if reader.tanh_of_cell(p)}
        in_derivative = {
            id(n)
            for g in found
            if g.kind not in (IDENTITY, None) and not all(id(n) in cell_tanh for n in g.nodes)
            for n in g.nodes
        }
        for part in parts:
            marks = self.of(part)
            if marks:
                for component in marks:
                    inherited |= component
            bare = strip_transpose(part)
            fact = _factor_fact(reader, part)
            if id(part) in in_derivative:
                continue
            if isinstance(bare, cst.Call):
                called = reader.fact(bare)
                if called is not None and called.kind == F.DERIV:
                    # sigmoid(a_f, derivative=True) on a value not recognised as a gate's: a
                    # derivative is there, of a gate that cannot be told
                    unnamed_derivative = True
                elif called is None and DERIVATIVE_NAME.search(dotted(bare.func) or ""):
                    # cell.dtanh(h), act.backward(h): a derivative the analysis cannot read
                    unnamed_derivative = True
            if fact is not None and fact.kind == F.STATE and fact.state == "c":
                partner = "f"
            elif fact is not None and fact.kind == F.ACT and fact.gate in PARTNERS:
                partner = PARTNERS[fact.gate]
            elif reader.tanh_of_cell(part):
                partner = "o"
            elif self.gru and len(parts) > 1:  # a lone W @ h is the forward recomputed
                # h_prev times a gradient, no gate among the factors (`r * h_prev` is the
                # forward recomputed)
                gradient = any(self._carries_gradient(p) for p in parts) and not any(
                    _gate_of(reader, p) not in (None, "h") for p in parts
                )
                partner = self._gru_partner(reader, part, gradient) or partner
            operands = matmul_operands(part)
            if operands is not None and any(self.of(o) or _is_prob(reader, o) for o in operands):
                inherited.add("needs:h")
        if _recomputed_derivative(reader, parts):
            unnamed_derivative = True
        derived = {"deriv:*"} if unnamed_derivative else set()
        for group in found:
            if group.kind in (IDENTITY, None) or not any(n in parts for n in group.nodes):
                continue
            if all(id(n) in cell_tanh for n in group.nodes):
                continue
            derived.add(f"deriv:{group.fact.gate}" if group.fact.gate else "deriv:*")
            if group.fact.kind == F.STATE and group.fact.state == "h" and group.kind == OK:
                derived.add("deriv:h")
            if group.fact.kind == F.STATE and group.fact.state == "c" and group.kind == OK:
                derived.add("cellpath")
        base = {f"partner:{partner}"} if partner else inherited
        return base | derived


def _recomputed_derivative(reader, parts: list[cst.BaseExpression]) -> bool:
    """A derivative written on the activation recomputed from its argument, whatever that
    argument holds: ``1 - np.tanh(a) * np.tanh(a)``, ``(1 - np.tanh(a) ** 2)``,
    ``sigmoid(a) * (1 - sigmoid(a))``."""

    def text(node: cst.BaseExpression) -> str:
        return code_of(node.with_changes(lpar=[], rpar=[]))

    texts = {text(p) for p in parts}
    for part in parts:
        rest = _one_minus(part)
        if rest is None:
            continue
        if (reader.activation_call(rest) == "sigmoid" or _unknown(reader, rest)) and text(
            rest
        ) in texts:
            return True  # s * (1 - s), also of a stored value the analysis knows nothing of
        if isinstance(rest, cst.BinaryOperation):
            if isinstance(rest.operator, cst.Multiply):
                pair = (rest.left, rest.right)
            elif isinstance(rest.operator, cst.Power) and code_of(rest.right) == "2":
                pair = (rest.left, rest.left)
            else:
                continue
            left, right = pair
            if text(left) == text(right) and (
                reader.activation_call(left) == "tanh" or _unknown(reader, left)
            ):
                return True
    return False


def _unknown(reader, node: cst.BaseExpression) -> bool:
    """A stored value (``hidden_states[t]``) the analysis has no fact for: a derivative
    written on it (``1 - v**2``) may be the derivative at an output it cannot see."""
    bare = node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node
    return isinstance(bare, cst.Name | cst.Attribute | cst.Subscript) and reader.fact(bare) is None


def _factor_fact(reader, node: cst.BaseExpression) -> F.Fact | None:
    """What a stored value (a name, attribute or subscript, transposes aside) holds."""
    bare = strip_transpose(node)
    return reader.fact(bare) if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript) else None


def _gate_of(reader, node: cst.BaseExpression) -> str | None:
    fact = _factor_fact(reader, node)
    if fact is None:
        return None
    return fact.gate or ("h" if fact.kind == F.STATE and fact.state == "h" else None)


def _is_prob(reader, node: cst.BaseExpression) -> bool:
    fact = _factor_fact(reader, node)
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
            aliases = _loop_aliases(point)
            uses_here = [
                (node, real)
                for node, name in _uses(value, point.statement)
                for real in aliases.get(name, [name])
            ]
            for node, name in uses_here:
                component_marks = marks.marks.get(name)
                if not component_marks or name in reported:
                    continue
                for index, component in enumerate(component_marks):
                    missing = [
                        m.split(":")[1]
                        for m in sorted(component)
                        if m.startswith("partner:")
                        and f"deriv:{m.split(':')[1]}" not in component
                        and "deriv:*" not in component
                    ]
                    if (
                        not missing
                        and vanilla
                        and "needs:h" in component
                        and "deriv:h" not in component
                        and "deriv:*" not in component
                        and not any(m.startswith("partner:") for m in component)
                    ):
                        missing = ["h"]
                    if missing:
                        part = (index, len(component_marks)) if len(component_marks) > 1 else None
                        gate = missing[0]
                        definition = marks.defs.get(name)
                        named = named_gate(name)
                        own = _own_value(reader, definition, gate)
                        if named not in (None, gate) and f"deriv:{named}" not in component:
                            # `di = dc * g * i`: the input gate's branch or the candidate's by
                            # its factors; its name says which
                            own_named = _own_value(reader, definition, named)
                            if own_named is not None:
                                gate, own = named, own_named
                        uses.append(BranchUse(node, name, gate, point, part, own))
                        reported.add(name)
                        break
            scaled = isinstance(point.statement, cst.AugAssign) and isinstance(
                point.statement.operator, cst.MultiplyAssign
            )
            if scaled:  # `dg *= (1 - g ** 2)`: the value is one factor, never a sum of terms
                value = cst.BinaryOperation(point.statement.target, cst.Multiply(), value)
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


def _own_value(reader, value: cst.BaseExpression | None, gate: str) -> cst.BaseExpression | None:
    """The factor of ``value``, a product, that is ``gate``'s own value (a sum has none)."""
    if value is None:
        return None
    found = [p for p in factors(value) if _gate_of(reader, p) == gate]
    return found[0] if len(found) == 1 else None


def _loop_aliases(point: Point) -> dict[str, list[str]]:
    """Names that a loop around ``point`` over a written-out sequence binds to each of its
    items in turn: ``for name, d in (("f", df), ("o", do))`` makes ``d`` stand for ``df``, then
    ``do``; ``for d in (df, do)`` the same."""
    above = parents(point.scope.node)
    aliases: dict[str, list[str]] = {}
    node = above.get(id(point.statement))
    while node is not None and node is not point.scope.node:
        if isinstance(node, cst.For) and isinstance(node.iter, cst.Tuple | cst.List):
            items = [element.value for element in node.iter.elements]
            if isinstance(node.target, cst.Name):
                targets, whole = [node.target], True
            elif isinstance(node.target, cst.Tuple | cst.List):
                targets, whole = [e.value for e in node.target.elements], False
            else:
                targets, whole = [], False
            for position, target in enumerate(targets):
                picked = [
                    item if whole else _element(item, position, len(targets)) for item in items
                ]
                if isinstance(target, cst.Name) and all(isinstance(p, cst.Name) for p in picked):
                    aliases.setdefault(target.value, [p.value for p in picked])
        node = above.get(id(node))
    return aliases


def _element(item: cst.BaseExpression, position: int, length: int) -> cst.BaseExpression | None:
    if isinstance(item, cst.Tuple | cst.List) and len(item.elements) == length:
        return item.elements[position].value
    return None


def _uses(value: cst.BaseExpression, statement: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """Gradient variables used in a matrix product, or summed into an accumulator (a bias gradient)."""
    found: list[tuple[cst.CSTNode, str]] = []

    def add(node: cst.CSTNode, operand: cst.BaseExpression) -> None:
        key = key_of(strip_transpose(operand))
        if key:
            found.append((node, key))

    for node in walk(value):
        if not isinstance(node, cst.BinaryOperation | cst.Call):
            continue
        for operand in matmul_operands(node) or ():
            add(node, operand)
        if isinstance(node, cst.Call):
            if is_call_to(node, "sum") and node.args:
                add(node, node.args[0].value)
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "sum":
                add(node, node.func.value)
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
    # a zero array the code before the loop already uses is a state (h, c = h0, c0), not a
    # gradient carried through the backward loop
    used = _used_before(before)
    return {name: init for name, init in inits.items() if name not in used}


def _used_before(before: list[cst.CSTNode]) -> set[str]:
    """Names the statements before a loop read, other than to size another zero array."""
    used: set[str] = set()
    for statement in before:
        for small in nodes_of(statement, cst.BaseSmallStatement):
            value = statement_value(small)
            if value is not None and not _is_zero(value):
                used.update(n.value for n in _reads(value))
        for header in nodes_of(statement, cst.For | cst.While | cst.If):
            test = header.iter if isinstance(header, cst.For) else header.test
            used.update(n.value for n in _reads(test))
    return used


def _is_zero(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer | cst.Float):
        return float(node.evaluated_value) == 0.0
    return is_call_to(node, "zeros", "zeros_like", "empty_like")


def zero_inits(info: LoopInfo) -> dict[str, tuple[cst.CSTNode, cst.BaseExpression]]:
    return memoised("zero_inits", info.loop.node, lambda _: _zero_inits(info.before))


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
        defs: dict[str, cst.BaseExpression] = {}
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
                and (
                    g.fact.kind == F.STATE
                    and g.fact.state == "c"
                    or _tanh_of_cell(reader, g.leaf, defs)
                )
                for g in found
            ) or (
                any(n.value in cellgrad for n in _reads(value))
                and not _has_gate_factor(reader, value)
            ):
                cellgrad.update(t for t in targets)
            for target in targets:
                defs[target] = value
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
            for target in targets + _written_in_place(statement, value):
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
            carry.cell_gradients = (
                frozenset(cellgrad | {carry.name}) if carry.is_cell else frozenset()
            )
            carry.assigned = frozenset(
                name for point in points for name in _target_names(point.statement)
            )
            result.append(carry)
    return result


def _tanh_of_cell(reader, node: cst.BaseExpression, defs: dict[str, cst.BaseExpression]) -> bool:
    """``tc`` in ``1 - tc ** 2`` after ``tc = np.tanh(c[t + 1])``: the cell's tanh, hoisted."""
    definition = defs.get(node.value) if isinstance(node, cst.Name) else None
    return definition is not None and reader.tanh_of_cell(definition)


def _written_in_place(statement: cst.CSTNode, value: cst.BaseExpression) -> list[str]:
    """Names a statement overwrites in place: ``dh_next[:] = ...``, ``np.dot(a, b, out=dh_next)``."""
    names = []
    if isinstance(statement, cst.Assign):
        for target in statement.targets:
            node = target.target
            if (
                isinstance(node, cst.Subscript)
                and isinstance(node.value, cst.Name)
                and all(
                    isinstance(e.slice, cst.Slice)
                    and e.slice.lower is None
                    and e.slice.upper is None
                    or isinstance(e.slice, cst.Index)
                    and isinstance(e.slice.value, cst.Ellipsis)
                    for e in node.slice
                )
            ):
                names.append(node.value.value)
    for node in walk(value):
        if isinstance(node, cst.Call):
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "out":
                    if isinstance(arg.value, cst.Name):
                        names.append(arg.value.value)
    return names


def _subscripts(value: cst.BaseExpression) -> list[cst.Subscript]:
    return [
        n for n in walk(value) if isinstance(n, cst.Subscript) and isinstance(n.value, cst.Name)
    ]


def _self_accumulates(statement: cst.CSTNode, name: str) -> bool:
    return isinstance(statement, cst.AugAssign) and key_of(statement.target) == name


def _has_gate_factor(reader, value: cst.BaseExpression) -> bool:
    return any(fact.gate for fact in _gate_outputs(reader, value))


def forget_factor(reader, value: cst.BaseExpression) -> bool:
    return any(fact.gate == "f" for fact in _gate_outputs(reader, value))


def _gate_outputs(reader, value: cst.BaseExpression) -> Iterator[F.Fact]:
    """The facts of the factors of ``value`` that are activation outputs."""
    for _, term in terms(value):
        for part in factors(term):
            fact = _factor_fact(reader, part)
            if fact is not None and fact.kind == F.ACT:
                yield fact


def lacks_forget_gate(reader, value: cst.BaseExpression, assigned: frozenset[str]) -> bool:
    """Some term of the carried cell gradient ``value`` has no factor that is, or may be, the
    forget gate (``dc`` in ``dc + df * p_f``, a peephole's extra terms being gated by their
    own weights).

    A factor may be the gate without being recognised as one: a sigmoid computed on the spot
    (``dc * sigmoid(a_f)``), a stored sigmoid of an unknown gate, or a value the analysis knows
    nothing about that the backward loop did not compute (``dc * fs[t]``). Only a term made of
    gradients and of values known to be something else counts as lacking the gate."""
    return any(
        not any(_may_be_forget_gate(reader, part, assigned) for part in factors(term))
        for _, term in terms(value)
    )


def gated_where_read(model, carry: Carry) -> bool:
    """Every read of the carried cell gradient is multiplied by what may be the forget gate
    (``dc_future * f[t + 1]``): the gate is applied where the carry is used, not where it is set."""
    if not carry.reads:
        return False
    for node in carry.reads:
        point = next(
            (p for p in model.region_points if any(n is node for n in walk(p.statement))), None
        )
        value = statement_value(point.statement) if point is not None else None
        if value is None:
            return False
        term = next((t for _, t in terms(value) if any(n is node for n in walk(t))), None)
        others = [f for f in factors(term) if not any(n is node for n in walk(f))] if term else []
        reader = model.reader(point)
        if not any(_may_be_forget_gate(reader, part, carry.assigned) for part in others):
            return False
    return True


def _may_be_forget_gate(reader, part: cst.BaseExpression, assigned: frozenset[str]) -> bool:
    bare = strip_transpose(part)
    if reader.activation_call(bare) == "sigmoid":
        return True
    if not isinstance(bare, cst.Name | cst.Attribute | cst.Subscript):
        return False
    fact = reader.fact(bare)
    if fact is None:
        return (key_of(_base(bare)) or "") not in assigned
    if fact.kind == F.ACT and fact.gate == "f":
        return True
    return fact.kind == F.ACT and fact.act == "sigmoid" and not fact.gate


def _base(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Subscript):
        node = node.value
    return node


def _has_cell_derivative(reader, point: Point) -> bool:
    return any(
        g.kind not in (None, IDENTITY, ACT) and g.fact.kind == F.STATE and g.fact.state == "c"
        for g in groups(reader, point)
    )


CONTAINERS = (cst.Dict, cst.Tuple, cst.List)
# the last name of a call that computes an activation's derivative by its name
DERIVATIVE_NAME = re.compile(
    r"(^|\.)(d_?(tanh|sigm\w*|sig|act\w*|relu)|\w*(deriv|prime|grad)\w*|backward)$", re.IGNORECASE
)
CELL_GRADIENT_KEY = re.compile(r"^d_?(c|cell)(_?prev|_?next|_?t|_?0)?$|^d_?prev_?c$", re.IGNORECASE)


@dataclass
class StepCarry:
    """The previous cell's gradient returned by a per-step backward function without the
    forget gate: its statement, value, the point there and the names holding the cell gradient."""

    statement: cst.CSTNode
    value: cst.BaseExpression
    point: Point
    cell_gradients: frozenset[str]


def step_function_points(model) -> list[list[Point]]:
    """The points of each backward function outside any backward loop (a per-step backward),
    grouped by function, in order."""
    by_scope: dict[int, list[Point]] = {}
    for point in model.points:
        if point.in_region and point.loop is None:
            by_scope.setdefault(id(point.scope.node), []).append(point)
    return list(by_scope.values())


def step_cell_carries(model) -> list[StepCarry]:
    """In per-step backward functions: the returned previous-cell gradient, when it lacks the forget gate."""
    problems: list[StepCarry] = []
    for points in step_function_points(model):
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
        for name in list(returned):
            # `return grads` with grads = {"dc_prev": dc_prev, ...}: the cell's entry is returned
            container = assigned[name][1] if name in assigned else None
            if isinstance(container, cst.Dict):
                returned.discard(name)
                for element in container.elements:
                    key = string_key(element.key) if isinstance(element, cst.DictElement) else None
                    if key and CELL_GRADIENT_KEY.search(key):
                        returned.update(n.value for n in _reads(element.value))
        for name in returned - cellgrad:
            if name not in assigned:
                continue
            statement, value, point = assigned[name]
            if isinstance(value, CONTAINERS):
                continue
            reads = {n.value for n in _reads(value)}
            if (
                reads & cellgrad
                and lacks_forget_gate(model.reader(point), value, frozenset(assigned))
                and matmul_operands(value) is None
            ):
                problems.append(StepCarry(statement, value, point, frozenset(cellgrad)))
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


def read_after_loop(carry: Carry) -> bool:
    """A name the loop writes and the code after the loop reads (``dh0 = dh_prev`` in the loop,
    then ``return dx, dh0``) is the loop's output, not a gradient that was meant to be carried."""
    loop = carry.loop.loop.node
    nodes = walk(carry.loop.scope.node, attribute_names=False)
    inside = {id(n) for n in walk(loop, attribute_names=False)}
    after = False
    for node in nodes:
        if node is loop:
            after = True
        elif after and id(node) not in inside and isinstance(node, cst.Name):
            if node.value == carry.name:
                return True
    return False


# fix edits ---------------------------------------------------------------------------------
def _region_points(model, point: Point) -> list[Point]:
    """The points of ``point``'s backward loop, or of its function when it is in no loop."""
    if point.loop is not None:
        anchor = point.loop.loop.node
        return [p for p in model.points if p.loop is not None and p.loop.loop.node is anchor]
    return [p for p in model.points if p.scope.node is point.scope.node and p.loop is None]


def spelled(model, point: Point, wanted) -> str | None:
    """How the code around ``point`` reads the one value ``wanted(fact)`` accepts (a gate at
    this step: ``f[t]``, ``f``, ``self.f[t]``): its one spelling among the reads of its loop
    or function and the plain variables in force, or None when there is none or several."""
    found: set[str] = set()
    for key, fact in point.env.items():
        if "[" not in key and ":" not in key and wanted(fact):
            found.add(key)
    for other in _region_points(model, point):
        value = statement_value(other.statement)
        if value is None:
            continue
        reader = model.reader(other)
        for node in walk(value):
            if isinstance(node, cst.Attribute) and node.attr.value == "T":
                continue  # the transpose of a read, not a spelling of it
            if isinstance(node, cst.Subscript | cst.Name | cst.Attribute):
                fact = reader.fact(node)
                if fact is not None and wanted(fact):
                    found.add(cst.Module([]).code_for_node(node))
    return found.pop() if len(found) == 1 else None


def _gate(name: str):
    return lambda fact: fact.kind == F.ACT and fact.gate == name and not fact.wraps


def _current_h(fact) -> bool:
    return fact.kind == F.STATE and fact.state == "h" and fact.step == 0 and not fact.wraps


def _times(model, point: Point, value: cst.BaseExpression, factor: str) -> str:
    from lstmlint.edits import precedence

    text = cst.Module([]).code_for_node(value)
    if precedence(value) < 70:
        text = f"({text})"
    return f"{text} * {factor}"


def derivative_factor(model, point: Point, gate: str) -> str | None:
    """``f[t] * (1 - f[t])``, ``(1 - g[t]**2)``, ``(1 - hs[t]**2)`` in the file's spelling."""
    if gate in ("f", "i", "o", "z", "r"):
        value = spelled(model, point, _gate(gate))
        return f"{value} * (1 - {value})" if value else None
    if gate in ("g", "n"):
        value = spelled(model, point, _gate(gate))
        return f"(1 - {value}**2)" if value else None
    if gate == "h":
        value = spelled(model, point, _current_h)
        return f"(1 - {value}**2)" if value else None
    return None


def branch_edits(model, use: BranchUse) -> list[tuple[cst.CSTNode, str]]:
    """Multiply the gradient by its gate's derivative where it was last assigned before this
    use (``df = dC * C_prev`` -> ``df = dC * C_prev * f[t] * (1 - f[t])``)."""
    factor = derivative_factor(model, use.point, use.gate)
    if factor is None:
        return []
    definition = None
    for point in _region_points(model, use.point):
        if point.statement is use.point.statement:
            break
        if _target_names(point.statement) == [use.name]:
            definition = point
    if definition is None or not isinstance(definition.statement, cst.Assign):
        return []
    # a statement that already multiplies the gradient by the derivative (``da_f = df * f *
    # (1 - f)``) would get the factor twice: the flagged read should use that result instead
    spelling = spelled(model, use.point, _current_h if use.gate == "h" else _gate(use.gate))
    for point in _region_points(model, use.point):
        value = statement_value(point.statement)
        if point is definition or value is None or spelling is None:
            continue
        code = cst.Module([]).code_for_node(value).replace(" ", "")
        reads = any(isinstance(n, cst.Name) and n.value == use.name for n in walk(value))
        if reads and f"1-{spelling}".replace(" ", "") in code:
            return []
    value = definition.statement.value
    parts = _stack_parts(value)
    if parts is not None:  # only the stacked part on that gate's branch gets the factor
        if use.part is None or use.part[1] != len(parts):
            return []
        value = parts[use.part[0]]
    return [(value, _times(model, definition, value, factor))]


def forget_edits(model, statement: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """``dC_next = dC`` -> ``dC_next = dC * f[t]``, with the forget gate as the code spells it."""
    point = next((p for p in model.points if p.statement is statement), None)
    if point is None or not isinstance(statement, cst.Assign):
        return []
    gate = spelled(model, point, _gate("f"))
    if gate is None:
        return []
    return [(statement.value, _times(model, point, statement.value, gate))]


def _loads(scope_node: cst.CSTNode, name: str) -> int:
    return sum(
        1
        for n in walk(scope_node, attribute_names=False)
        if isinstance(n, cst.Name) and n.value == name
    )


# how the gradient carried to the previous hidden state is named (`da_prevt`, `dh_next`)
HIDDEN_CARRY = re.compile(r"^d_?(a|h|s)_?(prev|next)_?t?$")


def lacks_update_path(model, carry: Carry) -> bool:
    """A GRU's carried hidden gradient none of whose terms goes straight through the update
    gate: ``h = z * h_prev + (1 - z) * n`` hands ``dh * z`` to the previous state (``dh * (1 -
    z)`` by the other convention) besides what flows back through the weights. Only where the
    loop reads the update gate, so that a term through it could be seen."""
    if not carry.writes or carry.is_cell or carry.loop is None:
        return False
    loop = carry.loop.loop.node
    points = [p for p in model.region_points if p.loop is not None and p.loop.loop.node is loop]
    if not any(_reads_update_gate(model.reader(p), p.statement) for p in points):
        return False
    defs = {
        names[0]: statement_value(p.statement)
        for p in points
        if len(names := _target_names(p.statement)) == 1 and isinstance(p.statement, cst.Assign)
    }
    # what is carried to the previous step is the last value the body gives it
    statement, point = carry.writes[-1]
    value = statement_value(statement)
    return value is not None and not _through_update_gate(model.reader(point), value, defs, 2)


def _reads_update_gate(reader, statement: cst.CSTNode) -> bool:
    return any(
        isinstance(n, cst.Name | cst.Subscript | cst.Attribute) and _gate_of(reader, n) == "z"
        for n in walk(statement)
    )


def _through_update_gate(reader, value: cst.BaseExpression, defs: dict, depth: int) -> bool:
    """Some term of ``value`` is a product with the update gate (or one minus it), here or in
    the definition of a name it adds (``dh_direct = dh * z``)."""
    for _, term in terms(value):
        parts = factors(term)
        if any(_gate_of(reader, _one_minus(p) or p) == "z" for p in parts):
            return True
        if depth and len(parts) == 1 and isinstance(term, cst.Name) and term.value in defs:
            definition = defs[term.value]
            if definition is not None and _through_update_gate(reader, definition, defs, depth - 1):
                return True
    return False


def unused_hidden_carries(model) -> list[Carry]:
    """Hidden-state gradients set to zero before a backward loop that never mentions them,
    while nothing at all is handed from one step of the loop to the next: the previous hidden
    state's gradient is never carried back (``da_prevt = np.zeros(...)`` and a loop calling
    ``lstm_cell_backward(da[:, :, t], dc_prevt, caches[t])``)."""
    from lstmlint.analysis.loops import carried_names

    found: list[Carry] = []
    if not model.is_rnn:
        return found
    for info in model.flow.loops:
        if info.loop.direction != "backward" or carried_names(info.loop.node):
            continue
        mentioned = {n.value for n in walk(info.loop.node.body) if isinstance(n, cst.Name)}
        assigned = frozenset(
            name
            for node in walk(info.loop.node.body)
            if isinstance(node, cst.Assign)
            for target in node.targets
            for name in _names_of(target.target)
        )
        for name, (statement, _) in zero_inits(info).items():
            if HIDDEN_CARRY.match(name) and name not in mentioned:
                found.append(Carry(name, statement, loop=info, assigned=assigned))
    return found


def _step_calls(body: list[cst.BaseStatement]) -> list[cst.Assign]:
    """``gradients = lstm_cell_backward(...)``: the loop body's calls assigned to one name."""
    return [
        small
        for line in body
        if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
        if isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and isinstance(small.value, cst.Call)
    ]


def unused_carry_edits(model, carry: Carry) -> list[tuple[cst.CSTNode, str]]:
    """Add the carry to the step's upstream gradient, and assign it from the entry of the
    step's dict of gradients that fits it, before the body's last statement; both or none."""
    added = added_carry_edits(carry)
    anchor = carry.loop.loop.node if carry.loop is not None else None
    body = list(getattr(getattr(anchor, "body", None), "body", ()))
    steps = _step_calls(body)
    if not added or len(steps) != 1 or not isinstance(body[-1], cst.SimpleStatementLine):
        return []
    step = steps[0]
    if step in getattr(body[-1], "body", ()):
        return []
    name = step.targets[0].target.value
    key = _entry_for(carry.name, _dict_keys(model, carry.loop.scope.node, name, step.value))
    if key is None:
        return []
    where = body[-1].body[0]
    indent = " " * (model.span(where).column - 1)
    return [*added, (where, f'{carry.name} = {name}["{key}"]\n{indent}{code_of(where)}')]


def added_carry_edits(carry: Carry) -> list[tuple[cst.CSTNode, str]]:
    """A carried gradient the loop takes from each step but never adds back: add it to the
    upstream gradient the step is called with (``step_backward(da[:, :, t], caches[t])`` ->
    ``step_backward(da[:, :, t] + da_prevt, caches[t])``). Only for exactly one such call,
    whose first argument is a step of an array the loop does not assign."""
    if carry.loop is None or carry.loop.loop.var is None:
        return []
    loop, var = carry.loop.loop.node, carry.loop.loop.var
    assigned = carry.assigned
    found = []
    for node in walk(loop.body):
        if not isinstance(node, cst.Call) or not node.args or node.args[0].keyword is not None:
            continue
        first = node.args[0].value
        if (
            isinstance(first, cst.Subscript)
            and isinstance(first.value, cst.Name)
            and first.value.value not in assigned
            and any(isinstance(n, cst.Name) and n.value == var for n in walk(first.slice[-1]))
        ):
            found.append(first)
    if len(found) != 1:
        return []
    return [(found[0], f"{code_of(found[0])} + {carry.name}")]


def dead_store_edits(model, carry: Carry) -> list[tuple[cst.CSTNode, str]]:
    """A carried gradient that is read but never assigned, while the loop assigns the gradient
    for the previous step to a variable nothing reads (``dh_prev = dz[:H]``): rename that
    store's target to the carried name. Only when exactly one such dead store fits the carry:
    for the cell gradient the one with the forget gate, for the hidden one the one without."""
    if carry.loop is None:
        return []
    anchor = carry.loop.loop.node
    points = [p for p in model.points if p.loop is not None and p.loop.loop.node is anchor]
    if not points:
        return []
    scope_node = points[0].scope.node
    first_read = min(model.span(r).line for r in carry.reads)
    assigned_in_loop = {n for p in points for n in _target_names(p.statement)}
    fitting = []
    for point in points:
        statement = point.statement
        if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0].target
        # one name, or the names among the elements a step function's result is unpacked into
        names = (
            [e.value for e in target.elements if isinstance(e.value, cst.Name)]
            if isinstance(target, cst.Tuple | cst.List)
            else [target]
            if isinstance(target, cst.Name)
            else []
        )
        if not names or model.span(statement).line <= first_read:
            continue  # the next step's value is stored after this step has read the carry
        reads = {n.value for n in _reads(statement.value)}
        if not reads & assigned_in_loop:
            continue  # not computed from this step's gradients
        # an element of an unpacked result has no factor of its own: only the hidden carry
        has_forget = target is names[0] and forget_factor(model.reader(point), statement.value)
        for name in names if has_forget == carry.is_cell else []:
            if name.value != carry.name and _loads(scope_node, name.value) == 1:
                fitting.append(name)  # read nowhere and assigned once: a dead store
    if len(fitting) != 1:
        return []
    return [(fitting[0], carry.name)]


def _step_of(name: str) -> str:
    """``da_prevt``, ``da_prev``, ``da_next`` -> ``da``: a gradient's name without its step."""
    return re.sub(r"(_?(prev|next|t))+$", "", name.lower())


def dict_carry_edits(model, carry: Carry) -> list[tuple[cst.CSTNode, str]]:
    """A carried gradient that is read but never assigned, while the loop's step backward
    returns a dict of gradients (``gradients = lstm_cell_backward(...)``) with an entry for
    the previous step (``gradients["da_prev"]``, read after the loop or a key of the dict the
    step function returns): the carry is assigned from that entry. The first such carry of the
    loop (by name) right after the step's call, a second one after the body's last statement,
    so that their edits never overlap; only with one dict and one entry that fits."""
    if carry.loop is None:
        return []
    anchor = carry.loop.loop.node
    body = list(getattr(anchor.body, "body", ()))
    calls = _step_calls(body)
    if len(calls) != 1:
        return []
    step = calls[0]
    after = [
        line.body[0]
        for index, line in enumerate(body)
        if index > next(i for i, b in enumerate(body) if step in getattr(b, "body", ()))
        and isinstance(line, cst.SimpleStatementLine)
    ]
    name = step.targets[0].target.value
    keys = _dict_keys(model, carry.loop.scope.node, name, step.value)
    waiting = sorted(
        c.name
        for c in carries(model)
        if c.loop is carry.loop and c.reads and not c.writes and _entry_for(c.name, keys)
    )
    key = _entry_for(carry.name, keys)
    if key is None or carry.name not in waiting[:2] or not after:
        return []
    if any(model.span(read).line > model.span(step).line for read in carry.reads):
        return []  # read again after the step's call: the new value must wait
    # inserted before a statement after the step's call (the first carry before the first
    # such statement, a second before the last), so that the two edits never overlap and
    # the statement's own comment stays on its line
    where = after[0] if waiting.index(carry.name) == 0 else after[-1]
    if waiting.index(carry.name) == 1 and where is after[0]:
        return []
    indent = " " * (model.span(where).column - 1)
    return [(where, f'{carry.name} = {name}["{key}"]\n{indent}{code_of(where)}')]


def reset_writes(carry: Carry) -> list[cst.CSTNode]:
    """The statements that set a carried gradient back to zero in its loop, when they are all
    that assign it (``da_prevt = np.zeros((n_a, m))`` after the step's call), or when the loop
    body does so before anything in it reads the carry: either way no step receives what the
    later one carried."""
    if not carry.reads or not carry.writes or carry.loop is None:
        return []
    values = [statement_value(statement) for statement, _ in carry.writes]
    if all(value is not None and _is_zero(value) for value in values):
        return [statement for statement, _ in carry.writes]
    for line in getattr(carry.loop.loop.node.body, "body", ()):
        if not mentions(line, carry.name):
            continue
        small = line.body[0] if isinstance(line, cst.SimpleStatementLine) else None
        if (
            isinstance(small, cst.Assign)
            and [t.target for t in small.targets if isinstance(t.target, cst.Name)]
            and all(
                isinstance(t.target, cst.Name) and t.target.value == carry.name
                for t in small.targets
            )
            and _is_zero(small.value)
            and not mentions(small.value, carry.name)
        ):
            return [small]
        return []
    return []


def reset_carry_edits(model, carry: Carry) -> list[tuple[cst.CSTNode, str]]:
    """Each reset of the carry after the loop's one step call that returns a dict of
    gradients takes the dict's entry for the previous step instead (``gradients["da_prev"]``)."""
    if carry.loop is None:
        return []
    body = list(getattr(carry.loop.loop.node.body, "body", ()))
    calls = [call for call in _step_calls(body) if not _is_zero(call.value)]
    if len(calls) != 1:
        return []
    step = calls[0]
    name = step.targets[0].target.value
    key = _entry_for(carry.name, _dict_keys(model, carry.loop.scope.node, name, step.value))
    line = model.span(step).line
    writes = reset_writes(carry)
    if key is None or any(model.span(w).line <= line for w in writes):
        return []
    return [(statement_value(w), f'{name}["{key}"]') for w in writes]


def _entry_for(carry: str, keys: set[str]) -> str | None:
    fitting = [k for k in keys if "prev" in k and k != carry and _step_of(k) == _step_of(carry)]
    return fitting[0] if len(fitting) == 1 else None


def _dict_keys(model, scope: cst.CSTNode, name: str, call: cst.Call) -> set[str]:
    """The string keys ``name`` is read with in ``scope``, and those of the dict displays in
    the module's function that ``call`` calls (what it returns)."""
    keys = {
        key
        for node in walk(scope)
        if isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value == name
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and (key := string_key(node.slice[0].slice.value)) is not None
    }
    called = call.func.value if isinstance(call.func, cst.Name) else None
    for statement in model.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == called:
            for node in walk(statement):
                if isinstance(node, cst.Dict):
                    keys |= {
                        k
                        for e in node.elements
                        if isinstance(e, cst.DictElement) and (k := string_key(e.key)) is not None
                    }
    return keys


def initial_sized_edits(node: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """``h[0]`` -> ``h[-1]``: only the index changes."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            return [(index.value, "-1")]
    return []

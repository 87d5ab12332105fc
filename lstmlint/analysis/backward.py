"""Observations on backward code that several rules share.

- ``state_reads``: every read of a recurrent state in backward code, the step it really reads
  (from the history's convention and the loop) and the step its context needs.
- ``groups``: every factor of a backward product that depends on one gate or state value,
  evaluated numerically as a function of that value's pre-activation, and named: the right
  derivative, the activation applied twice, the derivative taken at the output, ...
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import numpy as np

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import factors, is_call_to, matmul_operands, strip_transpose, terms
from lstmlint.analysis.facts import Fact
from lstmlint.analysis.flow import FactReader, Point
from lstmlint.analysis.helpers import call_mode, dsigmoid, dtanh, sigmoid
from lstmlint.analysis.interp import Interpreter, Unknown, close
from lstmlint.analysis.names import children, code_of, dotted, memoised, walk

CURRENT, PREVIOUS = 0, -1
LATENT = np.array([-1.3, -0.45, 0.2, 0.7, 1.6])


@dataclass
class StateRead:
    node: cst.CSTNode  # where the state was read (the subscript, or the name)
    fact: Fact
    expected: int | None  # CURRENT, PREVIOUS or None when the context does not say
    point: Point
    context: str | None = None  # tanh, factor, difference, readout, recurrent, concat, derivative
    group: list[cst.CSTNode] | None = None  # for a derivative context: the factor the state sits in


def statement_value(statement: cst.CSTNode) -> cst.BaseExpression | None:
    if isinstance(statement, cst.Assign | cst.AugAssign | cst.AnnAssign):
        return statement.value
    if isinstance(statement, cst.Expr | cst.Return):
        return statement.value
    return None


def _is_state(fact: Fact | None) -> bool:
    return fact is not None and fact.kind == F.STATE and fact.origin is not None


def preactivation_gradients(model, points: list[Point]) -> set[str]:
    """Names assigned from an expression with an activation derivative in it: gradients of pre-activations."""
    names: set[str] = set()
    for point in points:
        statement = point.statement
        if not isinstance(statement, cst.Assign | cst.AugAssign):
            continue
        target = (
            statement.targets[0].target if isinstance(statement, cst.Assign) else statement.target
        )
        if not isinstance(target, cst.Name):
            continue
        found = groups(model.reader(point), point)
        if (
            any(g.kind not in (IDENTITY, ACT, None) for g in found)
            or any(n.value in names for n in _names(statement.value))
            and is_call_to(
                statement.value, "hstack", "vstack", "concatenate", "column_stack", "row_stack"
            )
        ):
            names.add(target.value)
    return names


def _names(node: cst.CSTNode) -> list[cst.Name]:
    return [n for n in walk(node) if isinstance(n, cst.Name)]


def output_gradients(points: list[Point]) -> set[str]:
    """Names holding the gradient of the logits: ``dy = y.copy(); dy[target] -= 1``."""
    names: set[str] = set()
    for point in points:
        statement = point.statement
        if (
            isinstance(statement, cst.AugAssign)
            and isinstance(statement.operator, cst.SubtractAssign)
            and isinstance(statement.target, cst.Subscript)
            and isinstance(statement.target.value, cst.Name)
            and isinstance(statement.value, cst.Integer | cst.Float)
            and float(statement.value.evaluated_value) == 1.0
        ):
            names.add(statement.target.value.value)
    return names


class _StateReads:
    def __init__(
        self,
        reader: FactReader,
        point: Point,
        logit_gradients: set[str] = frozenset(),
        preact: set[str] = frozenset(),
    ) -> None:
        self.reader = reader
        self.point = point
        self.logit_gradients = logit_gradients
        self.preact = preact
        self.found: list[StateRead] = []
        self.gru = any(label.gate in ("z", "r") for label in reader.flow.labels.values())

    def visit(
        self, node: cst.BaseExpression, expected: int | None, context: str | None = None
    ) -> None:
        fact = (
            self.reader.fact(node)
            if isinstance(node, cst.Name | cst.Attribute | cst.Subscript)
            else None
        )
        if _is_state(fact):
            self.found.append(StateRead(fact.origin, fact, expected, self.point, context))
            return
        if isinstance(node, cst.Call):
            act = self.reader.activation_call(node)
            spec = self.reader.helper(node)
            is_tanh = act == "tanh" or (spec is not None and spec.act == "tanh")
            matmul = matmul_operands(node)
            if matmul is not None:
                self._matmul(*matmul)
                return
            if is_call_to(node, "vstack", "hstack", "concatenate", "row_stack", "column_stack"):
                for arg in node.args:
                    self.visit(arg.value, PREVIOUS, "concat")
                return
            for arg in node.args:
                inner = self.reader.fact(arg.value)
                if is_tanh and inner is not None and inner.state == "c":
                    self.visit(arg.value, CURRENT, "tanh")
                else:
                    self.visit(arg.value, expected if not is_tanh else None)
            return
        if isinstance(node, cst.BinaryOperation):
            matmul = matmul_operands(node)
            if matmul is not None:
                self._matmul(*matmul)
                return
            if isinstance(node.operator, cst.Multiply):
                self._product(node)
                return
            self.visit(node.left, expected)
            self.visit(node.right, expected)
            return
        if isinstance(node, cst.UnaryOperation):
            self.visit(node.expression, expected)
            return
        if isinstance(node, cst.Subscript):
            self.visit(node.value, None)
            return
        if isinstance(node, cst.Attribute):
            self.visit(node.value, expected)
            return
        if isinstance(node, cst.Tuple | cst.List):
            for element in node.elements:
                self.visit(element.value, None)

    def _product(self, node: cst.BaseExpression) -> None:
        parts = factors(node)
        has_gradient = any(_is_gradient(self.reader, part) for part in parts)
        for part in parts:
            fact = (
                self.reader.fact(part)
                if isinstance(part, cst.Name | cst.Attribute | cst.Subscript)
                else None
            )
            if _is_state(fact):
                if fact.act == "tanh":
                    expected = None  # vanilla h: its context comes from the derivative groups
                elif fact.state == "h" and not self.gru:
                    # an LSTM's h meets a gradient elementwise only outside the recurrence
                    # (``dw_out += err * h``, a readout's weight): no step can be told
                    expected = None
                elif fact.state == "c" and isinstance(self.point.statement, cst.AugAssign):
                    # a peephole weight's gradient (dp_o += do * c[t]): the gate decides the step
                    expected = None
                else:
                    expected = PREVIOUS if has_gradient else None
                self.found.append(StateRead(fact.origin, fact, expected, self.point, "factor"))
            elif (
                isinstance(part, cst.BinaryOperation)
                and isinstance(part.operator, cst.Add | cst.Subtract)
                and has_gradient
            ):
                for _, term in terms(part):
                    term_fact = (
                        self.reader.fact(term)
                        if isinstance(term, cst.Name | cst.Attribute | cst.Subscript)
                        else None
                    )
                    if _is_state(term_fact) and term_fact.state == "h" and term_fact.act is None:
                        self.found.append(
                            StateRead(
                                term_fact.origin, term_fact, PREVIOUS, self.point, "difference"
                            )
                        )
                    else:
                        self.visit(term, None)
            else:
                self.visit(part, None)

    def _matmul(self, left: cst.BaseExpression, right: cst.BaseExpression) -> None:
        for mine, other in ((left, right), (right, left)):
            target = strip_transpose(mine)
            fact = (
                self.reader.fact(target)
                if isinstance(target, cst.Name | cst.Attribute | cst.Subscript)
                else None
            )
            if _is_state(fact) and fact.state == "h":
                bare = strip_transpose(other)
                other_fact = self.reader.fact(bare)
                if (
                    other_fact is not None
                    and other_fact.kind == F.PROB
                    or isinstance(bare, cst.Name)
                    and bare.value in self.logit_gradients
                ):
                    expected, context = CURRENT, "readout"
                elif isinstance(bare, cst.Name) and bare.value in self.preact:
                    expected, context = PREVIOUS, "recurrent"
                else:
                    expected, context = None, None
                self.found.append(StateRead(fact.origin, fact, expected, self.point, context))
            else:
                self.visit(mine, None)


def _is_gradient(reader: FactReader, node: cst.BaseExpression) -> bool:
    """A value with no forward meaning that is not a constant: in backward code, a gradient."""
    node = strip_transpose(node)
    if isinstance(node, cst.Integer | cst.Float):
        return False
    if isinstance(node, cst.Name | cst.Attribute | cst.Subscript):
        fact = reader.fact(node)
        return fact is None or fact.kind in (F.PROB, F.ZEROS)
    return False


def state_reads(
    reader: FactReader,
    point: Point,
    logit_gradients: set[str] = frozenset(),
    preact: set[str] = frozenset(),
) -> list[StateRead]:
    value = statement_value(point.statement)
    if value is None:
        return []
    walker = _StateReads(reader, point, logit_gradients, preact)
    walker.visit(value, None)
    return walker.found


# numeric groups ------------------------------------------------------------------------
OK = "ok"
IDENTITY = "identity"
ACT_OF_OUT = "act_of_out"  # sigmoid(f) with f already a sigmoid output
DERIV_AT_OUT = (
    "deriv_at_out"  # derivative evaluated at an output: 1 - tanh(g)**2 for a tanh output g
)
MISSING_SQUARE = "missing_square"  # 1 - g or 1 - tanh(c)
SQUARE_OUTSIDE = "square_outside"  # (1 - g) ** 2: the difference squared, not g
OUTFORM_ON_PRE = "outform_on_pre"  # 1 - c**2 (or c*(1-c)) on a pre-activation
DOUBLE = "double"  # tanh(tanh(c)) or its derivative, from a pre-activation
ACT = "act"  # the activation itself, from a pre-activation: tanh(c)


def _leaf_level(fact: Fact) -> tuple[str, int] | None:
    """(activation, level): level 1 for an activation's output, 0 for its pre-activation."""
    if fact.kind == F.ACT and fact.act in ("sigmoid", "tanh"):
        return fact.act, 1
    if fact.kind == F.STATE:
        if fact.state == "c":
            return "tanh", 0
        if fact.act == "tanh":
            return "tanh", 1
        return None
    if fact.kind == F.PRE and fact.act in ("sigmoid", "tanh"):
        return fact.act, 0
    return None


def _candidates(act: str, level: int) -> dict[str, np.ndarray]:
    a = LATENT
    if act == "sigmoid":
        y = sigmoid(a)
        if level == 1:
            return {OK: dsigmoid(a), IDENTITY: y, ACT_OF_OUT: sigmoid(y), DERIV_AT_OUT: dsigmoid(y)}
        return {OK: dsigmoid(a), ACT: y, OUTFORM_ON_PRE: a * (1 - a), DOUBLE: dsigmoid(y)}
    y = np.tanh(a)
    if level == 1:
        return {
            OK: dtanh(a),
            IDENTITY: y,
            ACT_OF_OUT: np.tanh(y),
            DERIV_AT_OUT: dtanh(y),
            MISSING_SQUARE: 1 - y,
            SQUARE_OUTSIDE: (1 - y) ** 2,
        }
    return {
        OK: dtanh(a),
        ACT: y,
        OUTFORM_ON_PRE: 1 - a**2,
        DOUBLE: dtanh(y),
        MISSING_SQUARE: 1 - y,
        SQUARE_OUTSIDE: (1 - y) ** 2,
    }


@dataclass
class Group:
    """Factors of one backward product that depend on a single gate or state value."""

    nodes: list[cst.BaseExpression]
    leaf: cst.BaseExpression
    fact: Fact
    act: str
    level: int
    kind: str | None  # one of the names above, or None when it matched nothing known
    via_derivative_helper: bool  # the leaf is the direct argument of a derivative helper call
    product: list[cst.BaseExpression]  # every factor of the product it sits in
    point: Point


def _leaves(reader: FactReader, node: cst.BaseExpression) -> list[tuple[cst.BaseExpression, Fact]]:
    found: list[tuple[cst.BaseExpression, Fact]] = []

    def visit(n: cst.CSTNode) -> None:
        if isinstance(n, cst.Name | cst.Attribute | cst.Subscript):
            fact = reader.fact(n)
            if fact is not None and _leaf_level(fact) is not None:
                found.append((n, fact))
                return
            if isinstance(n, cst.Attribute):
                visit(n.value)
            return
        if isinstance(n, cst.Call):
            recomputed = _recomputed_preactivation(reader, n)
            if recomputed is not None:
                found.append(recomputed)
                return
            for arg in n.args:
                visit(arg.value)
            if isinstance(n.func, cst.Attribute) and dotted(n.func) is None:
                visit(n.func.value)
            return
        for child in children(n):
            if isinstance(child, cst.BaseExpression):
                visit(child)
            elif isinstance(child, cst.Arg | cst.BaseElement):  # call arguments, list items
                visit(child.value)

    visit(node)
    return found


def _recomputed_preactivation(
    reader: FactReader, call: cst.Call
) -> tuple[cst.BaseExpression, Fact] | None:
    """``dsigmoid(W_f @ z + b_f)``: a derivative helper given a pre-activation recomputed inline."""
    spec = reader.helper(call)
    if (
        spec is None
        or spec.act not in ("sigmoid", "tanh")
        or call_mode(call, spec) != "deriv"
        or not call.args
    ):
        return None
    argument = call.args[0].value
    has_product = any(matmul_operands(n) is not None for n in walk(argument))
    if not has_product or _leaves(reader, argument):
        return None
    return argument, Fact(F.PRE, act=spec.act)


def _direct_derivative_argument(
    reader: FactReader, node: cst.BaseExpression, leaf: cst.BaseExpression
) -> bool:
    if isinstance(node, cst.Call) and node.args and node.args[0].value is leaf:
        spec = reader.helper(node)
        return (
            spec is not None
            and spec.act in ("sigmoid", "tanh")
            and call_mode(node, spec) == "deriv"
        )
    return False


def _evaluate(
    reader: FactReader, nodes: list[cst.BaseExpression], leaf_text: str, value: np.ndarray
):
    def leaf(n: cst.BaseExpression):
        raise Unknown("free value")

    known = {leaf_text: value}  # the leaf may be a whole expression (a recomputed pre-activation)
    interp = Interpreter(reader.ctx.aliases, leaf, reader.functions, known=known)
    result = 1.0
    for node in nodes:
        interp.steps = 0
        result = result * interp.eval(node)
    return result


def groups(reader: FactReader, point: Point) -> list[Group]:
    """The factor groups of the statement at ``point``, read with ``reader`` (the point's own:
    several rules ask, and there is one point per statement, so they are found once)."""

    def find(statement: cst.CSTNode) -> list[Group]:
        value = statement_value(statement)
        if value is None:
            return []
        if isinstance(statement, cst.AugAssign) and isinstance(
            statement.operator, cst.MultiplyAssign
        ):  # `dg *= (1 - g ** 2)`: the value is one factor of a product, never a sum of terms
            value = cst.BinaryOperation(statement.target, cst.Multiply(), value)
        found: list[Group] = []
        _groups_in(reader, point, value, found, depth=0)
        return found

    return memoised("groups", point.statement, find)


def _groups_in(
    reader: FactReader, point: Point, expr: cst.BaseExpression, found: list[Group], depth: int
) -> None:
    if depth > 6:
        return
    parts_of = terms(expr)
    if (
        len(parts_of) > 1
        and any(isinstance(term, cst.Integer | cst.Float) for _, term in parts_of)
        and len({code_of(n) for n, _ in _leaves(reader, expr)}) == 1
    ):
        parts_of = [(1, expr)]  # a derivative written alone, `dtanh = 1 - h ** 2`: one factor
    for _, term in parts_of:
        parts = factors(term)
        by_leaf: dict[str, tuple[cst.BaseExpression, Fact, list[cst.BaseExpression]]] = {}
        for part in parts:
            leaves = _leaves(reader, part)
            texts = {code_of(n) for n, _ in leaves}
            if len(texts) == 1:
                node, fact = leaves[0]
                entry = by_leaf.setdefault(code_of(node), (node, fact, []))
                entry[2].append(part)
            elif len(texts) > 1 and len(parts) > 1:
                _groups_in(reader, point, part, found, depth + 1)
            elif len(texts) > 1 and isinstance(
                part, cst.BinaryOperation | cst.Call | cst.List | cst.Tuple
            ):
                # np.concatenate([...]) of the gates' gradients: each element on its own
                if isinstance(part, cst.BinaryOperation):
                    inner = [part.left, part.right]
                elif isinstance(part, cst.Call):
                    inner = [a.value for a in part.args]
                else:
                    inner = [e.value for e in part.elements]
                for child in inner:
                    _groups_in(reader, point, child, found, depth + 1)
        for text, (leaf, fact, nodes) in by_leaf.items():
            act, level = _leaf_level(fact)
            leaf_value = (
                (sigmoid(LATENT) if act == "sigmoid" else np.tanh(LATENT)) if level == 1 else LATENT
            )
            try:
                with np.errstate(all="ignore"):
                    result = _evaluate(reader, nodes, text, leaf_value)
            except (
                Unknown,
                ArithmeticError,
                ValueError,
                TypeError,
                IndexError,
                KeyError,
                RecursionError,
            ):
                continue
            kind = next(
                (name for name, ref in _candidates(act, level).items() if close(result, ref, 1e-6)),
                None,
            )
            helper = any(_direct_derivative_argument(reader, n, leaf) for n in _calls_in(nodes))
            found.append(Group(nodes, leaf, fact, act, level, kind, helper, parts, point))


def _calls_in(nodes: list[cst.BaseExpression]) -> list[cst.Call]:
    return [n for node in nodes for n in walk(node) if isinstance(n, cst.Call)]

"""Time loops: which loops walk over time steps, in which direction, and how the index maps to a step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.algebra import mentions
from lstmlint.analysis.names import code_of, dotted, walk

FORWARD, BACKWARD = "forward", "backward"


@dataclass(frozen=True)
class Affine:
    """``symbol + const`` (symbol None for a plain number)."""

    symbol: str | None
    const: int


def affine(node: cst.BaseExpression) -> Affine:
    if isinstance(node, cst.Integer):
        return Affine(None, int(node.evaluated_value))
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return Affine(None, -int(node.expression.evaluated_value))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add | cst.Subtract):
        sign = 1 if isinstance(node.operator, cst.Add) else -1
        right = affine(node.right)
        left = affine(node.left)
        if right.symbol is None:
            return Affine(left.symbol, left.const + sign * right.const)
        if left.symbol is None and sign == 1:
            return Affine(right.symbol, left.const + right.const)
    return Affine(code_of(node), 0)


def _terms(node: cst.BaseExpression) -> tuple[dict[str, int], int]:
    """``node`` as a sum of atoms with integer coefficients and a constant: ``T - i - 2`` is
    ({"T": 1, "i": -1}, -2)."""
    if isinstance(node, cst.Integer):
        return {}, int(node.evaluated_value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        atoms, const = _terms(node.expression)
        return {k: -v for k, v in atoms.items()}, -const
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add | cst.Subtract):
        sign = 1 if isinstance(node.operator, cst.Add) else -1
        left, left_const = _terms(node.left)
        right, right_const = _terms(node.right)
        atoms = dict(left)
        for key, value in right.items():
            atoms[key] = atoms.get(key, 0) + sign * value
        return {k: v for k, v in atoms.items() if v}, left_const + sign * right_const
    bare = node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node
    return {code_of(bare): 1}, 0


def mirrored(node: cst.BaseExpression, var: str, mirror: str) -> int | None:
    """c for an index ``mirror - var + c`` (``T - i - 1``, ``T - 1 - i``), else None."""
    atoms, const = _terms(node)
    return const if atoms == {mirror: 1, var: -1} else None


def index_offset(node: cst.BaseExpression, var: str, mirror: str | None = None) -> int | None:
    """k for an index ``var + k`` (``t``, ``t-1``, ``t + 1``), else None. In a loop whose step is
    ``mirror - 1 - var`` (``for i in range(T)`` reading ``h[T - i - 1]``), k for ``mirror - var
    - 1 + k``."""
    if mirror is not None:
        const = mirrored(node, var, mirror)
        return None if const is None else const + 1
    value = affine(node)
    return value.const if value.symbol == var else None


def index_text(var: str, k: int, mirror: str | None = None) -> str:
    """The index of the step ``k`` away from the loop's own, as the loop writes its indices."""
    if mirror is not None:
        c = k - 1
        return f"{mirror} - {var}" + (f" + {c}" if c > 0 else f" - {-c}" if c < 0 else "")
    return var if k == 0 else f"{var} + {k}" if k > 0 else f"{var} - {-k}"


@dataclass
class TimeLoop:
    node: cst.For | cst.While
    var: str | None
    direction: str
    low: Affine | None  # smallest index value
    high: Affine | None  # largest index value
    mirror: str | None = None  # indices read ``mirror - var - 1`` for the step: T-1 down to 0

    @property
    def step_text(self) -> str:
        """The loop's step as its code writes it (``t``, or ``T - i - 1``)."""
        return index_text(self.var or "t", 0, self.mirror)

    def shift(self, steps_symbol: Callable[[str], int]) -> int | None:
        """step = index + shift; ``steps_symbol`` says how a bound's symbol relates to T (0 or +1)."""
        if (
            self.low is None
            or self.high is None
            or self.low.symbol is not None
            or self.high.symbol is None
        ):
            return 0 if self.low == Affine(None, 0) else None
        high = self.high.const + steps_symbol(self.high.symbol)  # relative to T
        if self.low.const == 0 and high == -1:
            return 0
        if self.low.const == 1 and high == 0:
            return -1
        if self.low.const == 1 and high == -1:
            return 0
        return None

    @property
    def lowest(self) -> int | None:
        return self.low.const if self.low is not None and self.low.symbol is None else None


def _range_bounds(call: cst.Call) -> tuple[str, Affine | None, Affine | None] | None:
    args = [a.value for a in call.args if a.keyword is None]
    if not args or len(args) > 3:
        return None
    start, stop = (
        (Affine(None, 0), affine(args[0])) if len(args) == 1 else (affine(args[0]), affine(args[1]))
    )
    step = affine(args[2]) if len(args) == 3 else Affine(None, 1)
    if step.symbol is not None or step.const == 0:
        return None
    if step.const > 0:
        return FORWARD, start, Affine(stop.symbol, stop.const - 1)
    return BACKWARD, Affine(stop.symbol, stop.const + 1), start


def _is(call: cst.BaseExpression, *names: str) -> bool:
    if not isinstance(call, cst.Call):
        return False
    name = dotted(call.func) or ""
    return name in names or (
        name.rsplit(".", 1)[-1] in names and name.split(".")[0] in ("np", "numpy")
    )


def _iteration(node: cst.BaseExpression) -> tuple[str, Affine | None, Affine | None, bool] | None:
    """(direction, low, high, enumerated) of an iterable over time, or None."""
    reverse = False
    while True:
        if isinstance(node, cst.Call) and dotted(node.func) == "reversed" and node.args:
            reverse, node = not reverse, node.args[0].value
        elif isinstance(node, cst.Call) and dotted(node.func) in ("list", "tuple") and node.args:
            node = node.args[0].value
        elif isinstance(node, cst.Subscript) and _is_reverse_slice(node):
            reverse, node = not reverse, node.value
        else:
            break
    if _is(node, "range", "xrange", "arange"):
        bounds = _range_bounds(node)
        if bounds is None:
            return None
        direction, low, high = bounds
        if reverse:
            direction = BACKWARD if direction == FORWARD else FORWARD
        return direction, low, high, False
    if _is(node, "enumerate") and node.args:
        inner = node.args[0].value
        high = Affine(f"len({code_of(inner)})", -1)
        return (BACKWARD if reverse else FORWARD), Affine(None, 0), high, True
    return ((BACKWARD if reverse else FORWARD), None, None, False) if reverse else None


def _is_reverse_slice(node: cst.Subscript) -> bool:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return False
    part = node.slice[0].slice
    return (
        part.lower is None
        and part.upper is None
        and affine(part.step or cst.Integer("1")) == Affine(None, -1)
    )


def iterated(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """What a loop walks over once ``reversed``, ``list``, ``[::-1]`` and ``zip`` are taken off."""
    while True:
        if (
            isinstance(node, cst.Call)
            and dotted(node.func) in ("reversed", "list", "tuple")
            and node.args
        ):
            node = node.args[0].value
        elif isinstance(node, cst.Subscript) and _is_reverse_slice(node):
            node = node.value
        elif isinstance(node, cst.Call) and dotted(node.func) == "zip":
            return [part for arg in node.args for part in iterated(arg.value)]
        else:
            return [node]


def for_loop(node: cst.For) -> TimeLoop | None:
    found = _iteration(node.iter)
    if found is None:
        if isinstance(node.target, cst.Name):  # for x in inputs: a forward walk without an index
            return TimeLoop(node, None, FORWARD, None, None)
        return None
    direction, low, high, enumerated = found
    if low is None and high is None:  # reversed(caches), caches[::-1]: no time index
        return TimeLoop(node, None, direction, None, None)
    target = node.target
    if enumerated and isinstance(target, cst.Tuple) and target.elements:
        target = target.elements[0].value
    var = target.value if isinstance(target, cst.Name) else None
    if var is not None and direction == FORWARD and low == Affine(None, 0) and high is not None:
        if high.symbol is not None and high.const == -1:
            mirror = _mirrored_loop(node, var, high.symbol)
            if mirror is not None:
                return mirror
    return TimeLoop(node, var, direction, low, high)


def _mirrored_loop(node: cst.For, var: str, stop: str) -> TimeLoop | None:
    """``for i in range(T)`` that walks time backward: its body's first statement names the step
    (``t = T - 1 - i``), or every time index of it is ``T - i + c``."""
    statements = node.body.body if isinstance(node.body, cst.IndentedBlock) else []
    first = (
        statements[0].body[0]
        if statements and isinstance(statements[0], cst.SimpleStatementLine)
        else None
    )
    if (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and mirrored(first.value, var, stop) == -1
    ):
        step = first.targets[0].target.value
        return TimeLoop(node, step, BACKWARD, Affine(None, 0), Affine(stop, -1))
    plain = mirror = 0
    for sub in walk(node.body):
        if not isinstance(sub, cst.Subscript):
            continue
        for element in sub.slice:
            if not isinstance(element.slice, cst.Index):
                continue
            atoms, _ = _terms(element.slice.value)
            if var in atoms:  # not `targets[T - i - 1]` inside an index, which is counted itself
                if atoms == {stop: 1, var: -1}:
                    mirror += 1
                else:
                    plain += 1
    if mirror and not plain:
        return TimeLoop(node, var, BACKWARD, Affine(None, 0), Affine(stop, -1), stop)
    return None


def while_loop(node: cst.While, preceding: list[cst.CSTNode]) -> TimeLoop | None:
    """``while t >= 0: ... t -= 1`` counts down from its start; ``while t < T: ... t += 1`` counts up."""
    test = node.test
    if not (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and len(test.comparisons) == 1
    ):
        return None
    var = test.left.value
    comparison = test.comparisons[0]
    bound = affine(comparison.comparator)
    start = _start(preceding, var)
    operator = comparison.operator
    if isinstance(operator, cst.GreaterThanEqual | cst.GreaterThan) and bound.symbol is None:
        if not _steps(node.body, var, cst.SubtractAssign):
            return None
        low = bound.const + (1 if isinstance(operator, cst.GreaterThan) else 0)
        if _stepped_first(node.body, var):  # t = T; while t > 0: t -= 1; ...: T-1 down to 0
            return TimeLoop(node, var, BACKWARD, Affine(None, low - 1), _moved(start, -1))
        return TimeLoop(node, var, BACKWARD, Affine(None, low), start)
    if isinstance(operator, cst.LessThan | cst.LessThanEqual) and _steps(
        node.body, var, cst.AddAssign
    ):
        high = Affine(bound.symbol, bound.const - (1 if isinstance(operator, cst.LessThan) else 0))
        if _stepped_first(node.body, var):
            return TimeLoop(node, var, FORWARD, _moved(start, 1), _moved(high, 1))
        return TimeLoop(node, var, FORWARD, start, high)
    return None


def _stepped_first(body: cst.BaseSuite, var: str) -> bool:
    """The body steps ``var`` before anything else in it reads it: it sees the stepped value."""
    statements = body.body if isinstance(body, cst.IndentedBlock) else []
    for statement in statements:
        if not mentions(statement, var):
            continue
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        return (
            isinstance(small, cst.AugAssign)
            and isinstance(small.target, cst.Name)
            and small.target.value == var
        )
    return False


def _moved(bound: Affine | None, by: int) -> Affine | None:
    return Affine(bound.symbol, bound.const + by) if bound is not None else None


def _start(preceding: list[cst.CSTNode], var: str) -> Affine | None:
    start = None
    for statement in preceding:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name) and target.value == var:
                    start = affine(small.value)
    return start


def _steps(body: cst.BaseSuite, var: str, operator: type) -> bool:
    return any(
        isinstance(n, cst.AugAssign)
        and isinstance(n.target, cst.Name)
        and n.target.value == var
        and isinstance(n.operator, operator)
        for n in walk(body)
    )


def carried_names(loop: cst.For | cst.While) -> set[str]:
    """Names the loop body reads before writing them in the same pass, and writes somewhere:
    values handed from one iteration to the next (``dprev_h`` in
    ``dx, dprev_h = step_backward(dh[t] + dprev_h)``). Each branch of an ``if`` starts from
    what was written before it; a statement's value is read before its targets are written; a
    sum kept in place (``dW += dW_t``) is an accumulator, not something handed on."""
    written_anywhere: set[str] = set()
    for node in walk(loop.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                written_anywhere |= _bound(target.target)
    carried: set[str] = set()

    def pass_through(statements, written: frozenset[str]) -> frozenset[str]:
        for statement in statements:
            written = step(statement, written)
        return written

    def step(statement: cst.CSTNode, written: frozenset[str]) -> frozenset[str]:
        if isinstance(statement, cst.If):
            carried.update(n for n in _loads(statement.test) if n not in written)
            branches, other = [statement.body.body], statement.orelse
            while isinstance(other, cst.If):
                carried.update(n for n in _loads(other.test) if n not in written)
                branches.append(other.body.body)
                other = other.orelse
            branches.append(other.body.body if other is not None else [])
            return frozenset.intersection(*(pass_through(b, written) for b in branches))
        if isinstance(statement, cst.SimpleStatementLine):
            return pass_through(statement.body, written)
        if isinstance(statement, cst.BaseCompoundStatement):  # nested loops, with, try: in order
            return pass_through(getattr(statement.body, "body", []), written)
        bound: set[str] = set()
        if isinstance(statement, cst.Assign):
            reads = _loads(statement.value)
            for target in statement.targets:
                bound |= _bound(target.target)
                if not _bound(target.target):  # `x[t] = ...` reads `x` and `t`
                    reads |= _loads(target.target)
        elif isinstance(statement, cst.AugAssign):
            reads = _loads(statement.value)
            if not isinstance(statement.target, cst.Name):
                reads |= _loads(statement.target)
        else:
            reads = _loads(statement)
        carried.update(n for n in reads if n not in written)
        return written | bound

    pass_through(loop.body.body, frozenset())
    return carried & written_anywhere


def _bound(target: cst.BaseExpression) -> set[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``); none for ``x[i]``, ``o.a``."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        found: set[str] = set()
        for element in target.elements:
            value = element.value
            found |= _bound(value.value if isinstance(value, cst.StarredElement) else value)
        return found
    return set()


def _loads(node: cst.CSTNode) -> set[str]:
    return {n.value for n in walk(node, attribute_names=False) if isinstance(n, cst.Name)}

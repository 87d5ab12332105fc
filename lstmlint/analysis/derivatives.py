"""Wrong activation derivatives in backward code (LST201, LST202, LST204, LST205).

Each verdict comes from a numeric group (see ``backward.groups``): what the factor computes as
a function of the gate's pre-activation, compared with the right derivative and the known
wrong ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.backward import (
    ACT,
    ACT_OF_OUT,
    DERIV_AT_OUT,
    DOUBLE,
    IDENTITY,
    MISSING_SQUARE,
    OUTFORM_ON_PRE,
    SQUARE_OUTSIDE,
    Group,
    _is_gradient,
    _leaves,
    groups,
)
from lstmlint.analysis.experiments import role_spec
from lstmlint.analysis.flow import _one_minus
from lstmlint.analysis.names import code_of, named_gate, walk
from lstmlint.edits import numpy_function, operand

GATES = {
    "f": "forget gate",
    "i": "input gate",
    "g": "candidate",
    "o": "output gate",
    "z": "update gate",
    "r": "reset gate",
    "n": "candidate",
}


@dataclass
class DerivativeProblem:
    code: str
    node: cst.CSTNode
    message: str
    fix: str
    experiment: dict | None = None
    edits: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


def evaluable_derivative(group: Group) -> str:
    """The right derivative as an expression the experiment can evaluate."""
    leaf = code_of(group.leaf)
    if group.level == 0 and group.act == "sigmoid":
        s = f"(1 / (1 + np.exp(-({leaf}))))"
        return f"{s} * (1 - {s})"
    return right_derivative(group)


def _slot_role(group: Group) -> str | None:
    return _slot_role_of(group.fact)


def right_derivative(group: Group) -> str:
    leaf = code_of(group.leaf)
    if group.level == 1:
        return f"{leaf} * (1 - {leaf})" if group.act == "sigmoid" else f"1 - {leaf}**2"
    if group.act == "tanh":
        return f"1 - np.tanh({leaf})**2"
    return f"s * (1 - s) with s = sigmoid({leaf})"


def _activation_spelling(group: Group, reader) -> str | None:
    """The file's own name for the activation applied to one argument: a call already in the
    flagged factor (``tanh(C[t])``), else NumPy's tanh under the module's alias, else a
    one-argument call of the activation elsewhere in the file (a sigmoid helper, ``expit``)."""
    import libcst as cst

    def one_argument_calls(root):
        for node in walk(root):
            if (
                isinstance(node, cst.Call)
                and len(node.args) == 1
                and node.args[0].keyword is None
                and not node.args[0].star
                and reader.activation_call(node) == group.act
            ):
                yield node

    for node in group.nodes:
        for call in one_argument_calls(node):
            return code_of(call.func)
    if group.act == "tanh":
        return numpy_function(reader.ctx.aliases, "tanh")
    for call in one_argument_calls(reader.flow.module):
        return code_of(call.func)
    return None


def derivative_code(group: Group, reader) -> str | None:
    """The right derivative as code in the file's own spelling, or None when the file has no
    name for the activation it needs."""
    leaf = code_of(group.leaf)
    if group.level == 1:
        return right_derivative(group)
    act = _activation_spelling(group, reader)
    if act is None:
        return None
    if group.act == "tanh":
        return f"1 - {act}({leaf})**2"
    return f"{act}({leaf}) * (1 - {act}({leaf}))"


def _edits(group: Group, reader) -> list[tuple[cst.CSTNode, str]]:
    """Replace the flagged factor by the right derivative; a group spread over several factors
    of a product (``np.tanh(g) * ... * (1 - np.tanh(g))``) has no single place to put it."""
    code = derivative_code(group, reader) if len(group.nodes) == 1 else None
    if code is None:
        return []
    node = group.nodes[0]
    return [(node, operand(node, code, group.point.statement))]


def _what(group: Group) -> str:
    leaf = code_of(group.leaf)
    fact = group.fact
    if fact.kind == F.STATE and fact.state == "c":
        return f"`{leaf}` (the cell state, a pre-activation of tanh)"
    if fact.kind == F.PRE:
        return f"`{leaf}` (a pre-activation of {group.act})"
    gate = GATES.get(fact.gate or "", "")
    return f"`{leaf}` ({'the ' + gate + ', ' if gate else ''}already a {group.act} output)"


def _node(group: Group) -> cst.CSTNode:
    return group.nodes[0]


def _has_gradient(group: Group, reader) -> bool:
    return any(not _leaves(reader, part) and _is_gradient(reader, part) for part in group.product)


def verdict(group: Group, reader, siblings: list[Group] = ()) -> DerivativeProblem | None:
    fix = f"use `{right_derivative(group)}`"
    what = _what(group)
    text = code_of(_node(group))
    if group.kind == DERIV_AT_OUT:
        if group.via_derivative_helper:
            return DerivativeProblem(
                "LST204",
                _node(group),
                f"`{text}`: this derivative helper expects the pre-activation, but {what} is passed; "
                f"it computes the derivative at the wrong point",
                fix,
            )
        return DerivativeProblem(
            "LST201", _node(group), f"`{text}` applies {group.act} again to {what}", fix
        )
    if group.kind == ACT_OF_OUT:
        if _has_gradient(group, reader):
            return DerivativeProblem(
                "LST202",
                _node(group),
                f"the gradient is multiplied by `{text}`, the activation of {what}, instead of its derivative",
                fix,
            )
        return DerivativeProblem("LST201", _node(group), f"`{text}` applies {group.act} twice", fix)
    if group.kind == DOUBLE:
        return DerivativeProblem(
            "LST201", _node(group), f"`{text}` applies {group.act} twice to {what}", fix
        )
    if group.kind == OUTFORM_ON_PRE:
        if group.via_derivative_helper:
            return DerivativeProblem(
                "LST204",
                _node(group),
                f"`{text}`: this derivative helper expects the activation's output, but {what} is passed",
                fix,
            )
        code = "LST205" if group.act == "tanh" else "LST204"
        return DerivativeProblem(
            code,
            _node(group),
            f"`{text}` is the output form of the {group.act} derivative applied to {what}",
            fix,
        )
    if group.kind == MISSING_SQUARE:
        return DerivativeProblem(
            "LST205",
            _node(group),
            f"`{text}` is not the tanh derivative of {what}: the square is missing",
            fix,
        )
    if group.kind == SQUARE_OUTSIDE:
        return DerivativeProblem(
            "LST205",
            _node(group),
            f"`{text}` is not the tanh derivative of {what}: it squares the difference, "
            f"where the derivative is one minus the square",
            fix,
        )
    if group.kind == ACT and group.act == "tanh" and group.fact.state == "c":
        statement = group.point.statement
        targets = statement.targets if isinstance(statement, cst.Assign) else []
        if len(targets) == 1 and isinstance(targets[0].target, cst.Name):
            if named_gate(targets[0].target.value) == "o":
                return None  # `do = dh * np.tanh(c) * o`: the output gate's branch, LST202's own
        bare_output_gate = any(
            s.fact.gate == "o" and s.kind == IDENTITY and any(n in group.product for n in s.nodes)
            for s in siblings
        )
        if bare_output_gate and _has_gradient(group, reader):
            return DerivativeProblem(
                "LST202",
                _node(group),
                f"on the cell path the gradient must be multiplied by tanh'(c), not by `{text}`",
                fix,
            )
    return None


def _derivative_problems(model) -> list[DerivativeProblem]:
    found: list[DerivativeProblem] = []
    seen: set[int] = set()
    for point in model.region_points:
        reader = model.reader(point)
        found_here = groups(reader, point)
        for group in found_here:
            problem = verdict(group, reader, found_here)
            if problem is not None and id(problem.node) not in seen:
                problem.edits = _edits(group, reader)
                role = _slot_role(group)
                if role is not None:
                    problem.experiment = role_spec(
                        model,
                        role,
                        group.nodes,
                        group.leaf,
                        group.fact,
                        evaluable_derivative(group),
                    )
                seen.add(id(problem.node))
                found.append(problem)
    return found


def _squared_inside_tanh(model) -> list[DerivativeProblem]:
    """``1 - np.tanh(c ** 2)``: tanh's derivative squares tanh's value, not its argument."""
    found: list[DerivativeProblem] = []
    region = model.region_points
    for index, point in enumerate(region):
        if _overwritten_unread(point, region[index + 1 :]):
            continue  # a first draft the function replaces before using it
        reader = model.reader(point)
        for node in walk(point.statement):
            rest = _one_minus(node) if isinstance(node, cst.BaseExpression) else None
            if rest is None or reader.activation_call(rest) != "tanh" or len(rest.args) != 1:
                continue
            inside = rest.args[0].value
            base = _square_of(inside)
            if base is None:
                continue
            base = base.with_changes(lpar=[], rpar=[])
            fact = reader.fact(base)
            twice = fact is not None and fact.kind == F.ACT and fact.act == "tanh"
            if twice:
                fixed = f"1 - {code_of(base)} ** 2"  # already tanh's output (the candidate)
            elif fact is not None and (
                fact.kind == F.PRE or fact.kind == F.STATE and fact.state == "c"
            ):
                fixed = f"1 - {code_of(rest.func)}({code_of(base)}) ** 2"
            else:
                fixed = None
            role = _slot_role_of(fact)
            message = f"`{code_of(node)}` squares the argument of tanh; its derivative squares tanh's value"
            if twice:
                message += f", and `{code_of(base)}` is already tanh's output"
            found.append(
                DerivativeProblem(
                    "LST201" if twice else "LST205",
                    node,
                    message
                    + (
                        f": `{fixed}`"
                        if fixed
                        else " (`1 - np.tanh(a)**2` on a pre-activation, `1 - y**2` on an output)"
                    ),
                    f"use `{fixed}`" if fixed else "square tanh's value, not its argument",
                    role_spec(model, role, [node], base, fact, fixed) if role and fixed else None,
                    [(node, fixed)] if fixed else [],
                )
            )
    return found


def _overwritten_unread(point, later: list) -> bool:
    """The statement's names are all assigned again, in the same function, before anything
    reads them: what it computes is never used."""
    statement = point.statement
    if not isinstance(statement, cst.Assign):
        return False
    names = {n.value for t in statement.targets for n in walk(t.target) if isinstance(n, cst.Name)}
    for other in later:
        if other.scope is not point.scope or not names:
            continue
        targets = (
            getattr(other.statement, "targets", ())
            if isinstance(other.statement, cst.Assign)
            else ()
        )
        rebound = {t.target.value for t in targets if isinstance(t.target, cst.Name)}
        mentioned = {n.value for n in walk(other.statement) if isinstance(n, cst.Name)}
        value = getattr(other.statement, "value", None)
        read = mentioned - rebound  # `x[t] = ...` and `x += ...` read x
        if value is not None:  # `x = f(x)` reads x before binding it again
            read |= {n.value for n in walk(value) if isinstance(n, cst.Name)}
        if names & read:
            return False
        names -= rebound
    return not names


def _square_of(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``x`` for ``x ** 2`` or ``x * x`` (parentheses aside)."""
    if not isinstance(node, cst.BinaryOperation):
        return None
    if isinstance(node.operator, cst.Power) and code_of(node.right) == "2":
        return node.left
    if isinstance(node.operator, cst.Multiply) and code_of(node.left) == code_of(node.right):
        return node.left
    return None


def _slot_role_of(fact) -> str | None:
    if fact is None:
        return None
    if fact.gate:
        return fact.gate
    return fact.state if fact.kind == F.STATE else None


def derivative_problems(model):
    return model.memo(
        "derivative_problems",
        lambda m: _with_nested_activation(m, _derivative_problems(m) + _squared_inside_tanh(m)),
    )


def _with_nested_activation(model, found: list[DerivativeProblem]) -> list[DerivativeProblem]:
    """``found``, and the nested activations outside what it reports already
    (``1 - np.tanh(np.tanh(c)) ** 2`` is one derivative problem, not two)."""
    inside = {id(node) for problem in found for node in walk(problem.node)}
    return found + [p for p in _nested_activation(model) if id(p.node) not in inside]


def _nested_activation(model) -> list[DerivativeProblem]:
    """``np.tanh(np.tanh(C[t]))`` in a backward: the activation written twice around its
    argument, where the backward means the activation once (the factor groups read a value
    that no derivative candidate matches, so they leave it)."""
    found: list[DerivativeProblem] = []
    for point in model.region_points:
        reader = model.reader(point)
        for node in walk(point.statement):
            if not isinstance(node, cst.Call) or len(node.args) != 1:
                continue
            act = reader.activation_call(node)
            inner = node.args[0].value
            if act is None or not isinstance(inner, cst.Call) or len(inner.args) != 1:
                continue
            if reader.activation_call(inner) != act:
                continue
            fixed = code_of(inner.with_changes(lpar=[], rpar=[]))
            found.append(
                DerivativeProblem(
                    "LST201",
                    node,
                    f"`{code_of(node)}` applies {act} twice: `{fixed}` is already {act}'s output",
                    f"use `{fixed}`",
                    None,
                    [(node, fixed)],
                )
            )
    return found

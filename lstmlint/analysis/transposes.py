"""Weights as the backward multiplies them: untransposed, or replaced by their own gradient.

The forward computes ``a = W @ h`` (or ``h @ W`` with rows); the gradient of ``h`` is
``W.T @ da`` (``da @ W.T``): the weight's transpose, on the same side. Code that writes
``W @ da`` instead runs whenever ``W`` is square (a recurrent weight always is) and hands back a
gradient of the right shape and the wrong value. A backward product is reported when its weight
sits on the side, and with the transposition, of every forward product of that weight, and its
other operand is a gradient where the forward's was a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import matmul_operands
from lstmlint.analysis.backward import preactivation_gradients
from lstmlint.analysis.names import code_of, dotted, string_key, walk

WEIGHT = re.compile(r"^(W|U|V|w_|wh|wx|weight)")
GRADIENT = re.compile(r"^(d[A-Za-z_]|grad|delta)")
# what a forward product multiplies a recurrent weight by: the previous state
STATE = re.compile(r"^(h|a|s|hidden|state|prev|ht|at)(_|$|\d|s|prev|t)|prev|hid", re.IGNORECASE)


@dataclass
class Untransposed:
    node: cst.BaseExpression  # the backward product
    weight: cst.BaseExpression  # its weight operand, as written
    name: str  # the weight's name (``Waa`` for ``parameters["Waa"]``)
    recurrent: bool  # the forward multiplies it by the previous state


@dataclass(frozen=True)
class _Side:
    left: bool  # the weight is the left operand
    transposed: bool  # the weight is written transposed
    other_transposed: bool  # so is the other operand


def unwrap(node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    """The operand without ``.T``, ``x.transpose()`` or ``np.transpose(x)``, and whether
    an odd number of them was taken off."""
    transposed = False
    while True:
        if isinstance(node, cst.Attribute) and node.attr.value == "T":
            node = node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "transpose"
            and not node.args
        ):
            node = node.func.value
        elif (
            isinstance(node, cst.Call)
            and dotted(node.func) in ("np.transpose", "numpy.transpose")
            and len(node.args) == 1
        ):
            node = node.args[0].value
        else:
            return node, transposed
        transposed = not transposed


def weight_name(node: cst.BaseExpression) -> str | None:
    """``Waa``, ``self.Wf``, ``parameters["Waa"]``, ``self.params["Wh"]``, or a slice of one."""
    if isinstance(node, cst.Subscript):
        keys = [string_key(e.slice.value) for e in node.slice if isinstance(e.slice, cst.Index)]
        if len(keys) == 1 and keys[0] is not None:
            name = keys[0]
        elif all(isinstance(e.slice, cst.Slice) for e in node.slice):
            return weight_name(node.value)
        else:
            return None
    elif isinstance(node, cst.Attribute):
        name = node.attr.value
    elif isinstance(node, cst.Name):
        name = node.value
    else:
        return None
    return name if WEIGHT.match(name) else None


def _base_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Subscript | cst.Attribute):
        if isinstance(node, cst.Attribute):
            return node.attr.value
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _products(root: cst.CSTNode):
    for node in walk(root):
        if isinstance(node, cst.Call) and (dotted(node.func) or "").endswith("outer"):
            continue
        operands = matmul_operands(node) if isinstance(node, cst.BaseExpression) else None
        if operands is None:
            continue
        for left, (weight, other) in ((True, operands), (False, operands[::-1])):
            bare, transposed = unwrap(weight)
            name = weight_name(bare)
            if name is not None:
                other_bare, other_transposed = unwrap(other)
                yield node, weight, name, _Side(left, transposed, other_transposed), other_bare


@dataclass
class _Reading:
    """How the forward multiplies each weight (sides, and whether by the previous state), and
    which operands of backward code are gradients: what both readings of this module share."""

    is_gradient: Callable[[cst.BaseExpression], bool]
    forward: dict[str, set[_Side]]
    recurrent: set[str]
    # the names the forward multiplies each weight by, and the histories it keeps them in
    operands: dict[str, set[str]]


def weight_reading(model) -> _Reading:
    return model.memo("weight_products", _read)


def _read(model) -> _Reading:
    region = model.region_points
    backward = {id(p.statement) for p in region}
    gradients = preactivation_gradients(model, region)

    def is_gradient(node: cst.BaseExpression) -> bool:
        name = _base_name(node)
        return name is not None and (name in gradients or bool(GRADIENT.match(name)))

    forward: dict[str, set[_Side]] = {}
    recurrent: set[str] = set()
    operands: dict[str, set[str]] = {}
    stored = _histories(model.module)
    for statement in walk(model.module):
        if not isinstance(statement, cst.BaseSmallStatement) or id(statement) in backward:
            continue
        for _, _, name, side, other in _products(statement):
            if not is_gradient(other):
                forward.setdefault(name, set()).add(side)
                named = _base_name(other) or ""
                operands.setdefault(name, set()).update({named, *stored.get(named, ())})
                if STATE.search(_base_name(other) or ""):
                    recurrent.add(name)
    return _Reading(is_gradient, forward, recurrent, operands)


def untransposed_weights(model) -> list[Untransposed]:
    reading = weight_reading(model)
    forward, recurrent, is_gradient = reading.forward, reading.recurrent, reading.is_gradient
    found: list[Untransposed] = []
    for point in model.region_points:
        for node, weight, name, side, other in _products(point.statement):
            if forward.get(name) == {side} and is_gradient(other):
                found.append(Untransposed(node, weight, name, name in recurrent))
    return found


def transposed_code(weight: cst.BaseExpression) -> str:
    """The weight operand with its transpose: ``Waa`` -> ``Waa.T``, ``W.T`` -> ``W``."""
    if isinstance(weight, cst.Attribute) and weight.attr.value == "T":
        return code_of(weight.value)
    text = code_of(weight)
    if isinstance(weight, cst.Name | cst.Attribute | cst.Subscript | cst.Call):
        return f"{text}.T"
    return f"({text}).T"


@dataclass
class GradientForWeight:
    node: cst.Name  # the weight's gradient, read where the weight is meant
    weight: str
    replacement: str | None  # the weight as the function can read it, where it can


WEIGHT_GRADIENT = re.compile(r"^d_?(?P<weight>[A-Za-z].*)$")


def gradients_for_weights(model) -> list[GradientForWeight]:
    """``np.dot(dWf[:, :n_a].T, dft)`` computing a state's or input's gradient: the weight's
    own gradient stands where the forward's weight ``Wf`` belongs."""
    region = model.region_points
    reading = weight_reading(model)
    is_gradient, weights = reading.is_gradient, set(reading.forward)
    found: list[GradientForWeight] = []
    for point in region:
        targets = _target_names(point.statement)
        if any(gradient_of_weight(t, weights) for t in targets):
            continue  # a weight's own gradient being computed
        for node in walk(point.statement):
            operands = matmul_operands(node) if isinstance(node, cst.BaseExpression) else None
            if operands is None:
                continue
            for operand, other in (operands, operands[::-1]):
                bare, _ = unwrap(operand)
                while isinstance(bare, cst.Subscript):
                    bare = bare.value
                weight = (
                    gradient_of_weight(bare.value, weights) if isinstance(bare, cst.Name) else None
                )
                if weight is not None and is_gradient(other):
                    found.append(GradientForWeight(bare, weight, _readable(model, point, weight)))
    return found


def gradient_of_weight(name: str, weights: set[str]) -> str | None:
    found = WEIGHT_GRADIENT.match(name)
    return found.group("weight") if found and found.group("weight") in weights else None


def _target_names(statement: cst.CSTNode) -> list[str]:
    targets = []
    if isinstance(statement, cst.Assign):
        targets = [t.target for t in statement.targets]
    elif isinstance(statement, cst.AugAssign | cst.AnnAssign):
        targets = [statement.target]
    return [n.value for t in targets for n in walk(t) if isinstance(n, cst.Name)]


def _readable(model, point, weight: str) -> str | None:
    """``Wf`` where the function binds it, else ``parameters["Wf"]`` where it binds
    ``parameters`` and the module reads the weight from it under that key."""
    scope = point.scope.node
    method = {"self"} if point.scope.class_name else set()
    bound = (
        set(point.scope.params)
        | method
        | {
            n.value
            for node in walk(scope)
            if isinstance(node, cst.Assign)
            for target in node.targets
            for n in walk(target.target)
            if isinstance(n, cst.Name)
        }
    )
    if weight in bound:
        return weight
    holders = {
        code_of(node.value)
        for node in walk(model.module)
        if isinstance(node, cst.Subscript)
        and _root(node.value) in bound
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and string_key(node.slice[0].slice.value) == weight
    }
    return f'{holders.pop()}["{weight}"]' if len(holders) == 1 else None


def _root(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


@dataclass
class TransposedGradient:
    product: cst.BaseExpression  # the weight's gradient, computed transposed
    weight: str
    edits: list[tuple[cst.CSTNode, str]]  # the operands swapped, each with its transpose


def transposed_gradients(model) -> list[TransposedGradient]:
    """``dWh += np.dot(h_prev, dz.T)`` for a forward ``Wh @ h_prev``: the gradient of ``W`` in
    ``W @ h`` is ``dz @ h.T``, with the delta where the weight was; this is its transpose."""
    reading = weight_reading(model)
    kept_transposed = _transposed_reads(model.module)
    found: list[TransposedGradient] = []
    for point in model.region_points:
        statement = point.statement
        targets = _target_names(statement)
        weight = next(
            (w for w in (gradient_of_weight(t, set(reading.forward)) for t in targets) if w),
            None,
        )
        value = getattr(statement, "value", None)
        if weight is None or value is None or len(reading.forward[weight]) != 1:
            continue
        if any(t in kept_transposed for t in targets):
            continue  # a gradient kept transposed on purpose and transposed where it is used
        side = next(iter(reading.forward[weight]))
        product, outer_transposed = unwrap(value)
        operands = matmul_operands(product)
        if operands is None:
            continue
        gradient_left = _gradient_side(model.reader(point), reading, weight, operands)
        if gradient_left is None:
            continue
        # W @ h wants dz @ h.T; W.T @ h and h @ W want h @ dz.T (or h.T @ dz); so does the
        # product's own transpose
        expected_left = side.left != side.transposed
        if (gradient_left != outer_transposed) != expected_left:
            found.append(TransposedGradient(product, weight, _swapped(product, operands)))
    return found


def _gradient_side(reader, reading: _Reading, weight: str, operands) -> bool | None:
    """Whether the delta is the left operand of a weight gradient's product: None unless one
    operand is a gradient and the other a value the forward multiplies the weight by."""
    sides = []
    for gradient, value in (operands, operands[::-1]):
        bare_gradient, _ = unwrap(gradient)
        bare_value, _ = unwrap(value)
        if not reading.is_gradient(bare_gradient) or reading.is_gradient(bare_value):
            continue
        if not isinstance(bare_value, cst.Name | cst.Attribute | cst.Subscript):
            continue
        fact = reader.fact(bare_value)
        same_name = _base_name(bare_value) in reading.operands.get(weight, set())
        a_state = fact is not None and fact.kind == F.STATE and weight in reading.recurrent
        if same_name or a_state:
            sides.append(gradient is operands[0])
    return sides[0] if len(sides) == 1 else None


def _swapped(product: cst.BaseExpression, operands) -> list[tuple[cst.CSTNode, str]]:
    left, right = operands
    if isinstance(product, cst.Call) and (dotted(product.func) or "").endswith("outer"):
        return [(left, code_of(right)), (right, code_of(left))]
    return [(left, transposed_code(right)), (right, transposed_code(left))]


def _transposed_reads(module: cst.Module) -> set[str]:
    """Names read transposed somewhere (``dW.T``, ``self.dW.T``)."""
    found = set()
    for node in walk(module):
        if isinstance(node, cst.BaseExpression):
            bare, transposed = unwrap(node)
            if transposed and bare is not node and isinstance(bare, cst.Name | cst.Attribute):
                found.add(bare.value if isinstance(bare, cst.Name) else bare.attr.value)
    return found


def _histories(module: cst.Module) -> dict[str, set[str]]:
    """The histories each name is stored in: ``hs[t] = h`` and ``hs.append(h)`` give
    ``{"h": {"hs"}}``."""
    found: dict[str, set[str]] = {}
    for node in walk(module):
        pairs = []
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name):
            pairs = [(t.target, node.value) for t in node.targets]
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "append"
            and len(node.args) == 1
            and isinstance(node.args[0].value, cst.Name)
        ):
            pairs = [(node.func, node.args[0].value)]
        for holder, value in pairs:
            if isinstance(holder, cst.Subscript) or holder is getattr(node, "func", None):
                history = _base_name(holder.value)
                if history is not None:
                    found.setdefault(value.value, set()).add(history)
    return found

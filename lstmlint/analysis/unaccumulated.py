"""Parameter gradients that start at zero and that nothing ever adds to.

A backward pass sets each parameter's gradient to zero and sums every step's share into it.
One left out of the sums (``dbh = np.zeros_like(bh)``, returned as it is, while ``dWxh += ...``
is summed) hands the update a gradient of zero: that parameter never learns, though the forward
pass uses it. Read conservatively: the name must never be written again, nor handed to anything
that could fill it in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.accumulators import assignment_pairs
from lstmlint.analysis.algebra import is_call_to, matmul_operands, terms
from lstmlint.analysis.names import code_of, dotted, key_of, memoised, walk
from lstmlint.analysis.names import parents as tree_parents
from lstmlint.analysis.transposes import gradient_of_weight, unwrap, weight_name, weight_reading
from lstmlint.edits import numpy_function

ZERO_CALLS = ("zeros", "zeros_like")
# an initial state's gradient (dh0, dhprev, dc_init) is handed back, not learned
STATE = re.compile(r"prev|0$|init")


@dataclass
class Unaccumulated:
    node: cst.BaseExpression  # the gradient where it is set to zero
    gradient: str  # ``dbh``, ``self.dby``
    parameter: str  # ``bh``, ``self.by``
    owner: cst.CSTNode  # the function (a local gradient) or class (``self.dby``) it lives in


def _zero_assignments(owner: cst.CSTNode) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(target, value) of every ``name = value`` under ``owner``, tuples unpacked element-wise."""
    return memoised("assignments", owner, _assignments)


def _assignments(owner: cst.CSTNode) -> list[tuple[cst.BaseExpression, cst.BaseExpression]]:
    return [
        (target, value)
        for node in walk(owner)
        if isinstance(node, cst.Assign)
        for target, value in assignment_pairs(node)
        if value is not None
    ]


def _is_zero(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Call) and is_call_to(value, *ZERO_CALLS)


def _harmless_read(node: cst.CSTNode, parents: dict[int, cst.CSTNode], key: str) -> bool:
    """A read of the gradient that cannot change it: arithmetic, a NumPy function that does not
    write into it, a return, or a display iterated by a loop that only clips its items."""
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, cst.Arg):
            call = parents.get(id(parent))
            name = dotted(call.func) if isinstance(call, cst.Call) else None
            if name is None or name.split(".")[0] not in ("np", "numpy"):
                return False  # a function of the file's may fill it in place
            writes = any(
                a.keyword is not None and a.keyword.value == "out" and key_of(a.value) == key
                for a in call.args
            )
            return not writes or is_call_to(call, "clip")
        if isinstance(parent, cst.List | cst.Tuple | cst.Element):
            child, parent = parent, parents.get(id(parent))
            continue
        if isinstance(parent, cst.For) and child is parent.iter:
            return _only_clips(parent)
        if isinstance(parent, cst.Return | cst.BinaryOperation | cst.UnaryOperation):
            return True
        if isinstance(parent, cst.Assign | cst.AugAssign) and child is parent.value:
            # read into another value: a display assigned whole may alias it (``grads = [dW]``)
            return not isinstance(child, cst.List | cst.Tuple | cst.Dict)
        if isinstance(parent, cst.Subscript | cst.Attribute | cst.Call | cst.Dict):
            return False
        child, parent = parent, parents.get(id(parent))
    return False


def _only_clips(loop: cst.For) -> bool:
    """``for g in [dW, db]: np.clip(g, -5, 5, out=g)``: a loop over gradients that only clips."""
    for node in walk(loop.body):
        if isinstance(node, cst.AugAssign | cst.Assign):
            return False
        if isinstance(node, cst.Call) and not is_call_to(node, "clip"):
            return False
    return True


def _writes(owner: cst.CSTNode, key: str, inits: set[int]) -> bool:
    """Whether anything under ``owner`` but the zero initialisations may write into ``key``."""
    parents = tree_parents(owner)
    for node in walk(owner, attribute_names=False):
        if not isinstance(node, cst.Name | cst.Attribute) or key_of(node) != key:
            continue
        if id(node) in inits:
            continue
        parent = parents.get(id(node))
        if isinstance(parent, cst.Attribute) and parent.value is node:
            if parent.attr.value in ("shape", "T", "dtype", "size", "ndim"):
                continue
            return True  # a method of the array (``dW.fill``) may write into it
        if isinstance(parent, cst.AugAssign) and parent.target is node:
            return True
        if isinstance(parent, cst.AssignTarget | cst.Element | cst.Subscript):
            if isinstance(parent, cst.Element) and _harmless_read(node, parents, key):
                continue
            return True
        if not _harmless_read(node, parents, key):
            return True
    return False


def _read(owner: cst.CSTNode, key: str, inits: set[int]) -> bool:
    """The gradient is handed on after it is set: returned, clipped, read by an update."""
    return any(
        isinstance(node, cst.Name | cst.Attribute) and key_of(node) == key and id(node) not in inits
        for node in walk(owner, attribute_names=False)
    )


def _accumulates(owner: cst.CSTNode) -> bool:
    """Some other gradient is summed step by step in a loop under ``owner``."""
    return memoised("accumulates", owner, _sums_in_loops)


def _sums_in_loops(owner: cst.CSTNode) -> bool:
    for node in walk(owner):
        if isinstance(node, cst.For | cst.While):
            for inner in walk(node.body):
                if (
                    isinstance(inner, cst.AugAssign)
                    and isinstance(inner.operator, cst.AddAssign)
                    and (key_of(inner.target) or "").rsplit(".", 1)[-1].startswith("d")
                ):
                    return True
    return False


def _used(owner: cst.CSTNode, parameter: str) -> bool:
    """``parameter`` is read in a computation under ``owner``: not only sized for zeros, nor
    only updated (``bh -= lr * dbh``), nor only read by an optimiser's memory."""
    parents = tree_parents(owner)
    for node in walk(owner, attribute_names=False):
        if not isinstance(node, cst.Name | cst.Attribute) or key_of(node) != parameter:
            continue
        parent = parents.get(id(node))
        if isinstance(parent, cst.Attribute) and parent.value is node:
            continue  # bh.shape
        if isinstance(parent, cst.Arg):
            call = parents.get(id(parent))
            if isinstance(call, cst.Call) and is_call_to(
                call, *ZERO_CALLS, "ones_like", "empty_like"
            ):
                continue
        statement = node
        while statement is not None and not isinstance(
            statement, cst.Assign | cst.AugAssign | cst.Return | cst.Expr
        ):
            statement = parents.get(id(statement))
        if isinstance(statement, cst.AugAssign) and key_of(statement.target) == parameter:
            continue
        if isinstance(statement, cst.Assign) and any(
            key_of(t.target) == parameter for t in statement.targets
        ):
            continue
        if isinstance(parent, cst.BinaryOperation | cst.Arg | cst.Subscript):
            return True
    return False


def unaccumulated(model) -> list[Unaccumulated]:
    """Gradients set to zero in a function (a local name) or in a class (``self.dW``) whose
    backward code sums other gradients, never written again, for a parameter the forward
    pass reads."""
    if not model.is_rnn:
        return []
    found = []
    for scope in model.flow.scopes:
        func = scope.node
        if not isinstance(func, cst.FunctionDef):
            continue
        owner_class = _class_of(model.module, scope.class_name) if scope.class_name else None
        for target, value in _zero_assignments(func):
            key = key_of(target)
            if key is None or not _is_zero(value):
                continue
            local = isinstance(target, cst.Name)
            if not local and not (key.startswith("self.") and owner_class is not None):
                continue
            name = key.rsplit(".", 1)[-1]
            if len(name) < 2 or name[0] != "d" or name[1] == "_":
                continue
            if STATE.search(name[1:]):
                continue
            parameter = key[: len(key) - len(name)] + name[1:]
            owner = func if local else owner_class
            inits = {id(t) for t, v in _zero_assignments(owner) if key_of(t) == key and _is_zero(v)}
            if (
                _accumulates(owner)
                and _read(owner, key, inits)
                and not _writes(owner, key, inits)
                and _used(model.module if local else owner, parameter)
            ):
                found.append(Unaccumulated(target, key, parameter, owner))
    seen: set[str] = set()
    unique = []
    for item in found:
        if item.gradient not in seen or not item.gradient.startswith("self."):
            seen.add(item.gradient)
            unique.append(item)
    return unique


def _class_of(module: cst.Module, name: str) -> cst.ClassDef | None:
    """The class a scope's ``class_name`` names."""
    return next(
        (n for n in walk(module) if isinstance(n, cst.ClassDef) and n.name.value == name), None
    )


def bias_edits(model, found: Unaccumulated) -> list[tuple[cst.CSTNode, str]]:
    """A bias's missing sum, written after its weight's (``dWhy += dy @ h.T`` gets
    ``dby += np.sum(dy, axis=1, keepdims=True)`` after it): the delta of a weight that the
    forward adds the bias to is the bias's own, summed over the batch."""
    bias = found.parameter.rsplit(".", 1)[-1]
    reading = weight_reading(model)
    weights = _weights_beside(model.module, bias)
    total = numpy_function(model.context.aliases, "sum")
    if total is None:
        return []
    for node in walk(found.owner):
        if not isinstance(node, cst.AugAssign) or not isinstance(node.operator, cst.AddAssign):
            continue
        name = (key_of(node.target) or "").rsplit(".", 1)[-1]
        if gradient_of_weight(name, weights) is None:
            continue
        operands = matmul_operands(node.value)
        if operands is None:
            continue
        gradients = [i for i, op in enumerate(operands) if reading.is_gradient(unwrap(op)[0])]
        if len(gradients) != 1 or unwrap(operands[gradients[0]])[1]:
            continue
        delta = code_of(operands[gradients[0]])
        if isinstance(node.value, cst.Call) and (dotted(node.value.func) or "").endswith("outer"):
            share = delta
        elif gradients[0] == 0:
            share = f"{total}({delta}, axis=1, keepdims=True)"
        else:
            share = f"{total}({delta}, axis=0)"
        indent = " " * (model.span(node).column - 1)
        return [(node, f"{code_of(node)}\n{indent}{found.gradient} += {share}")]
    return []


def _weights_beside(module: cst.Module, bias: str) -> set[str]:
    """The weights the forward multiplies in a sum that adds the bias (``W @ h + b``)."""
    found = set()
    for node in walk(module):
        if not isinstance(node, cst.BinaryOperation) or not isinstance(node.operator, cst.Add):
            continue
        parts = [term for _, term in terms(node)]
        if not any((key_of(p) or "").rsplit(".", 1)[-1] == bias for p in parts):
            continue
        for part in parts:
            operands = matmul_operands(part)
            for operand in operands or ():
                name = weight_name(unwrap(operand)[0])
                if name is not None:
                    found.add(name)
    return found

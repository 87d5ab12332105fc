"""A forward loop that keeps the initial state in the last slot of a T-step array.

``h = np.zeros((T, N, H)); h[-1] = h0`` and then ``h[t] = step(x[t], h[t - 1])``: at t == 0
the step reads ``h[-1]``, the initial state, but that slot is also ``h[T - 1]``, which the last
step overwrites. The forward values come out right; what keeps ``h[t - 1]`` as a view (the
step's cache, for the backward) sees the last hidden state instead of the initial one.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.names import code_of, dotted, walk

ALLOCATORS = {"zeros", "empty", "ones", "zeros_like", "empty_like", "full"}


@dataclass
class WrappedView:
    """The read ``node`` (``h[t - 1]``) handed to a call inside ``loop``."""

    node: cst.Subscript
    statement: cst.CSTNode
    name: str


def wrapped_views(module: cst.Module) -> list[WrappedView]:
    found: list[WrappedView] = []
    for func in (n for n in walk(module) if isinstance(n, cst.FunctionDef)):
        body = _small_statements(func)
        shapes = {_target(s): _shape(s) for s in body if _allocates(s)}
        defined = {n.name.value for n in walk(module) if isinstance(n, cst.FunctionDef)}
        for loop in (n for n in walk(func) if isinstance(n, cst.For)):
            var = _loop_var(loop)
            if var is None:
                continue
            for name, shape in shapes.items():
                axis = _initial_axis(body, loop, name)
                if (
                    name is None
                    or axis is None
                    or not _written_at(loop, name, var, axis)
                    or not _steps_only(shape, axis)
                ):
                    continue
                # a function of the file's own, which may keep its argument (a step's cache)
                calls = [
                    n
                    for n in walk(loop.body)
                    if isinstance(n, cst.Call) and dotted(n.func) in defined
                ]
                for call in calls:
                    for arg in call.args:
                        if _is_read(arg.value, name, var, axis, -1):
                            found.append(WrappedView(arg.value, _statement_of(loop, call), name))
    return found


def copy_edit(view: WrappedView) -> list[tuple[cst.CSTNode, str]]:
    return [(view.node, f"{code_of(view.node)}.copy()")]


def _small_statements(func: cst.FunctionDef) -> list[cst.BaseSmallStatement]:
    return [n for n in walk(func.body) if isinstance(n, cst.BaseSmallStatement)]


def _target(statement: cst.CSTNode) -> str | None:
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target = statement.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    return None


def _allocates(statement: cst.CSTNode) -> bool:
    value = getattr(statement, "value", None)
    if not isinstance(statement, cst.Assign) or not isinstance(value, cst.Call):
        return False
    callee = dotted(value.func) or ""
    return callee.rsplit(".", 1)[-1] in ALLOCATORS and "." in callee


def _shape(statement: cst.Assign) -> list[cst.BaseExpression] | None:
    """The shape given to the allocator, when it is written out as a tuple."""
    args = statement.value.args
    if args and isinstance(args[0].value, cst.Tuple | cst.List):
        return [e.value for e in args[0].value.elements]
    return None


def _steps_only(shape: list[cst.BaseExpression] | None, axis: int) -> bool:
    """The time axis holds exactly the loop's steps: not ``T + 1`` (a slot for the initial
    state of its own); a shape not written out is not judged."""
    if shape is None or axis >= len(shape):
        return False
    size = shape[axis]
    return not isinstance(size, cst.BinaryOperation) and not isinstance(size, cst.Integer)


def _loop_var(loop: cst.For) -> str | None:
    """``t`` of ``for t in range(...)`` or ``for t, x_t in enumerate(...)``: a step index, never
    an element of what is iterated (``for t, u in zip(a, b)``)."""
    callee = dotted(loop.iter.func) if isinstance(loop.iter, cst.Call) else None
    target = loop.target
    if callee == "enumerate" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
        target = target.elements[0].value
    elif callee != "range":
        return None
    return target.value if isinstance(target, cst.Name) else None


def _indices(node: cst.BaseExpression) -> list[cst.BaseSlice]:
    return [element.slice for element in node.slice] if isinstance(node, cst.Subscript) else []


def _position(node: cst.BaseExpression, name: str, wanted) -> int | None:
    """The axis at which subscript ``node`` of ``name`` has an index ``wanted`` accepts, the
    others being whole slices ``:``."""
    if not (isinstance(node, cst.Subscript) and dotted(node.value) == name):
        return None
    found = None
    for axis, index in enumerate(_indices(node)):
        if isinstance(index, cst.Index) and wanted(index.value):
            if found is not None:
                return None
            found = axis
        elif not (isinstance(index, cst.Slice) and index.lower is None and index.upper is None):
            return None
    return found


def _is_minus(node: cst.BaseExpression, var: str | None, amount: int) -> bool:
    text = code_of(node).replace(" ", "")
    return text == (f"{var}-{-amount}" if var else str(amount))


def _initial_axis(body: list, loop: cst.For, name: str) -> int | None:
    """The axis of ``name[..., -1] = h0`` assigned before ``loop``."""
    loop_statements = {id(s) for s in walk(loop) if isinstance(s, cst.BaseSmallStatement)}
    for statement in body:
        if id(statement) in loop_statements or not isinstance(statement, cst.Assign):
            continue
        for target in statement.targets:
            axis = _position(target.target, name, lambda v: _is_minus(v, None, -1))
            if axis is not None:
                return axis
    return None


def _written_at(loop: cst.For, name: str, var: str, axis: int) -> bool:
    for node in walk(loop.body):
        targets = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        for target in targets:
            parts = (
                [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]
            )
            for part in parts:
                at = _position(part, name, lambda v: code_of(v).replace(" ", "") == var)
                if at == axis:
                    return True
    return False


def _is_read(node: cst.BaseExpression, name: str, var: str, axis: int, amount: int) -> bool:
    return _position(node, name, lambda v: _is_minus(v, var, amount)) == axis


def _statement_of(loop: cst.For, call: cst.Call) -> cst.CSTNode:
    for statement in walk(loop.body):
        if isinstance(statement, cst.BaseSmallStatement) and any(
            n is call for n in walk(statement)
        ):
            return statement
    return call

"""Which state reads in backward code read the wrong time step (LST101 / LST102)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.backward import (
    ACT,
    CURRENT,
    IDENTITY,
    OK,
    PREVIOUS,
    StateRead,
    groups,
    output_gradients,
    preactivation_gradients,
    state_reads,
)
from lstmlint.analysis.experiments import STATE_SLOTS, index_bindings, model_kind, slot_spec
from lstmlint.analysis.loops import TimeLoop, index_offset, index_text
from lstmlint.analysis.names import code_of, walk
from lstmlint.edits import numpy_function

NAMES = {"c": "cell", "h": "hidden"}


@dataclass
class OffsetProblem:
    code: str  # LST101 or LST102
    node: cst.CSTNode
    message: str
    fix: str | None
    experiment: dict | None = None
    edits: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


def _experiment(model, reads: list[StateRead], expected: int) -> dict | None:
    """Replay the read in the reference backward at the slot its context names; the fix is the
    state the context needs (``__expected__``), bound by its role."""
    kind = model_kind(model)
    read = next((r for r in reads if r.context), None)
    if kind is None or read is None or read.fact.state is None:
        return None
    context = read.context
    if context == "tanh":
        found = groups(model.reader(read.point), read.point)
        derivative = any(g.leaf is read.node and g.kind not in (None, IDENTITY, ACT) for g in found)
        context = "cellpath" if derivative else "tanh"
    slot = STATE_SLOTS.get((kind, read.fact.state, context))
    if slot is None:
        return None
    if read.group:
        expr_text = " * ".join(f"({code_of(n)})" for n in read.group)
    else:
        expr_text = code_of(read.node)
    fix_text = expr_text.replace(code_of(read.node), "__expected__")
    bind = index_bindings(model, read.point, [cst.parse_expression(expr_text)])
    spec = slot_spec(model, read.point, slot, cst.parse_expression(expr_text), fix_text, bind)
    if spec is not None:
        spec["leaves"] = {"__expected__": {"value": read.fact.state, "step": expected}}
    return spec


def _reads(model) -> dict[int, list[StateRead]]:
    by_origin: dict[int, list[StateRead]] = {}
    logit_gradients = output_gradients(model.region_points)
    preact = preactivation_gradients(model, model.region_points)
    for point in model.region_points:
        reader = model.reader(point)
        for read in state_reads(reader, point, logit_gradients, preact):
            by_origin.setdefault(id(read.node), []).append(read)
        for group in groups(reader, point):
            # a vanilla RNN's h inside its own derivative (1 - h**2) must be the current h
            fact = group.fact
            if (
                fact.kind == F.STATE
                and fact.act == "tanh"
                and group.kind == OK
                and fact.origin is not None
            ):
                by_origin.setdefault(id(fact.origin), []).append(
                    StateRead(fact.origin, fact, CURRENT, point, "derivative", group.nodes)
                )
    return by_origin


def _fixed_index(node: cst.CSTNode, loop: TimeLoop | None, delta: int) -> str | None:
    edit = _index_edit(node, loop, delta)
    if edit is None:
        return None
    parts = []
    for element in node.slice:
        inner = element.slice
        if isinstance(inner, cst.Index) and inner.value is edit[0]:
            parts.append(edit[1])
        else:
            parts.append(code_of(element).strip().rstrip(","))
    return f"{code_of(node.value)}[{', '.join(parts)}]"


def _other_names(read: StateRead, step: int) -> list[str]:
    return [
        key
        for key, fact in read.point.env.items()
        if fact.kind == F.STATE
        and fact.state == read.fact.state
        and fact.step == step
        and "[" not in key
    ]


def _other_name(read: StateRead, step: int) -> str | None:
    names = _other_names(read, step)
    return names[0] if names else None


def _index_edit(
    node: cst.CSTNode, loop: TimeLoop | None, delta: int
) -> tuple[cst.CSTNode, str] | None:
    """Only the time index changes (``t - 1`` -> ``t``), so a fix of the expression around the
    read does not overlap this one."""
    if not isinstance(node, cst.Subscript) or loop is None or loop.var is None:
        return None
    for element in node.slice:
        inner = element.slice
        if isinstance(inner, cst.Index):
            offset = index_offset(inner.value, loop.var, loop.mirror)
            if offset is not None:
                return inner.value, index_text(loop.var, offset + delta, loop.mirror)
    return None


def _edits(
    read: StateRead, loop: TimeLoop | None, delta: int, step: int
) -> list[tuple[cst.CSTNode, str]]:
    """The index moved by ``delta``, or else the one other variable that holds the wanted state
    (also where the moved index would read past the start of a history without an initial
    state: ``c_prev = C[t - 1] if t > 0 else c0`` is right where ``C[t - 1]`` wraps)."""
    edit = _index_edit(read.node, loop, delta)
    names = _other_names(read, step)
    if edit is not None and len(names) == 1 and _wraps_after(read, loop, delta):
        return [(read.node, names[0])]
    if edit is not None:
        # in ``1 - h[t - 1] * h[t - 1]`` both reads are the one state the factor is about
        same = [
            n
            for part in read.group or []
            for n in walk(part)
            if n is not read.node and isinstance(n, cst.Subscript) and n.deep_equals(read.node)
        ]
        return [edit, *(e for e in (_index_edit(n, loop, delta) for n in same) if e)]
    if len(names) == 1 and isinstance(read.node, cst.Name | cst.Attribute):
        return [(read.node, names[0])]
    return []


def _wraps_after(read: StateRead, loop: TimeLoop | None, delta: int) -> bool:
    """Whether the read, its index moved by ``delta``, reaches index -1 of a list or array that
    holds no initial state (at the loop's first step, unguarded)."""
    fact = read.fact
    if loop is None or loop.var is None or loop.lowest is None or read.point.guarded:
        return False
    if fact.convention != F.ALIGNED or fact.container == "dict":
        return False
    offsets = [
        index_offset(e.slice.value, loop.var, loop.mirror)
        for e in getattr(read.node, "slice", ())
        if isinstance(e.slice, cst.Index)
    ]
    offset = next((o for o in offsets if o is not None), None)
    return offset is not None and loop.lowest + offset + delta < 0


def _describe(fact: F.Fact) -> str:
    if fact.convention == F.PREPENDED:
        return "this history starts with the initial state, so step t is stored at index t + 1"
    if fact.convention == F.FROM_MINUS_1:
        return "this history holds the initial state at key -1, so step t is stored at key t"
    if fact.convention == F.ALIGNED:
        return "this history holds no initial state, so step t is stored at index t"
    return ""


def _offset_problems(model) -> list[OffsetProblem]:
    problems: list[OffsetProblem] = []
    for reads in _reads(model).values():
        read = next(
            (r for r in reads if r.expected is not None and r.expected != r.fact.step), None
        )
        expected_known = any(r.expected is not None for r in reads)
        first = reads[0]
        fact = first.fact
        kind = NAMES.get(fact.state or "", "recurrent")
        text = code_of(first.node)
        loop = first.point.time_loop.loop if first.point.time_loop else None
        if read is not None and read.fact.step is not None:
            wanted = read.expected
            code = "LST101" if wanted == PREVIOUS else "LST102"
            role = "previous" if wanted == PREVIOUS else "current"
            actual = fact.step
            where = {0: "the current step", -1: "the previous step"}.get(
                actual, f"{abs(actual)} steps back" if actual < 0 else "the next step"
            )
            fixed = _fixed_index(first.node, loop, wanted - actual) or _other_name(read, wanted)
            edits = _edits(read, loop, wanted - actual, wanted) if fixed else []
            if edits and edits[0][0] is first.node:
                fixed = edits[0][1]
            reason = _describe(fact)
            message = (
                f"the {role} {kind} state is needed here, but `{text}` is the state of {where}"
            )
            message += f"; {reason}" if reason else ""
            problems.append(
                OffsetProblem(
                    code,
                    first.node,
                    message,
                    f"use `{fixed}`" if fixed else None,
                    _experiment(model, [read], wanted),
                    edits,
                )
            )
            continue
        if expected_known or fact.step is None:
            if fact.wraps and not any(r.expected == CURRENT for r in reads):
                problems.append(_wrap(model, reads, kind, text, loop))
            continue
        # a prepended history read two steps back also wraps at step 0; the step is the bug
        if fact.wraps and fact.step >= -1:
            problems.append(_wrap(model, reads, kind, text, loop))
        elif fact.step < -1:
            fixed = _fixed_index(first.node, loop, -1 - fact.step)
            problems.append(
                OffsetProblem(
                    "LST101",
                    first.node,
                    f"`{text}` is the {kind} state {abs(fact.step)} steps back, not the previous one; {_describe(fact)}",
                    f"use `{fixed}` for the previous state" if fixed else None,
                    _experiment(model, reads, PREVIOUS),
                    [e for e in [_index_edit(first.node, loop, -1 - fact.step)] if e],
                )
            )
        elif fact.step > 0:
            fixed = _fixed_index(first.node, loop, -fact.step)
            problems.append(
                OffsetProblem(
                    "LST102",
                    first.node,
                    f"`{text}` is the {kind} state of a later step; {_describe(fact)}",
                    f"use `{fixed}` for the current state" if fixed else None,
                    _experiment(model, reads, CURRENT),
                    [e for e in [_index_edit(first.node, loop, -fact.step)] if e],
                )
            )
    return problems


def _wrap(
    model, reads: list[StateRead], kind: str, text: str, loop: TimeLoop | None
) -> OffsetProblem:
    read = reads[0]
    step = loop.step_text if loop is not None else "t"
    experiment = _experiment(model, reads, PREVIOUS)
    return OffsetProblem(
        "LST101",
        read.node,
        f"`{text}` wraps around to the last element at {step} == 0: this history holds no initial state, "
        f"so the previous {kind} state of step 0 is the initial state, not the last one",
        f"use the initial state at {step} == 0, e.g. `{text} if {step} > 0 else h0`",
        experiment,
        [] if experiment is not None else _zero_start_edits(model, read, loop),
    )


def _zero_start_edits(
    model, read: StateRead, loop: TimeLoop | None
) -> list[tuple[cst.CSTNode, str]]:
    """The read with a zero initial state at step 0 (``(hs[t - 1] if t > 0 else
    np.zeros_like(hs[t]))``). Whether the initial state was zero only a check of the user's
    own code can tell, so it is offered only where no reference replay could confirm it."""
    zeros = numpy_function(model.context.aliases, "zeros_like")
    current = _fixed_index(read.node, loop, 1)
    if loop is None or loop.mirror is not None or zeros is None or current is None:
        return []
    text = code_of(read.node)
    return [(read.node, f"({text} if {loop.var} > 0 else {zeros}({current}))")]


def offset_problems(model):
    return model.memo("offset_problems", _offset_problems)

"""What to run to prove a finding: an experiment spec, built from what the analysis knows.

A spec is plain JSON. It names a reference model (``lstm``, ``gru``, ``rnn``), the slot of that
model's backward where the flagged code belongs, the user's expression and its fix, and how
every name in them is bound to the reference's values under the user's own convention.
``lstmlint.confirm`` runs specs in a child process.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import names_in
from lstmlint.analysis.flow import Point
from lstmlint.analysis.names import code_of

DERIVATIVE_SLOTS = {
    "lstm": {
        "f": "dfactor_f",
        "i": "dfactor_i",
        "g": "dfactor_g",
        "o": "dfactor_o",
        "c": "cellpath_factor",
    },
    "gru": {"z": "dfactor_z", "r": "dfactor_r", "n": "dfactor_n"},
    "rnn": {"h": "dfactor_h"},
}
STATE_SLOTS = {
    ("lstm", "c", "tanh"): "c_in_do",
    ("lstm", "c", "cellpath"): "c_in_cellpath",
    ("lstm", "c", "factor"): "c_prev_df",
    ("lstm", "h", "readout"): "h_readout",
    ("gru", "h", "readout"): "h_readout",
    ("gru", "h", "difference"): "h_prev_dz",
    ("rnn", "h", "readout"): "h_readout",
    ("rnn", "h", "recurrent"): "h_prev_whh",
    ("rnn", "h", "derivative"): "dfactor_h",
}


def _model_kind(model) -> str | None:
    """Which reference model matches the file: the gates and states the analysis recognised."""
    gates: set[str] = set()
    tanh_state = False
    for env in model.flow.envs.values():
        for fact in env.values():
            target = fact.elem if fact.kind == F.SEQ and fact.elem is not None else fact
            if target.gate:
                gates.add(target.gate)
            if target.kind == F.STATE and target.act == "tanh":
                tanh_state = True
    for label in model._flow.labels.values():
        if label.gate:
            gates.add(label.gate)
    if gates & {"f", "i", "o"}:
        return "lstm"
    if gates & {"z", "n"}:
        return "gru"
    return "rnn" if tanh_state else None


def _role(fact: F.Fact | None) -> str | None:
    if fact is None:
        return None
    if fact.kind == F.STATE:
        return fact.state
    if fact.kind == F.ACT and fact.gate:
        return fact.gate
    if fact.kind == F.PRE and fact.gate:
        return f"a_{fact.gate}"
    if fact.kind == F.PROB:
        return "p"
    return None


def _file(model) -> dict[str, Any]:
    return {"path": str(model.path) if model.path else None, "text": model.code}


def _callables(model) -> set[str]:
    return set(model.context.all_functions) | set(model.context.aliases) | {"np", "numpy", "math"}


def unbound_name(model, point: Point, node: cst.CSTNode, gradients: frozenset[str]) -> str | None:
    """A name in ``node`` that is neither one of ``gradients`` nor something the analysis has a
    fact for: replaying the code would have to make up its value, and so would only repeat the
    analysis's reading of it."""
    reader = model.reader(point)
    loop = point.time_loop
    skip = _callables(model) | gradients | {"True", "False", "None"}
    for name in sorted(names_in(node) - skip):
        if loop is not None and name == loop.loop.var and loop.loop.mirror is None:
            continue
        if reader.lookup(name) is None:
            return name
    return None


def carry_spec(
    model, point: Point, value: cst.BaseExpression, gradients: frozenset[str]
) -> dict | None:
    """The carried cell gradient as the user computes it, replayed where the reference hands
    ``dc_next`` to the previous step: the cell gradient's names are bound to the reference's,
    every other name by its fact; the fix is the reference's own ``dc * f``."""
    bind = index_bindings(model, point, [value], gradients)
    kind = model_kind(model)
    if kind != "lstm" or bind is None:
        return None
    return {
        "kind": "slot",
        "model": kind,
        "slot": "carry_c",
        "expr": code_of(value),
        "fix": None,
        "bind": bind,
        "leaves": {},
        "file": _file(model),
    }


def index_bindings(
    model, point: Point, nodes: list[cst.CSTNode], gradients: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """Names in ``nodes`` bound to histories built under the user's convention (and the names
    in ``gradients`` to the reference's cell gradient), or None."""
    reader = model.reader(point)
    loop = point.time_loop
    var = loop.loop.var if loop else None
    shift = loop.shift if loop else None
    bind: dict[str, Any] = {}
    known = _callables(model)
    for name in set().union(*(names_in(n) for n in nodes)):
        if name in known or name in ("True", "False", "None"):
            continue
        if name == var and shift is not None:
            if loop.loop.mirror is not None:  # the replay knows no value for the loop's bound
                return None
            bind[name] = {"index": shift}
            continue
        if name in gradients:
            bind[name] = {"gradient": "dc"}
            continue
        fact = reader.lookup(name)
        if fact is not None and fact.kind == F.SEQ and fact.elem is not None and fact.convention:
            role = _role(fact.elem)
            if role is None:
                return None
            bind[name] = {
                "history": role,
                "convention": fact.convention,
                "container": fact.container or "list",
            }
            continue
        role = _role(fact)
        if role is None:
            return None
        step = fact.step if fact.kind == F.STATE else 0
        if step is None:
            return None
        bind[name] = {"value": role, "step": step}
    return bind


def slot_spec(
    model, point: Point, slot: str | None, expr: cst.CSTNode, fix: str, bind: dict | None
) -> dict | None:
    kind = model_kind(model)
    if kind is None or slot is None or bind is None:
        return None
    return {
        "kind": "slot",
        "model": kind,
        "slot": slot,
        "expr": code_of(expr),
        "fix": fix,
        "bind": bind,
        "leaves": {},
        "file": _file(model),
    }


def role_spec(
    model, slot_role: str, nodes: list[cst.CSTNode], leaf: cst.CSTNode, fact: F.Fact, fix: str
) -> dict | None:
    """A derivative factor: the leaf is bound to the gate (or state) it stands for, at the current step."""
    kind = model_kind(model)
    role = _role(fact)
    slot = DERIVATIVE_SLOTS.get(kind or "", {}).get(slot_role)
    if kind is None or role is None or slot is None:
        return None
    expr = " * ".join(f"({code_of(n)})" for n in nodes)
    return {
        "kind": "slot",
        "model": kind,
        "slot": slot,
        "expr": expr,
        "fix": fix,
        "bind": {},
        "leaves": {code_of(leaf): {"value": role, "step": 0}},
        "file": _file(model),
    }


def constant_spec(model, slot_role: str, value: str, read_only: bool = False) -> dict | None:
    """A factor or carry that the code leaves out: the slot gets ``ones``, ``zeros`` or ``dc``.
    ``read_only``: that it is left out is the analysis's reading of the code, not a plain fact
    of it (a name never written), so the replay can show the cost but never confirm."""
    kind = model_kind(model)
    slot = DERIVATIVE_SLOTS.get(kind or "", {}).get(slot_role) if value == "ones" else slot_role
    if kind is None or slot is None:
        return None
    spec = {"kind": "constant", "model": kind, "slot": slot, "value": value}
    return {**spec, "read_only": True} if read_only else spec


def overwrite_spec(model) -> dict | None:
    """Weight gradients assigned at every step instead of summed: the reference keeps only the
    last step's share. That they are weight gradients is read from their names, so the replay
    shows the cost and never confirms."""
    kind = model_kind(model)
    if kind is None:
        return None
    return {
        "kind": "constant",
        "model": kind,
        "slot": "overwrite",
        "value": "ones",
        "read_only": True,
    }


def leaf_roles(model, point: Point, node: cst.CSTNode) -> dict[str, Any] | None:
    """Every name or subscript with a forward meaning in ``node``, bound to its role (for probes)."""
    reader = model.reader(point)
    leaves: dict[str, Any] = {}
    free: list[str] = []

    class Visitor(cst.CSTVisitor):
        def visit_Subscript(self, n: cst.Subscript) -> bool:
            return self._leaf(n)

        def visit_Name(self, n: cst.Name) -> bool:
            return self._leaf(n)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            return self._leaf(n)

        def visit_Call(self, n: cst.Call) -> bool:
            for arg in n.args:
                arg.value.visit(self)
            return False

        def _leaf(self, n: cst.CSTNode) -> bool:
            fact = reader.fact(n)
            if fact is not None and fact.kind == F.PROB:
                leaves[code_of(n)] = {"value": "p", "step": 0}
                return False
            if isinstance(n, cst.Name) and n.value not in _callables(model):
                free.append(n.value)
            return not isinstance(n, cst.Name)

    node.visit(Visitor())
    return {"leaves": leaves, "free": free}


def probe_spec(model, point: Point, kind: str, node: cst.CSTNode, fix: str) -> dict | None:
    roles = leaf_roles(model, point, node)
    if roles is None:
        return None
    return {
        "kind": kind,
        "expr": code_of(node),
        "fix": fix,
        "leaves": roles["leaves"],
        "free": roles["free"],
        "file": _file(model),
    }


def model_kind(model):
    return model.memo("model_kind", _model_kind)

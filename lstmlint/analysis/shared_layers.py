"""One layer object standing for every time step.

Layer objects keep what their forward computed (``self.output = np.tanh(z)``) for their
backward. A network that walks time keeps one per step (``[Tanh() for _ in range(T)]``); a
list that repeats one object (``[layer for _ in range(T)]``, ``[Tanh()] * T``) hands every step
the same one, so each step's forward overwrites what the step before kept, and the backward
reads the last step's values at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis.algebra import mentions
from lstmlint.analysis.names import code_of, key_of, last_name, self_attribute, walk


@dataclass
class SharedLayer:
    node: cst.BaseExpression  # the list that repeats one object
    name: str  # the list, as the code names it
    element: cst.BaseExpression  # the repeated object
    classes: list[str]  # the classes of the file whose objects it may be
    edit: tuple[cst.CSTNode, str] | None


@dataclass
class _Class:
    methods: set[str]
    kept: set[str]  # attributes its methods other than __init__ assign
    reading: set[str]  # methods that read what another method kept
    bare: bool  # made with no argument

    def keeps_state_for(self, called: set[str], read: set[str]) -> int:
        """How surely per-step use of an object of this class depends on what it kept: 2 when
        the code reads a kept attribute, 1 when it calls a method that reads what another
        method kept, else 0."""
        if not called & self.methods:
            return 0
        return 2 if read & self.kept else 1 if called & self.reading else 0


def shared_layers(model) -> list[SharedLayer]:
    return model.memo("shared_layers", _find)


def _find(model) -> list[SharedLayer]:
    classes = _classes(model.module)
    if not classes:
        return []
    called, read = _per_step_uses(model.module)
    found = []
    for owner, node in _assignments(model.module):
        name = last_name(key_of(node.targets[0].target))
        repeated = _repeated(node.value)
        if name is None or repeated is None:
            continue
        element, count = repeated
        made = last_name(code_of(element.func)) if isinstance(element, cst.Call) else None
        sureness = {
            cls: info.keeps_state_for(called.get(name, set()), read.get(name, set()))
            for cls, info in classes.items()
            if cls != owner and made in (None, cls)  # a class does not hold its own steps
        }
        best = max(sureness.values(), default=0)
        candidates = [cls for cls, sure in sureness.items() if sure and sure == best]
        if candidates:
            found.append(
                SharedLayer(
                    node.value,
                    code_of(node.targets[0].target),
                    element,
                    candidates,
                    _edit(node.value, element, count, [classes[c] for c in candidates]),
                )
            )
    return found


def _assignments(module: cst.Module):
    """(the class it is in, or None; the statement) of every one-target assignment."""
    for statement in module.body:
        owner = statement.name.value if isinstance(statement, cst.ClassDef) else None
        for node in walk(statement):
            if isinstance(node, cst.Assign) and len(node.targets) == 1:
                yield owner, node


def _classes(module: cst.Module) -> dict[str, _Class]:
    found = {}
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        methods = [f for f in statement.body.body if isinstance(f, cst.FunctionDef)]
        stores = {m.name.value: _self_stores(m) for m in methods if m.name.value != "__init__"}
        kept = set().union(*stores.values()) if stores else set()
        reading = {
            m.name.value
            for m in methods
            if any(a in kept and a not in stores.get(m.name.value, ()) for a in _self_reads(m))
        }
        init = next((m for m in methods if m.name.value == "__init__"), None)
        bare = init is None or all(p.default is not None for p in init.params.params[1:])
        if kept:
            found[statement.name.value] = _Class(
                {m.name.value for m in methods}, kept, reading, bare
            )
    return found


def _self_stores(method: cst.FunctionDef) -> set[str]:
    targets = [n.target for n in walk(method) if isinstance(n, cst.AssignTarget | cst.AugAssign)]
    return {a for a in map(self_attribute, targets) if a}


def _self_reads(method: cst.FunctionDef) -> set[str]:
    return {a for a in map(self_attribute, walk(method)) if a}


def _per_step_uses(module: cst.Module) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """By list name: the methods called on, and the attributes read from, an element picked
    by a variable index (``ACT[t].forward(z)``, ``ACT[t].output``)."""
    called: dict[str, set[str]] = {}
    read: dict[str, set[str]] = {}
    functions = {id(n.func) for n in walk(module) if isinstance(n, cst.Call)}
    for node in walk(module):
        if not isinstance(node, cst.Attribute) or not isinstance(node.value, cst.Subscript):
            continue
        element = node.value
        if not any(isinstance(n, cst.Name) for s in element.slice for n in walk(s)):
            continue
        name = last_name(key_of(element.value))
        if name is None:
            continue
        into = called if id(node) in functions else read
        into.setdefault(name, set()).add(node.attr.value)
    return called, read


def _repeated(value: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(the object, how many times) of ``[x for _ in range(n)]`` or ``[x] * n``."""
    if isinstance(value, cst.ListComp):
        comp = value.for_in
        if comp.inner_for_in is not None or comp.ifs:
            return None
        element = value.elt
        variables = [n.value for n in walk(comp.target) if isinstance(n, cst.Name)]
        if isinstance(element, cst.Name | cst.Attribute) and not any(
            mentions(element, v) for v in variables
        ):
            return element, comp.iter
        return None
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Multiply):
        for items, count in ((value.left, value.right), (value.right, value.left)):
            if isinstance(items, cst.List) and len(items.elements) == 1:
                element = items.elements[0].value
                if isinstance(element, cst.Name | cst.Attribute | cst.Call):
                    return element, count
    return None


def _edit(
    value: cst.BaseExpression,
    element: cst.BaseExpression,
    count: cst.BaseExpression,
    classes: list[_Class],
) -> tuple[cst.CSTNode, str] | None:
    """A new object per step: ``[Tanh()] * T`` -> ``[Tanh() for _ in range(T)]``; a repeated
    name gets ``type(x)()`` where every class it may be is made with no argument."""
    if isinstance(element, cst.Call):
        fresh = code_of(element)
    elif all(c.bare for c in classes):
        fresh = f"type({code_of(element)})()"
    else:
        return None
    if isinstance(value, cst.ListComp):
        return element, fresh
    return value, f"[{fresh} for _ in range({code_of(count)})]"

"""The repair search: single edits of the user's backward, each undoing one kind of gradient
bug, tried through the same gradient check until one makes the gradients exact.

Only statements that compute a gradient are edited (their target is named like one: ``dW``,
``dh_next``, ``grads[...]``), so the loss the gradients are checked against never changes.
The kinds of edit (``KINDS``): a time index moved to the neighbouring step; a transpose added
to or taken from one operand of a product, or to the whole product; a gradient assigned in a
loop made to add up (``=`` -> ``+=``); and those of ``repair_kinds``: a carried gradient added,
a derivative's square, its point, a factor, a scale, a neighbouring name. A candidate is a
repair when every gradient is exact with it; with several bugs, when it makes some wrong
gradients exact and no exact one wrong, and the search goes on from there.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from typing import Any

from lstmlint.harness import repair_kinds as more
from lstmlint.harness.repair_kinds import code_of as _code
from lstmlint.harness.repair_kinds import edit_at as _edit
from lstmlint.pytree import python_tree

GRADIENT_TARGET = more.GRADIENT_TARGET
# in the order they are tried where suspicion is equal: the commonest kinds of bug first
KINDS = {
    "step": "the time step of a history read",
    "transpose": "a transpose in a product",
    "accumulate": "a gradient assigned at every step instead of summed",
    "carry": "a gradient carried from the next step left out",
    "square": "a square missing or misplaced in a derivative",
    "derivative": "a derivative taken at the wrong value",
    "factor": "a factor missing or extra in a product",
    "scale": "a gradient scaled apart from its loss",
    "name": "a neighbouring variable read in place of another",
}
MAX_ROUNDS = 3


def candidates(text: str, spans: list[list[int]]) -> list[dict[str, Any]]:
    """Every single edit of the gradient statements within ``spans`` (1-based line ranges)."""
    tree = python_tree(text)
    lines = text.splitlines(keepends=True)
    found: list[dict[str, Any]] = []
    loop_vars = _loop_variables(tree)
    facts = more.facts_of(tree)
    for stmt in ast.walk(tree):
        if not isinstance(stmt, (ast.Assign, ast.AugAssign)) or not _in(stmt, spans):
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not any(GRADIENT_TARGET.match(_base_name(t) or "") for t in targets):
            continue
        for node in ast.walk(stmt.value):
            for operand in _product_operands(node):
                if isinstance(operand, ast.Attribute) and operand.attr == "T":
                    found.append(_edit(lines, operand, _code(lines, operand.value), "transpose"))
                else:
                    found.append(_edit(lines, operand, _transposed(lines, operand), "transpose"))
            if _product_operands(node):
                found.append(_edit(lines, node, f"({_code(lines, node)}).T", "transpose"))
            if isinstance(node, ast.Subscript):
                found += _step_edits(lines, node, loop_vars)
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and id(stmt) in loop_vars["bodies"]
        ):
            name = stmt.targets[0].id
            found.append(_edit(lines, stmt, f"{name} += {_code(lines, stmt.value)}", "accumulate"))
        found += more.carry_edits(lines, stmt, facts)
        found += more.square_edits(lines, stmt)
        found += more.derivative_edits(lines, stmt, facts)
        found += more.factor_edits(lines, stmt, facts)
        found += more.scale_edits(lines, stmt)
        found += more.name_edits(lines, stmt, facts)
    unique = {
        (e["line"], e["column"], e["end_line"], e["end_column"], e["replacement"]): e for e in found
    }
    return list(unique.values())


def apply(text: str, edit: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    first, last = edit["line"] - 1, edit["end_line"] - 1
    head = lines[first][: edit["column"] - 1]
    tail = lines[last][edit["end_column"] - 1 :]
    return "".join([*lines[:first], head + edit["replacement"] + tail, *lines[last + 1 :]])


def search(
    text: str,
    spans: list[list[int]],
    check: Callable[[str], dict],
    start: dict,
    budget: float,
    suspects: list[str],
    screen_for: Callable[[str, dict], Callable[[str], bool]] | None = None,
) -> list[dict[str, Any]]:
    """Repairs found from ``start`` (the outcome of ``text``) within ``budget`` seconds; each is
    the edit (in ``text``'s coordinates, for the first; later rounds build on the earlier
    ones) with the outcome before and after it. ``screen_for(text, outcome)``, when given, makes
    a quick test that turns away candidates sure to fail the check (``screen.py``)."""
    deadline = time.monotonic() + budget
    repairs: list[dict[str, Any]] = []
    current, outcome = text, start
    touched: set[int] = set()  # no edit changes the number of lines, so others keep their place
    for _ in range(MAX_ROUNDS):
        wrong = _wrong(outcome)
        if not wrong:
            break
        try:
            edits = candidates(current, spans)
        except (SyntaxError, ValueError):
            break
        edits = [e for e in edits if not touched & set(range(e["line"], e["end_line"] + 1))]
        order = list(KINDS)
        edits.sort(
            key=lambda e: (
                -_suspicion(current, e, suspects or sorted(wrong)),
                order.index(e["kind"]),
            )
        )
        may_repair = screen_for(current, outcome) if screen_for else None
        best = None
        for edit in edits:
            if time.monotonic() > deadline:
                return repairs
            candidate = apply(current, edit)
            if may_repair is not None and not may_repair(candidate):
                continue
            try:
                after = check(candidate)
            except Exception:  # an edit that does not even run is no repair
                continue
            if after.get("status") != "ok" or not _same_loss(after, outcome):
                continue  # an edit that changes the loss moved the target, not the gradient
            if set(after["params"]) != set(outcome["params"]):
                continue  # a gradient that no longer fits its parameter is not a repaired one
            left = _wrong(after)
            broken = left - wrong
            if broken or len(left) >= len(wrong):
                continue
            if best is None or len(left) < len(_wrong(best[1])):
                best = (edit, after)
            if not left:
                break
        if best is None:
            break
        edit, after = best
        repairs.append({"edit": edit, "before": outcome, "after": after})
        current, outcome = apply(current, edit), after
        touched |= set(range(edit["line"], edit["end_line"] + 1))
    return repairs


def _same_loss(after: dict, before: dict) -> bool:
    a, b = after.get("loss"), before.get("loss")
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def _wrong(outcome: dict) -> set[str]:
    return {name for name, p in outcome.get("params", {}).items() if p["verdict"] != "PASS"}


def _suspicion(text: str, edit: dict, wrong: list[str]) -> int:
    """Edits on lines that name a wrong parameter (``Whh`` or ``dWhh``) come first."""
    line = text.splitlines()[edit["line"] - 1]
    return sum(1 for name in wrong if re.search(rf"\b(d_?)?{re.escape(name)}\b", line))


def _in(node: ast.AST, spans: list[list[int]]) -> bool:
    return any(
        first <= node.lineno and (node.end_lineno or node.lineno) <= last for first, last in spans
    )


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, (ast.Tuple, ast.List)):
        names = [_base_name(e) for e in node.elts]
        return next((n for n in names if n and GRADIENT_TARGET.match(n)), None)
    return None


def _product_operands(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return [node.left, node.right]
    if (
        isinstance(node, ast.Call)
        and len(node.args) == 2
        and not node.keywords
        and (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("dot", "matmul")
            or isinstance(node.func, ast.Name)
            and node.func.id in ("dot", "matmul")
        )
    ):
        return list(node.args)
    return []


def _loop_variables(tree: ast.Module) -> dict:
    """``{"names": {id(subscript's loop): var}, "bodies": {id(statement) in a loop}}``: the
    loop variable of each ``for`` and the statements in loop bodies."""
    names: dict[str, set[str]] = {"vars": set()}
    bodies: set[int] = set()
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For):
            for target in ast.walk(loop.target):
                if isinstance(target, ast.Name):
                    names["vars"].add(target.id)
            for stmt in loop.body:
                bodies.add(id(stmt))
    return {"vars": names["vars"], "bodies": bodies}


def _step_edits(lines: list[str], node: ast.Subscript, loop_vars: dict) -> list[dict]:
    index = node.slice
    if isinstance(index, ast.Name) and index.id in loop_vars["vars"]:
        var, offset = index.id, 0
    elif (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, (ast.Add, ast.Sub))
        and isinstance(index.left, ast.Name)
        and index.left.id in loop_vars["vars"]
        and isinstance(index.right, ast.Constant)
        and isinstance(index.right.value, int)
    ):
        var = index.left.id
        offset = index.right.value if isinstance(index.op, ast.Add) else -index.right.value
    else:
        return []
    edits = []
    for shifted in (offset - 1, offset + 1):
        spelled = var if shifted == 0 else f"{var} {'+' if shifted > 0 else '-'} {abs(shifted)}"
        edits.append(_edit(lines, index, spelled, "step"))
    return edits


def _transposed(lines: list[str], node: ast.expr) -> str:
    code = _code(lines, node)
    simple = isinstance(node, (ast.Name, ast.Subscript, ast.Attribute, ast.Call))
    return f"{code}.T" if simple else f"({code}).T"

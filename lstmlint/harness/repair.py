"""The repair search: single edits of the user's backward, each undoing one kind of gradient
bug, tried through the same gradient check until one makes the gradients exact.

Only statements that compute a gradient are edited (their target is named like one: ``dW``,
``dh_next``, ``grads[...]``), so the loss the gradients are checked against never changes.
The kinds of edit (``KINDS``): a time index moved to the neighbouring step; a transpose added
to or taken from one operand of a product, or to the whole product; a gradient assigned in a
loop made to add up (``=`` -> ``+=``); and those of ``repair_kinds``: a carried gradient added,
a derivative's square, its point, a factor, a gate's complement, a difference's order, a
scale, a neighbouring name. A candidate is a repair when every gradient is exact with it; with
several bugs, when it makes some wrong gradients exact and no exact one wrong, and the search
goes on from there."""

from __future__ import annotations

import ast
import math
import re
import time
from collections.abc import Callable, Set
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
    "complement": "a gate read where its complement 1 - gate belongs, or the reverse",
    "difference": "a difference the wrong way round",
    "scale": "a gradient scaled apart from its loss",
    "name": "a neighbouring variable read in place of another",
}
MAX_ROUNDS = 3
# edits kept on the way to a repair that no single edit makes, and the least gain of each
MAX_STEPS = 3
CLOSER = 0.15


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
        found += more.complement_edits(lines, stmt, facts)
        found += more.difference_edits(lines, stmt)
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
    kept: Set[int] = frozenset(),
) -> list[dict[str, Any]]:
    """Repairs found from ``start`` (the outcome of ``text``) within ``budget`` seconds; each is
    its edits (``edits``, in ``text``'s coordinates, the last also as ``edit``) with the outcome
    before and after them. A repair of one edit makes some wrong gradients exact; where no
    single edit does, edits that bring the wrong gradients closer (``_closer``) are kept while
    the search looks on from them, up to ``MAX_STEPS``, and become part of the repair that
    reaches exactness, each of them shown needed. ``screen_for(text, outcome)``, when given,
    makes a quick test that turns away candidates sure to fail the check (``screen.py``). Lines in
    ``kept`` (edited already) are not edited."""
    deadline = time.monotonic() + budget
    repairs: list[dict[str, Any]] = []
    current, outcome = text, start
    # no edit changes the number of lines: a line no repair has edited keeps its place
    touched: set[int] = set(kept)
    steps: list[dict] = []  # edits kept on the way, in the coordinates of ``base``
    base, base_outcome = current, outcome
    while len(repairs) < MAX_ROUNDS and time.monotonic() <= deadline:
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
        best = closest = None
        for edit in edits:
            if time.monotonic() > deadline:
                return repairs
            based = _to_base(edit, steps)
            if based is None:
                continue
            candidate = apply(current, edit)
            if may_repair is not None and not may_repair(candidate):
                continue
            try:
                after = check(candidate)
            except Exception:  # an edit that does not even run is no repair
                continue
            if not _comparable(after, outcome):
                continue
            left = _wrong(after)
            if left - wrong:
                continue
            if len(left) < len(wrong):
                if best is None or len(left) < len(_wrong(best[1])):
                    best = (based, after)
                if not left:
                    break
            elif best is None and len(steps) < MAX_STEPS:
                gain = _closer(after, outcome)
                if gain > 0 and (closest is None or gain > closest[2]):
                    closest = (edit, after, gain, based)
        if best is not None:
            taken, after = _needed(base, steps, best, check)
            repairs.append(
                {"edit": taken[-1], "edits": taken, "before": base_outcome, "after": after}
            )
            for edit in taken:
                touched |= set(range(edit["line"], edit["end_line"] + 1))
            steps = []
            current, outcome = apply_all(base, taken), after
            base, base_outcome = current, outcome
        elif closest is not None:
            steps.append(closest[3])
            current, outcome = apply(current, closest[0]), closest[1]
        else:
            break
    return repairs


def improves(after: dict, before: dict) -> bool:
    """Whether the outcome ``after`` an edit makes some wrong gradient of ``before`` exact and
    no exact one wrong: what makes an edit a repair."""
    if not _comparable(after, before):
        return False
    left, wrong = _wrong(after), _wrong(before)
    return not left - wrong and len(left) < len(wrong)


def _comparable(after: dict, before: dict) -> bool:
    # an edit that changes the loss moved the target, not the gradient; a gradient that no
    # longer fits its parameter is not a repaired one
    return (
        after.get("status") == "ok"
        and _same_loss(after, before)
        and set(after["params"]) == set(before["params"])
    )


def apply_all(text: str, edits: list[dict[str, Any]]) -> str:
    """``text`` with ``edits`` (none overlapping, all in its coordinates) made, the last first."""
    for edit in sorted(edits, key=lambda e: (e["line"], e["column"]), reverse=True):
        text = apply(text, edit)
    return text


def _to_base(edit: dict, made: list[dict]) -> dict | None:
    """``edit``, found in the text with ``made`` made (each in the coordinates of the text
    before any), in that earlier text's coordinates; None where it overlaps one of them, or
    where it or one of them on its lines spans several lines."""
    lines = set(range(edit["line"], edit["end_line"] + 1))
    same = [m for m in made if lines & set(range(m["line"], m["end_line"] + 1))]
    if not same:
        return edit
    if len(lines) > 1 or any(m["line"] != m["end_line"] for m in same):
        return None
    shift = 0
    for other in sorted(same, key=lambda m: m["column"]):
        begins = other["column"] + shift  # where it stands now
        if edit["end_column"] <= begins:
            break
        if edit["column"] < begins + len(other["replacement"]):
            return None
        shift += len(other["replacement"]) - (other["end_column"] - other["column"])
    return {**edit, "column": edit["column"] - shift, "end_column": edit["end_column"] - shift}


def _closer(after: dict, before: dict) -> float:
    """How much nearer an edit brings the gradients that were wrong, together: the factor by
    which the sum of their distances (``distance``, the relative distance of each gradient as
    one vector, else its largest relative error) shrinks, in decades; 0 below ``CLOSER``. One
    of two bugs of equal weight undone halves it, about 0.3 decades."""
    wrong = _wrong(before)
    gain = decades(
        sum(_distance(before, n) for n in wrong), sum(_distance(after, n) for n in wrong)
    )
    return gain if gain >= CLOSER else 0.0


def decades(was: float, now: float) -> float:
    """By how many decades a distance shrank from ``was`` to ``now`` (both positive or 0)."""
    if was <= 0:
        return 0.0 if now <= 0 else -math.inf
    return math.log10(was / max(now, 1e-300))


def _distance(outcome: dict, name: str) -> float:
    param = outcome["params"][name]
    value = param.get("distance", param.get("error"))
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else 1e9


def _needed(
    base: str, steps: list[dict], last: tuple[dict, dict], check
) -> tuple[list[dict], dict]:
    """The edits the repair ``last`` (an edit and its outcome) needs of ``steps``, with ``last``,
    and the outcome with them: each step whose removal leaves the gradients as exact as with it
    is dropped."""
    kept, outcome = list(steps), last[1]
    goal = _wrong(last[1])
    for step in steps:
        trial = [e for e in kept if e is not step] + [last[0]]
        try:
            with_less = check(apply_all(base, trial))
        except Exception:
            continue
        if _comparable(with_less, last[1]) and _wrong(with_less) <= goal:
            kept.remove(step)
            outcome = with_less
    return [*kept, last[0]], outcome


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

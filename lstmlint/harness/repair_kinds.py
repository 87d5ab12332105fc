"""The repair search's edits of one gradient statement beyond transposes, steps and sums: the
forms of an activation's derivative, a factor too many or too few, a gate where its complement
belongs, a difference the wrong way round, a gradient carried from the next step left out, a
gradient scaled apart from its loss, a neighbouring variable's name.

Each ``*_edits`` function takes a statement that assigns a gradient and gives its edits as
``edit_at`` dicts. What they need to know of the rest of the module (which values are
activations of which, which names a loop carries) is read once into ``Facts``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

# an activation by its name; a derivative helper (``dsigmoid``, ``tanh_prime``) is not one
ACTIVATION = re.compile(r"tanh|sigm|logistic|expit", re.IGNORECASE)
DERIVATIVE = re.compile(r"^d_?|deriv|prime|grad|backward", re.IGNORECASE)
GRADIENT_TARGET = re.compile(r"^(d|grad)", re.IGNORECASE)
SWAPS = {"prev": "next", "next": "prev", "Prev": "Next", "Next": "Prev"}
SWAPS |= {k.upper(): v.upper() for k, v in SWAPS.items()}
ATOMS = (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)
MAX_COFACTORS = 4  # a value multiplied by more in the forward is too common to guess from
MAX_SUFFIX = 5  # a gradient's next stage is named by a short suffix: `dh` -> `dhraw`, `dc_next`


@dataclass
class Facts:
    """``pairs``: (output, argument, "sigmoid" or "tanh") for every ``out = f(arg)`` with an
    activation ``f``, as normalised code; ``bound``: the names each function (or the module,
    under None) binds; ``carried``: per loop, the gradient names bound before it and again in
    it (``dh_next``); ``scopes``: each statement's function; ``complemented``: every ``x`` the
    forward writes as ``1 - x``, as normalised code; ``cofactors``: for each value the forward
    multiplies (``r * h_prev``), what it multiplies it by (``h_prev`` -> {``r``})."""

    pairs: list[tuple[str, str, str]] = field(default_factory=list)
    applied: dict[str, str] = field(default_factory=dict)  # argument -> the activation's code
    bound: dict[int | None, set[str]] = field(default_factory=dict)
    carried: dict[int, set[str]] = field(default_factory=dict)
    loops: dict[int, int] = field(default_factory=dict)  # statement -> its innermost loop
    scopes: dict[int, int | None] = field(default_factory=dict)
    complemented: set[str] = field(default_factory=set)
    cofactors: dict[str, set[str]] = field(default_factory=dict)


def facts_of(tree: ast.Module) -> Facts:
    facts = Facts()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _activation(node):
            facts.applied.setdefault(ast.unparse(node.args[0]), ast.unparse(node.func))
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            activation = _activation(node.value)
            if activation:
                argument = node.value.args[0]  # type: ignore[attr-defined]
                facts.pairs.append(
                    (ast.unparse(node.targets[0]), ast.unparse(argument), activation)
                )
    _scan(tree, tree, facts)
    _products(tree, facts)
    return facts


def _products(tree: ast.Module, facts: Facts) -> None:
    """What the forward (every statement that assigns no gradient) writes as ``1 - x`` and as
    a product of two plain values, into ``complemented`` and ``cofactors``."""
    for stmt in ast.walk(tree):
        targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
        if not isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return)) or any(
            GRADIENT_TARGET.match(_last_name(ast.unparse(t))) for t in targets if t is not None
        ):
            continue
        for node in ast.walk(stmt.value or ast.Constant(None)):
            if _one_minus(node):
                facts.complemented.add(ast.unparse(node.right))  # type: ignore[attr-defined]
            if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
                continue
            pair = (node.left, node.right)
            if all(isinstance(side, ATOMS[:3]) for side in pair):
                for one, other in (pair, pair[::-1]):
                    facts.cofactors.setdefault(ast.unparse(one), set()).add(ast.unparse(other))


def _scan(scope: ast.AST, function: ast.AST, facts: Facts) -> None:
    key = None if isinstance(function, ast.Module) else id(function)
    for node in ast.iter_child_nodes(scope):
        if isinstance(node, ast.stmt):
            facts.scopes[id(node)] = key
        for name in _bound(node):
            facts.bound.setdefault(key, set()).add(name)
        if isinstance(node, (ast.For, ast.While)):
            _loop(node, function, facts)
        inner = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
        _scan(node, inner, facts)


def _bound(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    return []


def _loop(loop: ast.For | ast.While, function: ast.AST, facts: Facts) -> None:
    """The gradients ``loop`` carries: bound before it in its function and assigned anew in it
    from other values (``dh_next = W.T @ dz``), not summed (``dW += ...``, ``dW = dW + ...``)."""
    before = {
        n.id
        for stmt in ast.walk(function)
        if isinstance(stmt, (ast.Assign, ast.AugAssign)) and stmt.lineno < loop.lineno
        for n in ast.walk(stmt)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    anew = set()
    for stmt in ast.walk(loop):
        if isinstance(stmt, ast.stmt) and stmt is not loop:
            facts.loops[id(stmt)] = id(loop)  # inner loops, scanned later, take their own
        if isinstance(stmt, ast.Assign):
            read = {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
            anew |= {
                n.id
                for target in stmt.targets
                for n in ast.walk(target)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in read
            }
    facts.carried[id(loop)] = {n for n in before & anew if GRADIENT_TARGET.match(n)}


def _activation(value: ast.expr) -> str | None:
    """ "sigmoid" or "tanh" for a call of an activation on one argument."""
    if not isinstance(value, ast.Call) or len(value.args) != 1 or value.keywords:
        return None
    name = _called(value)
    if not name or not ACTIVATION.search(name) or DERIVATIVE.search(name):
        return None
    return "tanh" if "tanh" in name.lower() else "sigmoid"


def _called(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def square_edits(lines: list[str], stmt: ast.stmt) -> list[dict[str, Any]]:
    """``1 - y`` -> ``1 - y ** 2``; ``tanh(c ** 2)`` -> ``tanh(c) ** 2``; ``(1 - y) ** 2`` ->
    ``1 - y ** 2``; a power with a variable exponent (``a ** b``) -> a product."""
    found = []
    for node in ast.walk(_value(stmt)):
        if _one_minus(node) and not _squared(node.right):  # type: ignore[attr-defined]
            right = node.right  # type: ignore[attr-defined]
            found.append(edit_at(lines, right, f"{atom(lines, right)} ** 2", "square"))
        if isinstance(node, ast.Call) and _activation(node) and _squared(node.args[0]):
            inner = node.args[0].left  # type: ignore[attr-defined]
            func = code_of(lines, node.func)
            found.append(edit_at(lines, node, f"{func}({code_of(lines, inner)}) ** 2", "square"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if _squared(node) and _one_minus(node.left):
                right = node.left.right  # type: ignore[attr-defined]
                found.append(edit_at(lines, node, f"(1 - {atom(lines, right)} ** 2)", "square"))
            elif not isinstance(node.right, ast.Constant):
                product = f"({atom(lines, node.left)} * {atom(lines, node.right)})"
                found.append(edit_at(lines, node, product, "square"))
    return found


def derivative_edits(lines: list[str], stmt: ast.stmt, facts: Facts) -> list[dict[str, Any]]:
    """A one-argument call at an activation's output moved to its argument, or the reverse
    (a derivative helper at the wrong point); an activation of an activation's output undone,
    or made its derivative there; an activation the forward applies to a value put back where
    the gradient reads the value."""
    outputs = {out: arg for out, arg, _ in facts.pairs}
    arguments = {arg: out for out, arg, _ in facts.pairs}
    found = []
    for node in ast.walk(_value(stmt)):
        if not isinstance(node, ast.Call) or len(node.args) != 1:
            continue  # keywords may stay: ``sigmoid(y, derivative=True)`` moves like ``dsig(y)``
        argument = node.args[0]
        key = ast.unparse(argument)
        if key in outputs:
            found.append(edit_at(lines, argument, outputs[key], "derivative"))
            if _activation(node):
                spelled = atom(lines, argument)
                found.append(edit_at(lines, node, spelled, "derivative"))
                # the activation written where its derivative at that output belongs
                derivative = (
                    f"{spelled} * (1 - {spelled})"
                    if _activation(node) == "sigmoid"
                    else f"1 - {spelled} ** 2"
                )
                found.append(edit_at(lines, node, f"({derivative})", "derivative"))
        if key in arguments:
            found.append(edit_at(lines, argument, arguments[key], "derivative"))
    for node in _outside_calls(_value(stmt)):
        key = ast.unparse(node)
        if key in facts.applied:  # ``dh * c`` where the forward has ``o * tanh(c)``
            found.append(edit_at(lines, node, f"{facts.applied[key]}({key})", "derivative"))
    return found


def _values_read(node: ast.AST) -> list[ast.expr]:
    """The names, attributes and subscripts in ``node``, called functions left out."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, (ast.Name, ast.Attribute, ast.Subscript)) and id(n) not in called
    ]


def _outside_calls(node: ast.AST) -> list[ast.expr]:
    """The names, attributes and subscripts of ``node`` that are no call's argument."""
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        return [node]
    if isinstance(node, ast.Call):
        return []
    return [n for child in ast.iter_child_nodes(node) for n in _outside_calls(child)]


def factor_edits(lines: list[str], stmt: ast.stmt, facts: Facts) -> list[dict[str, Any]]:
    """A factor of a product left out (``a * b`` -> ``a``, ``b``); the derivative of the gate
    the target is the gradient of added (``di = E`` -> ``di = (E) * i * (1 - i)``); a factor
    the forward multiplies a value by, added to that value's gradient (``dh = E`` -> ``dh =
    (E) * r`` for a forward ``r * h``) or to that value where the gradient reads it."""
    found = []
    for node in ast.walk(_value(stmt)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for kept in (node.left, node.right):
                found.append(edit_at(lines, node, atom(lines, kept), "factor"))
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target  # type: ignore[attr-defined]
    gate = _gate_tokens(target)
    value = _value(stmt)
    # the chain rule through a product of the forward: ``d(r * h)/dh`` is ``r``
    for multiplied, others in facts.cofactors.items():
        if len(others) > MAX_COFACTORS:
            continue
        for other in sorted(others):
            if _last_name(multiplied) in gate:
                found.append(edit_at(lines, value, f"{atom(lines, value)} * {other}", "factor"))
            for node in _values_read(value):
                if ast.unparse(node) == multiplied:
                    found.append(edit_at(lines, node, f"({other} * {multiplied})", "factor"))
    for out, _, activation in facts.pairs:
        if _last_name(out) not in gate:
            continue
        spelled = _at_targets_step(out, target)
        factor = (
            f"{spelled} * (1 - {spelled})" if activation == "sigmoid" else f"(1 - {spelled} ** 2)"
        )
        found.append(edit_at(lines, value, f"({code_of(lines, value)}) * {factor}", "factor"))
    return found


def complement_edits(lines: list[str], stmt: ast.stmt, facts: Facts) -> list[dict[str, Any]]:
    """A factor ``z`` where its complement belongs, or the reverse (``z`` <-> ``1 - z``): the
    GRU's update gate weighs the old state by one and the candidate by the other, and which is
    which is a convention each program picks."""
    found = []
    for node in ast.walk(_value(stmt)):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
            continue
        for factor in (node.left, node.right):
            if _one_minus(factor) and ast.unparse(factor.right) in facts.complemented:  # type: ignore[attr-defined]
                found.append(edit_at(lines, factor, atom(lines, factor.right), "complement"))  # type: ignore[attr-defined]
            elif isinstance(factor, ATOMS[:3]) and ast.unparse(factor) in facts.complemented:
                found.append(
                    edit_at(lines, factor, f"(1 - {code_of(lines, factor)})", "complement")
                )
    return found


def difference_edits(lines: list[str], stmt: ast.stmt) -> list[dict[str, Any]]:
    """A difference of two values the wrong way round (``hh - h_prev`` -> ``h_prev - hh``): the
    sign of a gradient, which its magnitude does not show."""
    return [
        edit_at(lines, node, f"{atom(lines, node.right)} - {atom(lines, node.left)}", "difference")
        for node in ast.walk(_value(stmt))
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and not isinstance(node.left, ast.Constant)
        and not isinstance(node.right, ast.Constant)
    ]


def carry_edits(lines: list[str], stmt: ast.stmt, facts: Facts) -> list[dict[str, Any]]:
    """A gradient carried from the next step (bound before the loop and again in it) added to
    a gradient of this step that does not read it."""
    loop = facts.loops.get(id(stmt))
    if loop is None:
        return []
    value = _value(stmt)
    read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target  # type: ignore[attr-defined]
    written = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return [
        edit_at(lines, value, f"{_summand(lines, value)} + {name}", "carry")
        for name in sorted(facts.carried.get(loop, set()) - read - written)
    ]


def scale_edits(lines: list[str], stmt: ast.stmt) -> list[dict[str, Any]]:
    """A division left out (``E / n`` -> ``E``); a mean made a sum (``np.mean`` -> ``np.sum``)."""
    found = []
    for node in ast.walk(_value(stmt)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found.append(edit_at(lines, node, atom(lines, node.left), "scale"))
        if isinstance(node, ast.Call) and _called(node) == "mean":
            func = node.func
            spelled = (
                f"{code_of(lines, func.value)}.sum" if isinstance(func, ast.Attribute) else "sum"
            )
            found.append(edit_at(lines, func, spelled, "scale"))
    return found


def name_edits(lines: list[str], stmt: ast.stmt, facts: Facts) -> list[dict[str, Any]]:
    """A name read in place of its neighbour: ``prev`` and ``next`` swapped, one character
    apart (``df_raw`` for ``do_raw``), or a gradient and its next stage (``dh`` for ``dhraw``),
    among the names the function binds."""
    bound = facts.bound.get(facts.scopes.get(id(stmt)), set()) | facts.bound.get(None, set())
    found = []
    for node in ast.walk(_value(stmt)):
        if not isinstance(node, ast.Name):
            continue
        for other in sorted(_neighbours(node.id, bound)):
            found.append(edit_at(lines, node, other, "name"))
    return found


def _neighbours(name: str, bound: set[str]) -> set[str]:
    near = {re.sub("|".join(SWAPS), lambda m: SWAPS[m.group(0)], name)}
    if len(name) >= 3:
        near |= {
            other
            for other in bound
            if len(other) == len(name)
            and sum(a != b for a, b in zip(name, other, strict=True)) == 1
        }
    if GRADIENT_TARGET.match(name):  # `dh` read where its next stage `dhraw` belongs, or back
        near |= {
            other
            for other in bound
            if GRADIENT_TARGET.match(other)
            and (other.startswith(name) or name.startswith(other))
            and 0 < abs(len(other) - len(name)) <= MAX_SUFFIX
        }
    return near & bound - {name}


def _value(stmt: ast.stmt) -> ast.expr:
    return stmt.value  # type: ignore[attr-defined]


def _one_minus(node: ast.AST) -> bool:
    return _with_constant(node, ast.Sub, "left", 1)


def _squared(node: ast.AST) -> bool:
    return _with_constant(node, ast.Pow, "right", 2)


def _with_constant(node: ast.AST, op: type, side: str, value: int) -> bool:
    """``node`` is ``value <op> x`` (side "left") or ``x <op> value`` (side "right")."""
    if not isinstance(node, ast.BinOp) or not isinstance(node.op, op):
        return False
    constant = getattr(node, side)
    return isinstance(constant, ast.Constant) and constant.value == value


def _gate_tokens(target: ast.expr) -> set[str]:
    """The names a gradient's target may be the gradient of: ``di[t]`` -> {i},
    ``do_raw`` -> {o_raw, o, raw}, ``grads['f']`` -> nothing."""
    name = _last_name(ast.unparse(target))
    match = re.match(r"^(?:d_?|grad_?)(.+)$", name or "")
    if not match:
        return set()
    rest = match.group(1)
    return {rest, *rest.split("_")} - {""}


def _last_name(code: str) -> str:
    """``self.h`` -> h, ``hs[t]`` -> hs, ``di`` -> di."""
    head = code.split("[", 1)[0]
    return head.rsplit(".", 1)[-1]


def _at_targets_step(out: str, target: ast.expr) -> str:
    """The gate's output at the target's index: ``i`` for ``di``; ``i[t]`` for ``di[t]``, also
    where the forward wrote ``i[s]``."""
    if isinstance(target, ast.Subscript) and "[" in out:
        return f"{out.split('[', 1)[0]}[{ast.unparse(target.slice)}]"
    return out


def _summand(lines: list[str], value: ast.expr) -> str:
    if isinstance(value, (*ATOMS, ast.BinOp)) and not (
        isinstance(value, ast.BinOp) and isinstance(value.op, (ast.BitOr, ast.BitAnd, ast.BitXor))
    ):
        return code_of(lines, value)
    return f"({code_of(lines, value)})"


def atom(lines: list[str], node: ast.expr) -> str:
    """The code of ``node``, in parentheses unless it is one term already."""
    code = code_of(lines, node)
    return code if isinstance(node, ATOMS) else f"({code})"


def _column(lines: list[str], line: int, offset: int) -> int:
    """ast's column (a UTF-8 byte offset) as a 1-based character column."""
    return len(lines[line - 1].encode("utf-8")[:offset].decode("utf-8", "replace")) + 1


def code_of(lines: list[str], node: ast.AST) -> str:
    edit = edit_at(lines, node, "", "")
    first, last = edit["line"] - 1, edit["end_line"] - 1
    if first == last:
        return lines[first][edit["column"] - 1 : edit["end_column"] - 1]
    parts = [lines[first][edit["column"] - 1 :], *lines[first + 1 : last]]
    return "".join([*parts, lines[last][: edit["end_column"] - 1]])


def edit_at(lines: list[str], node: ast.AST, replacement: str, kind: str) -> dict[str, Any]:
    end_line = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    return {
        "line": node.lineno,  # type: ignore[attr-defined]
        "column": _column(lines, node.lineno, node.col_offset),  # type: ignore[attr-defined]
        "end_line": end_line,
        "end_column": _column(lines, end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
        "replacement": replacement,
        "kind": kind,
    }

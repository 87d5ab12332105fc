"""Loss, numerics, initialisation and updates: what LST3xx and LST4xx look at."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import factors, is_call_to, strip_transpose, terms
from lstmlint.analysis.backward import statement_value
from lstmlint.analysis.flow import Point, _segment
from lstmlint.analysis.names import code_of, dotted, key_of, last_name, nodes_of

AGGRESSIVE_LR = 0.1


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    return nodes_of(node, cst.Call)


def _is_log(call: cst.Call) -> bool:
    name = dotted(call.func) or ""
    return name.rsplit(".", 1)[-1] == "log" and name.split(".")[0] in ("np", "numpy", "math", "log")


# LST302 -------------------------------------------------------------------------------------
def unsafe_logs(model) -> list[tuple[cst.Call, Point]]:
    found = []
    for point in model.points:
        value = statement_value(point.statement)
        if value is None:
            continue
        reader = model.reader(point)
        for call in _calls(value):
            if _is_log(call) and call.args:
                fact = reader.fact(call.args[0].value)
                if fact is not None and fact.kind == F.PROB and not fact.safe:
                    found.append((call, point))
    return found


def epsilon_edits(call: cst.Call) -> list[tuple[cst.CSTNode, str]]:
    """Only the log's argument changes (``y`` -> ``y + 1e-12``), so a fix of the loss around it
    (LST301) does not overlap this one."""
    from lstmlint.edits import precedence

    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return []
    argument = call.args[0].value
    text = code_of(argument)
    if precedence(argument) < 60:  # `a if c else b`, comparisons: keep them whole
        text = f"({text})"
    return [(argument, f"{text} + 1e-12")]


# LST301 -------------------------------------------------------------------------------------
def sum_edits(call: cst.Call) -> list[tuple[cst.CSTNode, str]]:
    """``np.mean`` -> ``np.sum`` (``x.mean()`` -> ``x.sum()``): the loss of the unscaled
    gradient. A mean with more arguments (an axis) may average over a batch on purpose."""
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value != "mean":
        return []
    if len(call.args) > 1 or any(a.keyword is not None or a.star for a in call.args):
        return []
    return [(call.func.attr, "sum")]


def _log_of_prob(reader, node: cst.BaseExpression) -> bool:
    for call in _calls(node):
        if _is_log(call) and call.args:
            fact = reader.fact(call.args[0].value)
            if fact is not None and fact.kind == F.PROB:
                return True
    return False


def mean_losses(model) -> list[tuple[cst.Call, Point, list[cst.BaseExpression]]]:
    """``np.mean(np.log(y) * onehot)`` while the backward seeds the unscaled ``y - onehot``."""
    seeds = _unscaled_seeds(model)
    if not seeds:
        return []
    found = []
    for point in model.points:
        value = statement_value(point.statement)
        if value is None:
            continue
        reader = model.reader(point)
        for call in _calls(value):
            inner = None
            if (
                is_call_to(call, "mean")
                and call.args
                and (dotted(call.func) or "").split(".")[0] in ("np", "numpy")
            ):
                inner = call.args[0].value
            elif (
                isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "mean"
                and not call.args
            ):
                inner = call.func.value
            if inner is None:
                continue
            for _, term in terms(inner):
                parts = factors(term)
                if len(parts) >= 2 and any(_log_of_prob(reader, p) for p in parts):
                    found.append((call, point, parts))
                    break
    return found


def loss_spec(model, call: cst.Call, point: Point, parts: list[cst.BaseExpression]) -> dict | None:
    """Gradient-check the reference with the user's per-step loss against its unscaled backward."""
    from lstmlint.analysis.experiments import leaf_roles, model_kind

    kind = model_kind(model)
    statement = point.statement
    if kind is None:
        return None
    if isinstance(statement, cst.AugAssign) and isinstance(
        statement.operator, cst.AddAssign | cst.SubtractAssign
    ):
        expr, sign = statement.value, 1.0 if isinstance(statement.operator, cst.AddAssign) else -1.0
    else:
        expr, sign = call, -1.0
    reader = model.reader(point)
    leaves: dict = {}
    for part in parts:
        if _log_of_prob(reader, part):
            leaves.update((leaf_roles(model, point, part) or {}).get("leaves", {}))
        else:
            leaves[code_of(part)] = {"value": "y", "step": 0}
    if not leaves:
        return None
    source = {"path": str(model.path) if model.path else None, "text": model.code}
    return {
        "kind": "loss",
        "model": kind,
        "expr": code_of(expr),
        "sign": sign,
        "leaves": leaves,
        "file": source,
    }


def _unscaled_seeds(model) -> dict[str, tuple[object, str]]:
    """Output gradients seeded as ``y - onehot`` and never divided: variable -> its scope and
    the code of ``y``. ``y`` is known as probabilities, or is what the same function's loss
    takes the log of (``-np.sum(targets * np.log(outputs + eps))`` beside
    ``d_o = outputs.copy(); d_o -= targets``: that pairing is the softmax cross-entropy's)."""
    return model.memo("unscaled_seeds", _find_unscaled_seeds)


def _find_unscaled_seeds(model) -> dict[str, tuple[object, str]]:
    logged = _logged(model)
    seeds: dict[str, bool] = {}
    scopes: dict[str, tuple[object, str]] = {}
    for point in model.points:
        statement = point.statement
        reader = model.reader(point)
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            key = key_of(statement.targets[0].target)
            value = statement.value
            if key is None:
                continue
            source = _seed_source(reader, value, logged.get(id(point.scope), set()))
            if source is not None:
                seeds[key] = True
                scopes[key] = (point.scope, source)
            elif key in seeds and any(
                isinstance(n, cst.Divide) for n in nodes_of(value, cst.Divide)
            ):
                seeds[key] = False
        elif isinstance(statement, cst.AugAssign) and isinstance(
            statement.operator, cst.DivideAssign
        ):
            key = key_of(statement.target)
            if key in seeds:
                seeds[key] = False
    return {k: scopes[k] for k, unscaled in seeds.items() if unscaled}


def _seed_source(reader, value: cst.BaseExpression, logged: set[str]) -> str | None:
    """The code of ``y`` when ``value`` seeds an output gradient from it: ``y`` itself, a copy
    of it (``np.copy(y)``, ``y.copy()``) or ``y - onehot``."""
    copied = isinstance(value, cst.Call) and (
        is_call_to(value, "copy")
        or (isinstance(value.func, cst.Attribute) and value.func.attr.value == "copy")
    )
    if copied:
        inner = value.args[0].value if value.args else getattr(value.func, "value", None)
        candidates = [value] + ([inner] if inner is not None else [])
    elif isinstance(value, cst.Call):
        candidates = []
    else:
        candidates = [value]
    parts = terms(value)
    if len(parts) == 2 and parts[1][0] == -1:
        candidates.append(parts[0][1])
    for node in candidates:
        fact = reader.fact(node)
        if fact is not None and fact.kind == F.PROB:
            return code_of(node if node is not value else (inner if copied else value))
        if node is not value and code_of(node) in logged:
            return code_of(node)
    return None


def _logged(model) -> dict[int, set[str]]:
    """id(scope) -> the code of what each log in it is taken of, an added epsilon left out."""
    found: dict[int, set[str]] = {}
    for point in model.points:
        value = statement_value(point.statement)
        if value is None:
            continue
        for call in _calls(value):
            if _is_log(call) and call.args:
                found.setdefault(id(point.scope), set()).add(
                    code_of(_without_epsilon(call.args[0].value))
                )
    return found


def _without_epsilon(node: cst.BaseExpression) -> cst.BaseExpression:
    """``y + 1e-12`` (or ``+ eps``, ``+ jitter``) -> ``y``."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        right = node.right
        if isinstance(right, cst.Float | cst.Integer) or (
            isinstance(right, cst.Name) and re.search(r"eps|jitter|tiny|small", right.value, re.I)
        ):
            return node.left
    return node


def divided_losses(model) -> list[tuple[cst.BinaryOperation, Point]]:
    """``loss += -np.sum(onehot * np.log(y)) / N`` in a function whose backward seeds the
    unscaled ``y - onehot`` and divides nothing else by ``N``."""
    sources: dict[int, set[str]] = {}
    for scope, source in _unscaled_seeds(model).values():
        sources.setdefault(id(scope), set()).add(source)
    found = []
    for point in model.points:
        value = statement_value(point.statement)
        if value is None or id(point.scope) not in sources:
            continue
        reader = model.reader(point)
        for division in nodes_of(value, cst.BinaryOperation):
            if not isinstance(division.operator, cst.Divide):
                continue
            logs = [c for c in _calls(division.left) if _is_log(c) and c.args]
            if not _log_of_prob(reader, division.left) and not any(
                code_of(_without_epsilon(c.args[0].value)) in sources[id(point.scope)] for c in logs
            ):
                continue
            divisor = code_of(division.right)
            if not _divides_elsewhere(model, point, divisor):
                found.append((division, point))
    return found


def _divides_elsewhere(model, here: Point, divisor: str) -> bool:
    """Whether another statement of the function divides by ``divisor`` (the gradients scaled
    as the loss is: ``dWy /= N``, ``grads = [g / N for g in grads]``)."""
    for point in model.points:
        if point.scope is not here.scope or point.statement is here.statement:
            continue
        for node in nodes_of(point.statement, cst.BinaryOperation):
            if isinstance(node.operator, cst.Divide) and code_of(node.right) == divisor:
                return True
        if isinstance(point.statement, cst.AugAssign) and isinstance(
            point.statement.operator, cst.DivideAssign
        ):
            if code_of(point.statement.value) == divisor:
                return True
    return False


def undivided_edits(division: cst.BinaryOperation) -> list[tuple[cst.CSTNode, str]]:
    """The loss term without its division: the loss of the unscaled gradient."""
    return [(division, code_of(division.left))]


# LST303 -------------------------------------------------------------------------------------
def softmax_spec(model, node: cst.CSTNode, helper: str) -> dict | None:
    """Feed logits of 1000 through the user's exp (or softmax helper) and through the stable form."""
    if not isinstance(node, cst.Call) or not node.args:
        return None
    argument = code_of(node.args[0].value)
    stable = f"np.exp({argument} - np.max({argument}))"
    fix = stable if helper == "inline" else f"{stable} / np.sum({stable})"
    source = {"path": str(model.path) if model.path else None, "text": model.code}
    return {
        "kind": "softmax-probe",
        "expr": code_of(node),
        "fix": fix,
        "leaves": {argument: {"value": "logits"}},
        "free": [],
        "file": source,
    }


def _stable_edits(model, origin: cst.CSTNode, within: cst.CSTNode) -> list[tuple[cst.CSTNode, str]]:
    """Subtract the maximum in every ``exp`` of the same logits in the softmax (numerator and
    denominator alike), with the module's own NumPy name for ``max``."""
    from lstmlint.edits import numpy_function, precedence

    if not isinstance(origin, cst.Call) or len(origin.args) != 1 or origin.args[0].keyword:
        return []
    maximum = numpy_function(model.context.aliases, "max")
    if maximum is None:
        return []
    logits = origin.args[0].value
    text = code_of(logits)
    shifted = f"({text})" if precedence(logits) < 60 else text
    calls = [origin] + [
        c
        for c in _calls(within)
        if c is not origin
        and len(c.args) == 1
        and c.args[0].keyword is None
        and code_of(c.func) == code_of(origin.func)
        and c.args[0].value.deep_equals(logits)
    ]
    return [(c.args[0].value, f"{shifted} - {maximum}({text})") for c in calls]


def unstable_softmaxes(model) -> list[tuple[cst.CSTNode, str]]:
    """Unstable softmaxes: the ``exp`` call (``inline``, in this module) or the call of a
    helper from another module (its name)."""
    return [(node, helper) for node, helper, _ in _unstable_softmaxes(model)]


def stable_softmax_edits(model) -> dict[int, list[tuple[cst.CSTNode, str]]]:
    """id(reported node) -> the edits that make that softmax stable (none for a helper defined
    in another module: the fix belongs in that module)."""
    return {id(node): edits for node, _, edits in _unstable_softmaxes(model)}


def _unstable_softmaxes(model) -> list[tuple[cst.CSTNode, str, list]]:
    return model.memo("unstable_softmaxes", _find_unstable_softmaxes)


def _find_unstable_softmaxes(model) -> list[tuple[cst.CSTNode, str, list]]:
    found: list[tuple[cst.CSTNode, str, list]] = []
    seen: set[int] = set()
    reported_helpers: set[str] = set()
    for point in model.points:
        value = statement_value(point.statement)
        if value is None:
            continue
        reader = model.reader(point)
        for division in nodes_of(value, cst.BinaryOperation):
            if not isinstance(division.operator, cst.Divide):
                continue
            fact = reader.fact(division)
            if (
                fact is not None
                and fact.kind == F.PROB
                and not fact.stable
                and fact.origin is not None
            ):
                if id(fact.origin) not in seen:
                    seen.add(id(fact.origin))
                    found.append(
                        (fact.origin, "inline", _stable_edits(model, fact.origin, division))
                    )
        for call in _calls(value):
            spec = reader.helper(call)
            name = dotted(call.func) or ""
            if spec is None or spec.act != "softmax" or spec.stable or spec.ref is None:
                continue
            if spec.ref.context is model.context or name in reported_helpers:
                continue
            reported_helpers.add(name)
            found.append((call, name, []))
    return found


# LST401 -------------------------------------------------------------------------------------
@dataclass
class ForgetBias:
    name: str
    segment: tuple[int, int] | None


def forget_biases(model) -> list[ForgetBias]:
    biases: list[ForgetBias] = []
    points_by_scope: dict[int, list[Point]] = {}
    for point in model.points:
        points_by_scope.setdefault(id(point.scope.node), []).append(point)
    labels = model._flow.labels
    for point in model.points:
        statement = point.statement
        if not isinstance(statement, cst.Assign):
            continue
        key = key_of(statement.targets[0].target)
        if key is None:
            target = statement.targets[0].target
            key = (
                f"{key_of(target.value)}[]"
                if isinstance(target, cst.Subscript) and key_of(target.value)
                else None
            )
        label = labels.get((point.scope.name, key)) if key else None
        if label is None or label.gate != "f":
            continue
        reader = model.reader(point)
        if reader.activation_call(statement.value) != "sigmoid":
            continue
        pre = reader.call_argument(statement.value)
        segment = None
        if isinstance(pre, cst.Subscript):
            segment = _segment(pre)
            pre_key = key_of(pre.value)
            pre = _last_assignment(points_by_scope.get(id(point.scope.node), []), pre_key, point)
        elif isinstance(pre, cst.Name):
            found = _last_assignment(
                points_by_scope.get(id(point.scope.node), []), pre.value, point
            )
            pre = found if found is not None else pre
        if pre is None:
            continue
        for _, term in terms(pre):
            bare = strip_transpose(term)
            if isinstance(bare, cst.Name | cst.Attribute | cst.Subscript) and key_of(bare):
                name = last_name(key_of(bare))
                if name:
                    biases.append(ForgetBias(name, segment))
    return biases


def _last_assignment(
    points: list[Point], key: str | None, before: Point
) -> cst.BaseExpression | None:
    found = None
    for point in points:
        if point is before:
            break
        statement = point.statement
        if (
            isinstance(statement, cst.Assign)
            and key is not None
            and key_of(statement.targets[0].target) == key
        ):
            found = statement.value
    return found


def zero_forget_inits(model) -> list[cst.CSTNode]:
    biases = forget_biases(model)
    if not biases:
        return []
    names = {b.name: b for b in biases}
    found: list[cst.CSTNode] = []
    slices_set: dict[str, list[tuple[int, int]]] = {}
    candidates: list[tuple[cst.CSTNode, str]] = []
    for point in model.points:
        statement = point.statement
        if not isinstance(statement, cst.Assign):
            continue
        target = statement.targets[0].target
        value = statement.value
        if isinstance(target, cst.Subscript) and key_of(target.value):
            span = _segment(target)
            if span is not None:
                slices_set.setdefault(last_name(key_of(target.value)), []).append(span)
            key = key_of(target)
            if key is None:
                continue
        else:
            key = key_of(target)
        name = last_name(key)
        if name in names and is_call_to(value, "zeros", "zeros_like"):
            candidates.append((value, name))
        for element in nodes_of(value, cst.DictElement):
            text = (
                element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
            )
            if text in names and is_call_to(element.value, "zeros", "zeros_like"):
                candidates.append((element.value, text))
    for node, name in candidates:
        segment = names[name].segment
        if segment is not None and any(
            s[0] <= segment[0] and segment[1] <= s[1] for s in slices_set.get(name, [])
        ):
            continue
        found.append(node)
    return found


# LST402 / LST404 ---------------------------------------------------------------------------
@dataclass
class Update:
    node: cst.CSTNode
    rate: cst.BaseExpression | None  # the learning-rate factor
    plain: bool  # plain SGD (no per-parameter scaling)
    point: Point | None = None


def _update(statement: cst.CSTNode) -> Update | None:
    if isinstance(statement, cst.AugAssign) and isinstance(
        statement.operator, cst.SubtractAssign | cst.AddAssign
    ):
        value = statement.value
        if isinstance(statement.operator, cst.AddAssign):
            if not (
                isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus)
            ) and not (isinstance(value, cst.BinaryOperation) and _leading_minus(value)):
                return None
    elif isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        value = statement.value
        parts = terms(value)
        target = key_of(statement.targets[0].target)
        if not (len(parts) == 2 and parts[1][0] == -1 and key_of(parts[0][1]) == target and target):
            return None
        value = parts[1][1]
    else:
        return None
    parts = factors(value)
    if len(parts) < 2:
        return None
    plain = not any(is_call_to(c, "sqrt") for c in _calls(value))
    rate = next(
        (
            p
            for p in parts
            if isinstance(p, cst.Integer | cst.Float)
            or (isinstance(p, cst.Name) and _rate_like(p.value))
        ),
        None,
    )
    if rate is None:
        return None
    return Update(statement, rate, plain)


def _leading_minus(node: cst.BinaryOperation) -> bool:
    left = node.left
    while isinstance(left, cst.BinaryOperation):
        left = left.left
    return isinstance(left, cst.UnaryOperation) and isinstance(left.operator, cst.Minus)


def _rate_like(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in ("lr", "eta", "alpha", "step", "step_size")
        or "rate" in lowered
        or lowered.startswith("lr")
    )


def updates(model) -> list[Update]:
    found = []
    for point in model.points:
        update = _update(point.statement)
        if update is not None:
            update.point = point
            found.append(update)
    return found


def _literal(node: cst.BaseExpression | None) -> float | None:
    if isinstance(node, cst.Integer | cst.Float):
        return float(node.evaluated_value)
    return None


def _function_update(func: cst.FunctionDef) -> tuple[str, cst.BaseExpression | None, int] | None:
    """(rate parameter, its default, its position) when a function does a plain SGD step with it."""
    params = [p for p in func.params.params if p.name.value not in ("self", "cls")]
    for statement in nodes_of(func.body, cst.BaseSmallStatement):
        update = _update(statement)
        if update is not None and update.plain and isinstance(update.rate, cst.Name):
            for index, param in enumerate(params):
                if param.name.value == update.rate.value:
                    return param.name.value, param.default, index
    return None


def aggressive_rates(model) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    numeric: dict[str, list[cst.BaseExpression]] = {}
    for point in model.points:
        statement = point.statement
        if (
            isinstance(statement, cst.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0].target, cst.Name)
        ):
            if _literal(statement.value) is not None:
                numeric.setdefault(statement.targets[0].target.value, []).append(statement.value)
    for update in updates(model):
        if not update.plain:
            continue
        if _literal(update.rate) is not None:
            if _literal(update.rate) >= AGGRESSIVE_LR:
                found.append(update.rate)
            continue
        name = update.rate.value
        if name in update.point.scope.params:
            continue  # handled at the call sites below
        found.extend(v for v in numeric.get(name, []) if _literal(v) >= AGGRESSIVE_LR)
    for call, func in _update_calls(model):
        rate = _function_update(func)
        if rate is None:
            continue
        pname, default, index = rate
        args = [a for a in call.args if a.keyword is None]
        given = next(
            (a.value for a in call.args if a.keyword is not None and a.keyword.value == pname), None
        )
        if given is None and index < len(args):
            given = args[index].value
        value = _literal(given) if given is not None else _literal(default)
        if isinstance(given, cst.Name):
            literals = numeric.get(given.value, [])
            found.extend(v for v in literals if _literal(v) >= AGGRESSIVE_LR)
            continue
        if value is not None and value >= AGGRESSIVE_LR:
            found.append(given if given is not None else call)
    return found


def _module_calls(model) -> list[cst.Call]:
    """Every call of the module (walked once per file: several rules ask)."""
    return model.memo("module_calls", lambda m: _calls(m.module))


def _update_calls(model) -> list[tuple[cst.Call, cst.FunctionDef]]:
    return model.memo("update_calls", _find_update_calls)


def _find_update_calls(model) -> list[tuple[cst.Call, cst.FunctionDef]]:
    calls = []
    functions = model.context.all_functions
    methods: dict[str, list] = {}
    for key, ref in functions.items():
        if key.count(".") == 1:  # Class.method
            methods.setdefault(key.split(".")[1], []).append(ref)
    for call in _module_calls(model):
        name = dotted(call.func)
        ref = functions.get(name) if name else None
        if ref is None and name and "." in name:
            # model.step(grads, lr=0.5): the one method of that name among the classes
            found = methods.get(name.rsplit(".", 1)[1], [])
            ref = found[0] if len(found) == 1 else None
        if ref is not None:
            calls.append((call, ref.node))
    return calls


def has_clipping(model) -> bool:
    """Any clipping call (np.clip, clip_grad_norm, ...), a norm (np.linalg.norm), or a name that
    speaks of clipping or a gradient norm (a clip written by hand)."""
    for call in _module_calls(model):
        name = (dotted(call.func) or "").rsplit(".", 1)[-1].lower()
        if "clip" in name or name == "norm":
            return True
    return any(_CLIPPING_NAME.search(n.value) for n in nodes_of(model.module, cst.Name))


_CLIPPING_NAME = re.compile(r"clip|(^|_)norm($|_)", re.IGNORECASE)


def first_update(model) -> cst.CSTNode | None:
    found = updates(model)
    if found:
        return found[0].node
    for call, func in _update_calls(model):
        if _function_update(func) is not None:
            return call
    return None

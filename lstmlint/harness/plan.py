"""Finding the pieces to run in a reduced module: which shape of code it is, and its entry points.

Shapes recognised without configuration (each becomes one *problem*, a dict the child runs):

- ``lossfun``: one function returning the loss and the gradients, reading its parameters from
  module globals (min-char-rnn's ``lossFun(inputs, targets, hprev)``);
- ``pair``: ``forward(...)``/``backward(...)`` functions with a parameter initialiser
  (``init_*``) that returns a tuple or dict of arrays (the reviewed program's family);
- ``layer``: ``*_forward``/``*_backward`` pairs of a recurrent layer whose backward takes the
  upstream gradients and the cache (CS231n's ``lstm_step_forward``/``lstm_forward``);
- ``class``: a class with ``forward`` and ``backward`` methods and its parameters as arrays or a
  dict of arrays on ``self``.

``[tool.lstmlint.harness]`` can name the pieces instead (see ``configured``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lstmlint.harness import callsite
from lstmlint.harness.extract import Reduced, reachable

RECURRENT = re.compile(r"lstm|gru|rnn|recurrent|cell", re.IGNORECASE)
LOSS_AND_GRADS = re.compile(
    r"loss|grad|objective|fwd_?bwd|forward_?backward|nll|cost|bptt", re.IGNORECASE
)
INIT = re.compile(r"(init|build|new_model|make_param|create_param|make_model)", re.IGNORECASE)
# argument names, by the value the harness passes for them
ROLES = (
    ("params", r"p|params?|parameters|weights|w|model|theta|net"),
    ("targets", r"(targets?|labels?)(_?(index|idx|ix|ids?))?|ys?|y_?true|t|tgt|y_?batch|tags?"),
    ("inputs", r"inputs?|xs?|x_?t|x_?batch|seq|sequence|data|words|chars|ix|ids|tokens"),
    (
        "h0",
        r"h|hs?_?prev|prev_?h|h0|h_0|h_?init|init_?h|hidden|hidden_?state|state0?|s0|hid0?|h_?t"
        r"|h_?prev_?t|prev_?hidden|hidden_?prev|a0|a_0|a_?prev|prev_?a",
    ),
    ("c0", r"c|cs?_?prev|prev_?c|c0|c_0|c_?init|init_?c|cell|cell_?state|c_?t|mem0?|m0"),
)


def role(name: str) -> str:
    """What an argument named ``name`` takes: params, targets, inputs, h0, c0 or other."""
    low = name.lower().strip("_")
    for kind, pattern in ROLES:
        if re.fullmatch(pattern, low):
            return kind
    return "other"


PARAMS_ARGUMENT = re.compile(dict(ROLES)["params"])


def _params(func: ast.FunctionDef, method: bool = False) -> list[str]:
    names = [a.arg for a in func.args.posonlyargs + func.args.args]
    return names[1:] if method and names else names


def _required(func: ast.FunctionDef, method: bool = False) -> list[str]:
    names = _params(func, method)
    return names[: len(names) - len(func.args.defaults)]


def _names_of(
    node: ast.AST, literals: dict[str, ast.AST], depth: int = 0, items: bool = False
) -> Any:
    """A returned expression as a name, or a nested list of names for a tuple or list; with
    ``items``, an element of a named container as ``name[]`` (``hs[-1]`` -> ``hs[]``)."""
    if isinstance(node, ast.Name):
        if node.id in literals and depth < 3:
            return _names_of(literals[node.id], literals, depth + 1, items)
        return node.id
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_names_of(item, literals, depth + 1, items) for item in node.elts]
    if items and isinstance(node, ast.Subscript):
        root = node.value
        while isinstance(root, ast.Subscript):
            root = root.value
        return f"{root.id}[]" if isinstance(root, ast.Name) else None
    return None


def _literals(func: ast.AST) -> dict[str, ast.AST]:
    """Names bound to a tuple or list display (``grads = dW, db``), the last binding wins."""
    found: dict[str, ast.AST] = {}
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            found[node.targets[0].id] = node.value
    return found


def _dimensions(func: ast.FunctionDef) -> list[str]:
    """The arguments an initialiser uses as array dimensions: ``N`` and ``M`` in
    ``rnd.randn(N, M)`` or ``np.zeros((N, M))``, whatever they are called."""
    names = set(_params(func, method=True))
    found = []
    for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
        leaf = call.func.attr if isinstance(call.func, ast.Attribute) else None
        for arg in call.args:
            if isinstance(arg, (ast.Tuple, ast.List)):
                parts = arg.elts  # np.zeros((N, M))
            else:  # rnd.randn(N, M); not np.zeros_like(W)
                parts = [arg] if leaf in DIMENSION_CALLS else []
            found += [p.id for p in parts if isinstance(p, ast.Name) and p.id in names]
    return list(dict.fromkeys(found))


DIMENSION_CALLS = {"randn", "rand", "zeros", "ones", "empty", "standard_normal", "eye", "random"}


def _activation_layers(reduced: Reduced, init: ast.FunctionDef) -> list[str]:
    """The module's tanh layer class, for an initialiser that takes an activation
    (``RNN(n_neurons, Activation)``)."""
    if not any(re.search(r"activation|nonlin", a, re.IGNORECASE) for a in _params(init, True)):
        return []
    return [
        n for n, d in reduced.defined.items() if isinstance(d, ast.ClassDef) and n.lower() == "tanh"
    ]


def _return_names(func: ast.AST, items: bool = False) -> list[list[Any]]:
    """The element names of each ``return a, b, c`` in ``func`` (None for non-names); a name
    bound to a tuple or list display stands for the names in it."""
    literals = _literals(func)
    found = []
    for node in ast.walk(func):
        if isinstance(node, ast.Return) and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            found.append([_names_of(value, literals, items=items) for value in values])
    return found


def _longest_return(func: ast.AST, items: bool = False) -> list[Any]:
    returns = _return_names(func, items)
    return max(returns, key=len) if returns else []


def _functions(reduced: Reduced) -> dict[str, ast.FunctionDef]:
    return {
        name: node
        for name, node in reduced.defined.items()
        if isinstance(node, ast.FunctionDef) and node.name == name
    }


def _globals_read(func: ast.FunctionDef, reduced: Reduced) -> list[str]:
    local = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
    names = []
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id not in local
            and isinstance(reduced.defined.get(node.id), (ast.Assign, ast.AnnAssign))
        ):
            names.append(node.id)
    return list(dict.fromkeys(names))


def _span(node: ast.AST) -> list[int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return [first, node.end_lineno or node.lineno]


def _lossfun(reduced: Reduced, func, initialiser, params: list[str] | None = None) -> dict | None:
    """A loss-and-gradients function: parameters made by ``initialiser`` and passed in, or read
    from module globals (``params``, else the globals it reads); None when neither fits."""
    functions = _functions(reduced)
    calls = sorted(reachable(reduced, [func.name]) & set(functions) - {func.name})
    backward = next((c for c in calls if re.search(r"backward|bwd|bptt", c, re.I)), func.name)
    problem = {
        "kind": "lossfun",
        "function": func.name,
        "args": _params(func),
        "returns": _longest_return(func, items=True),
        "backward": backward,
        "calls": calls,
        "lines": [_span(func), *(_span(functions[c]) for c in calls)],
    }
    takes_params = any(PARAMS_ARGUMENT.fullmatch(a.lower()) for a in _required(func))
    if params is None and takes_params and initialiser is not None:
        problem.update(
            init=initialiser.name,
            init_args=_params(initialiser),
            init_returns=_longest_return(initialiser),
        )
        return problem
    problem["params"] = list(params or _globals_read(func, reduced))
    return problem if problem["params"] and (params or not takes_params) else None


def _layer(forward, backward, reduced: Reduced | None = None) -> dict:
    site = callsite.find(reduced.module, forward.name) if reduced and reduced.module else None
    return {
        "kind": "layer",
        "forward": forward.name,
        "backward": backward.name,
        "args": _params(forward),
        "required": _required(forward),
        "grads": _longest_return(backward),
        "backward_args": _params(backward),
        "forward_returns": _longest_return(forward),
        "call_site": site,
        "lines": [_span(forward), _span(backward)],
    }


def _pair(forward, backward, init) -> dict:
    return {
        "kind": "pair",
        "forward": forward.name,
        "backward": backward.name,
        "init": init.name,
        "init_args": _params(init),
        "init_returns": _longest_return(init),
        "forward_args": _params(forward),
        "forward_returns": _longest_return(forward),
        "backward_args": _params(backward),
        "backward_returns": _longest_return(backward),
        "lines": [_span(forward), _span(backward)],
    }


def _initialiser(functions: dict[str, ast.FunctionDef]) -> ast.FunctionDef | None:
    """The function named as an initialiser that no other one calls: ``init_lstm``, not the
    ``init_orthogonal(param)`` it uses for each matrix."""
    named = [f for n, f in functions.items() if INIT.match(n)]
    called = {
        sub.func.id
        for f in named
        for sub in ast.walk(f)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id != f.name
    }
    return next((f for f in named if f.name not in called), named[0] if named else None)


def find_problems(reduced: Reduced) -> list[dict[str, Any]]:
    """Every runnable problem in the module, in the order of their backward definitions."""
    functions = _functions(reduced)
    problems: list[dict[str, Any]] = []
    initialiser = _initialiser(functions)
    for name, func in functions.items():
        if not LOSS_AND_GRADS.search(name) or len(_required(func)) < 2:
            continue
        if len(_longest_return(func)) < 2:
            continue
        problem = _lossfun(reduced, func, initialiser)
        if problem is not None:
            problems.append(problem)
    for name, func in functions.items():
        match = re.fullmatch(r"(.*?)_?forward", name)
        if not match or not RECURRENT.search(match.group(1) or ""):
            continue
        partner = f"{match.group(1)}_backward" if name.endswith("_forward") else None
        if partner in functions:
            problems.append(_layer(func, functions[partner], reduced))
            takes_params = any(PARAMS_ARGUMENT.fullmatch(a.lower()) for a in _required(func))
            if takes_params and initialiser is not None:  # the parameters its initialiser makes
                problems.append(_pair(func, functions[partner], initialiser))
    forward = next(
        (f for n, f in functions.items() if n.lower() in ("forward", "fwd", "forward_pass")), None
    )
    backward = next(
        (
            f
            for n, f in functions.items()
            if n.lower() in ("backward", "bwd", "backward_pass", "bptt")
        ),
        None,
    )
    wrapped = any(
        p["kind"] == "lossfun" and forward is not None and forward.name in p["calls"]
        for p in problems
    )
    if forward is not None and backward is not None and initialiser is not None and not wrapped:
        problems.append(_pair(forward, backward, initialiser))
    for name, node in reduced.defined.items():
        if not isinstance(node, ast.ClassDef) or node.name != name:
            continue
        methods = {m.name: m for m in node.body if isinstance(m, ast.FunctionDef)}
        forward_name = next((m for m in FORWARD_METHODS if m in methods), None)
        backward_name = next((m for m in BACKWARD_METHODS if m in methods), None)
        if "__init__" not in methods:
            problems.extend(_static_layer(name, methods, forward_name, backward_name))
            continue
        if forward_name is None or backward_name is None:
            problems.extend(_loss_and_grads_method(name, methods))
            continue
        loss_name = next((m for m in LOSS_METHODS if m in methods), None)
        problems.append(
            {
                "kind": "class",
                "class": name,
                "init_args": _params(methods["__init__"], method=True),
                "init_sizes": _dimensions(methods["__init__"]),
                "init_layers": _activation_layers(reduced, methods["__init__"]),
                "forward_method": forward_name,
                "backward_method": backward_name,
                "forward_args": _params(methods[forward_name], method=True),
                "backward_args": _params(methods[backward_name], method=True),
                "loss_method": loss_name,
                "loss_args": _params(methods[loss_name], method=True) if loss_name else [],
                "backward": f"{name}.{backward_name}",
                "lines": [
                    _span(methods[m]) for m in _methods_used(methods, forward_name, backward_name)
                ],
            }
        )
    return problems


def _static_layer(
    name: str, methods: dict[str, ast.FunctionDef], forward: str | None, backward: str | None
) -> list[dict]:
    """A class used as a namespace of static functions, its weights made by one of them
    (Karpathy's batched ``LSTM``: ``WLSTM = LSTM.init(input_size, hidden_size)``, then
    ``LSTM.forward(X, WLSTM)`` returns the outputs and a cache, ``LSTM.backward(dHout, cache)``
    the gradients): a layer whose parameters its initialiser makes."""
    static = {
        m
        for m, node in methods.items()
        if any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
    }
    inits = [m for m in static if INIT.match(m)]
    if forward not in static or backward not in static or len(inits) != 1:
        return []
    layer = _layer(methods[forward], methods[backward])
    init = methods[inits[0]]
    return [
        layer
        | {
            "forward": f"{name}.{forward}",
            "backward": f"{name}.{backward}",
            "init": f"{name}.{init.name}",
            "init_args": _params(init),
            "init_returns": _longest_return(init),
            "backward_required": _required(methods[backward]),
            "lines": [_span(methods[forward]), _span(methods[backward])],
        }
    ]


def _loss_and_grads_method(name: str, methods: dict[str, ast.FunctionDef]) -> list[dict]:
    """A class whose one method runs the forward and returns the loss and the gradients
    (min-char-rnn's ``lossFun`` moved into a model class): of the methods named so, the one
    that returns the most gradient-named values."""

    def gradients(func: ast.FunctionDef) -> int:
        names, count = list(_longest_return(func)[1:]), 0
        while names:  # a returned list of gradients is a nested list of names
            name = names.pop()
            if isinstance(name, list):
                names.extend(name)
            count += isinstance(name, str) and bool(GRADIENT_NAME.match(name))
        return count

    named = [
        (gradients(func), method, func)
        for method, func in methods.items()
        if LOSS_AND_GRADS.search(method)
        and not method.startswith("_")
        and len(_required(func, method=True)) >= 2
    ]
    named = [n for n in named if n[0] > 0]
    for _, method, func in sorted(named, key=lambda n: -n[0])[:1]:
        return [
            {
                "kind": "class",
                "class": name,
                "init_args": _params(methods["__init__"], method=True),
                "init_sizes": _dimensions(methods["__init__"]),
                "method": method,
                "args": _params(func, method=True),
                "returns": _longest_return(func, items=True),
                "backward": f"{name}.{method}",
                "lines": [_span(methods[m]) for m in _methods_used(methods, method, method)],
            }
        ]
    return []


# a class's methods, by the names people give them (wildml's RNNNumpy: forward_propagation,
# calculate_loss, bptt), first match wins
FORWARD_METHODS = ("forward", "forward_propagation", "forward_pass", "fprop")
BACKWARD_METHODS = (
    "backward",
    "bptt",
    "backward_propagation",
    "backward_pass",
    "bprop",
    "backprop",
)
LOSS_METHODS = ("loss", "calculate_total_loss", "calculate_loss", "compute_loss", "loss_fn")


def _methods_used(
    methods: dict[str, ast.FunctionDef], forward: str = "forward", backward: str = "backward"
) -> list[str]:
    """The forward, the backward and the methods they call on ``self``
    (``self._step_backward``), transitively, in definition order."""
    used, todo = set(), [forward, backward]
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        for node in ast.walk(methods[name]):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "self"
                and node.func.attr in methods
            ):
                todo.append(node.func.attr)
    return [m for m in methods if m in used]


def backward_node(reduced: Reduced, problem: dict) -> ast.AST | None:
    """The definition an unexplained gradient error is reported on."""
    owner, _, method = problem["backward"].partition(".")
    node = reduced.defined.get(owner)
    if method and isinstance(node, ast.ClassDef):
        return next((m for m in node.body if getattr(m, "name", None) == method), None)
    return node


GRADIENT_NAME = re.compile(r"^(d[A-Za-z_]|grad|.*_grad$)")


def writes_gradients(reduced: Reduced) -> bool:
    """Whether some function assigns a gradient-named value (``dW``, ``dh_next``, ``grads``):
    the file holds hand-written gradient code, whether or not its pieces were recognised."""
    for node in ast.walk(reduced.tree):
        if isinstance(node, ast.FunctionDef):
            for statement in ast.walk(node):
                targets = (
                    statement.targets
                    if isinstance(statement, ast.Assign)
                    else [statement.target]
                    if isinstance(statement, ast.AugAssign)
                    else []
                )
                for target in targets:
                    while isinstance(target, ast.Subscript | ast.Attribute):
                        if isinstance(target, ast.Attribute) and GRADIENT_NAME.match(target.attr):
                            return True
                        target = target.value
                    if isinstance(target, ast.Name) and GRADIENT_NAME.match(target.id):
                        return True
    return False


def entry_names(problem: dict) -> list[str]:
    """The top-level definitions a problem calls first."""
    if problem["kind"] == "class":  # the class, and the methods the check calls
        cls = problem["class"]
        called = ["__init__", problem.get("forward_method"), problem.get("backward_method")]
        called += [problem.get("loss_method"), problem.get("method")]
        values = [*problem.get("init_args", []), *problem.get("init_layers", [])]
        return [cls, *(f"{cls}.{m}" for m in called if m), *values]
    names = [problem.get(k) for k in ("function", "forward", "backward", "init")]
    # the module's own values of the initialiser's sizes (`hidden_size = 50`) are kept: the
    # check makes the parameters with them, and code may assume them (`assert h.shape == (50, 1)`)
    sizes = problem.get("init_args", [])
    return [n for n in names if n] + list(problem.get("params", [])) + list(sizes)


def configured(reduced: Reduced, harness: Any) -> list[dict[str, Any]]:
    """The problem ``[tool.lstmlint.harness]`` describes, completed from the code; [] if none.

    Keys: ``kind`` (lossfun, pair, layer or class) and the names of its pieces: ``function``
    and ``params`` (a list of global names) for lossfun; ``forward``, ``backward`` and ``init``
    for pair and layer; ``class`` for class. The recognised problems whose kind matches are
    searched first, so only what differs from the usual names has to be given.
    """
    given = dict(getattr(harness, "entries", ()))
    if not given:
        return []
    kind = given.get("kind")
    found = [p for p in find_problems(reduced) if kind in (None, p["kind"])]
    for problem in found:
        if all(problem.get(k) == v for k, v in given.items() if k not in ("kind",)):
            return [problem]
    functions = _functions(reduced)
    if kind == "lossfun" and given.get("function") in functions:
        problem = _lossfun(reduced, functions[given["function"]], None, given.get("params"))
        return [problem] if problem is not None else []
    pieces = [functions.get(given.get(k, "")) for k in ("forward", "backward", "init")]
    if kind == "layer" and None not in pieces[:2]:
        return [_layer(*pieces[:2], reduced)]
    if kind == "pair" and None not in pieces:
        return [_pair(*pieces)]
    return []

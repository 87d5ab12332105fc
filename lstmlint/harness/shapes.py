"""Turning a problem (see ``plan``) and a loaded module into a gradient check of the user's code.

Inputs are made up: tiny random data in the formats hand-written RNNs take (index lists,
one-hot columns or rows, arrays), tried in order of plausibility until the user's forward and
backward run through and return a finite loss and one gradient of the right shape per
parameter. Sizes come from the parameters themselves (the most common leading dimension is the
hidden size) or, where the user's initialiser makes them, from argument names.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from lstmlint.harness.plan import role as _role

STEPS_T = 4
HIDDEN, VOCAB, INPUT, OUTPUT, BATCH = 4, 5, 3, 2, 2


class NoBinding(Exception):
    """No way of calling the user's code was found."""


Check = tuple[Callable[[dict], float], Callable[[dict], dict], dict[str, np.ndarray], str]


def _grad_of(name: str) -> list[str]:
    """The parameter names a gradient called ``name`` may belong to."""
    out = [name]
    for pattern in (r"^d_?(.+)$", r"^(.+?)_?d$", r"^grad_?(.+)$", r"^(.+?)_?grad$", r"^g_?(.+)$"):
        match = re.match(pattern, name)
        if match:
            out.append(match.group(1))
    return out


def gradient_name(name: str) -> bool:
    """Whether a name reads as a gradient's (``dW``, ``W_grad``, ``delta_h``)."""
    low = name.lower()
    return bool(_grad_of(name)[1:]) or "delta" in low or "grad" in low


def same_vector(shape: tuple, wanted: tuple) -> bool:
    """The shape of the parameter, or the same values with axes of one added or dropped (a
    bias of shape (h,) whose gradient is kept as a (1, h) row)."""
    return [n for n in shape if n != 1] == [n for n in wanted if n != 1]


def _arrays(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _assign(params_names: list[str], grads: list[tuple[str | None, Any]], params: dict) -> dict:
    """Map returned gradients to parameters by their names (``dW`` -> ``W``, ``W_d`` -> ``W``,
    a dict keyed like the parameters); by shape only where one parameter has that shape and the
    value's name, if it has one, is a gradient's (a returned state ``hs[-1]`` is no gradient)."""
    mapped: dict[str, np.ndarray] = {}
    left = []
    for name, value in grads:
        if not isinstance(value, np.ndarray):
            continue
        candidates = [p for p in _grad_of(name) if p in params] if name else []
        target = next((p for p in candidates if p not in mapped), None)
        if target is not None and params[target].shape == value.shape:
            mapped[target] = value
        elif name is None or gradient_name(name):
            left.append(value)
    for value in left:
        fits = [p for p in params_names if p not in mapped and params[p].shape == value.shape]
        if len(fits) > 1:
            # guessing by order could pair a gradient with the wrong parameter and make
            # correct code look wrong
            raise NoBinding("cannot tell which returned gradient belongs to which parameter")
        if fits:
            mapped[fits[0]] = value
    return mapped


def _sizes(params: dict[str, np.ndarray], hidden: int | None = None) -> tuple[int, list[int], bool]:
    """Hidden size (unless known), other sizes and whether vectors are columns, read off the
    parameters: the hidden size is the most common leading dimension."""
    firsts = Counter(v.shape[0] for v in params.values() if v.ndim >= 1)
    if hidden is None:
        hidden = firsts.most_common(1)[0][0] if firsts else HIDDEN
    dims = [d for v in params.values() for d in v.shape]
    others = [d for d, _ in Counter(dims).most_common() if d != hidden and d > 1]
    columns = any(v.ndim == 2 and v.shape[1] == 1 for v in params.values())
    return hidden, others or [hidden], columns


def _sequences(
    vocab: int, columns: bool, rng, out: int | None = None
) -> Iterator[tuple[Any, Any, str]]:
    """Candidate (inputs, targets) pairs, most common formats first."""
    ix = [int(i) for i in rng.integers(0, vocab, STEPS_T)]
    tx = [int(i) for i in rng.integers(0, min(vocab, out or vocab), STEPS_T)]
    eye = np.eye(vocab)
    col = [eye[:, [i]] for i in ix]
    tcol = [eye[:, [i]] for i in tx]
    yield ix, tx, f"index lists, vocabulary {vocab}"
    if columns:
        yield col, tcol, f"one-hot column lists, vocabulary {vocab}"
        yield col, tx, f"one-hot columns with index targets, vocabulary {vocab}"
    yield [eye[i] for i in ix], tx, f"one-hot vectors, vocabulary {vocab}"
    yield eye[ix], np.array(tx), f"a (T, {vocab}) one-hot array"
    yield eye[ix], eye[tx], f"(T, {vocab}) one-hot arrays"
    out = out or vocab
    yield rng.normal(size=(STEPS_T, vocab)), rng.normal(size=(STEPS_T, out)), "real (T, n) arrays"
    batch = rng.normal(size=(STEPS_T, BATCH, vocab))
    labels = rng.integers(0, out, (STEPS_T, BATCH))
    yield batch, labels, "time-major (T, N, D) batches with index targets"
    yield batch.transpose(1, 0, 2).copy(), labels.T.copy(), "batch-major (N, T, D) batches"
    yield (
        batch,
        rng.normal(size=(STEPS_T, BATCH, out)),
        "time-major (T, N, D) batches, real targets",
    )
    yield (
        batch.transpose(1, 0, 2).copy(),
        rng.normal(size=(BATCH, STEPS_T, out)),
        "batch-major (N, T, D) batches, real targets",
    )
    yield (
        [rng.normal(size=(vocab, 1)) for _ in range(STEPS_T)],
        [rng.normal(size=(out, 1)) for _ in range(STEPS_T)],
        "real column lists",
    )
    # sequence classification: one label a sequence
    yield batch.transpose(1, 0, 2).copy(), labels[0].copy(), "batch-major (N, T, D), a label each"
    yield batch, labels[0].copy(), "time-major (T, N, D), a label each"
    yield rng.normal(size=(STEPS_T, vocab)), int(tx[0]), "a real (T, n) array and one label"
    yield ix, int(tx[0]), f"an index list and one label, vocabulary {vocab}"


def _inputs(start: dict, sizes: dict, rng) -> Iterator[tuple[dict, str]]:
    """Made-up inputs, targets and zero initial states, in every plausible format, with sizes
    from the initialiser's arguments first, then from the parameters' shapes."""
    hidden, others, columns = _sizes(start, _known_hidden(sizes))
    vocabs = [v for n, v in sizes.items() if _size_kind(n) == "input"]
    outs = [v for n, v in sizes.items() if _size_kind(n) == "output"]
    for vocab in dict.fromkeys([*vocabs, *others, VOCAB]):
        for inputs, targets, how in _sequences(vocab, columns, rng, outs[0] if outs else None):
            state = _state(hidden, columns)
            sizes_used = {"size:input": vocab, "size:hidden": hidden}
            yield (
                {"inputs": inputs, "targets": targets, "h0": state, "c0": state.copy()}
                | (sizes_used),
                how,
            )


def _state(hidden: int, columns: bool) -> np.ndarray:
    return np.zeros((hidden, 1)) if columns else np.zeros(hidden)


def fresh(value: Any) -> Any:
    """A deep copy of the arrays, lists, tuples and dicts in ``value``: code that updates its
    arguments in place (``dnext_c += ...``) must not change what the next call is given."""
    if isinstance(value, (np.ndarray, list, tuple, dict)):
        return copy.deepcopy(value)
    return value


def _call(func, names: list[str], values: dict[str, Any], defaults: int = 0) -> Any:
    """Call ``func`` with fresh copies of its arguments, found by exact name, then by role, else
    left to their defaults."""
    args = []
    required = len(names) - defaults
    for position, name in enumerate(names):
        if name in values:
            args.append(fresh(values[name]))
        elif _role(name) in values:
            args.append(fresh(values[_role(name)]))
        elif f"size:{_size_kind(name)}" in values:  # `vocab_size=71` in a signature
            args.append(values[f"size:{_size_kind(name)}"])
        elif position >= required:
            break
        else:
            raise NoBinding(f"no value for argument `{name}`")
    return func(*args)


def _arguments(func) -> list[str]:
    """The names a callable takes (a bound method's without ``self``)."""
    try:
        return list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return []


def _defaults(func) -> int:
    return len(getattr(func, "__defaults__", None) or ())


def _scalar(value: Any) -> float | None:
    if isinstance(value, (float, int, np.floating)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        return float(value.reshape(()))
    return None


def _flatten(value: Any, names: Any = None) -> list[tuple[str | None, Any]]:
    """Arrays in a returned value, with the names they were returned under (``names`` mirrors
    the value's nesting: a name, or a list of names for a tuple or list)."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (tuple, list)):
        labels = names if isinstance(names, list) else []
        out = []
        for position, item in enumerate(value):
            label = labels[position] if position < len(labels) else None
            if isinstance(item, (dict, tuple, list)):
                out.extend(_flatten(item, label))
            else:
                out.append((label if isinstance(label, str) else None, item))
        return out
    return [(names if isinstance(names, str) else None, value)]


def _finite(loss: Any) -> float:
    value = _scalar(loss)
    if value is None or not np.isfinite(value):
        raise NoBinding("the loss is not a finite number")
    return value


def _complete(mapped: dict, params: dict) -> None:
    missing = [p for p in params if p not in mapped]
    if missing:
        raise NoBinding(f"no gradient returned for {', '.join(missing)}")


def _rows(loss, rows: int):
    """Mark a made-up loss as summed over ``rows`` rows of a batch (see the child's check)."""
    loss.batch_rows = rows
    return loss


def _seeded(func):
    def wrapper(*args):
        np.random.seed(0)
        return func(*args)

    return wrapper


# --- the four shapes ------------------------------------------------------------------------------


def lossfun(problem: dict, ns: dict, rng) -> Iterator[Check]:
    """One function returning the loss and the gradients; parameters in module globals, or
    made by an initialiser and passed in."""
    func = ns[problem["function"]]
    if problem.get("init"):
        made, names, start, sizes = _initialise(problem, ns)
    else:
        made, names = None, [n for n in problem["params"] if _arrays(ns.get(n))]
        if not names:
            raise NoBinding("the loss function reads no parameter arrays")
        start, sizes = {n: np.array(ns[n], dtype=np.float64) for n in names}, _module_sizes(ns)
    labels = problem["returns"][1:]
    known: list[str] | None = None  # what it returns does not depend on the input format
    for values, how in _inputs(start, sizes, rng):

        def run(p, values=values):
            if made is None:
                ns.update({n: v.copy() for n, v in p.items()})
                return _call(func, problem["args"], values, _defaults(func))
            given = {**values, "params": _rebuild(made, names, start | p)}
            return _call(func, problem["args"], given, _defaults(func))

        if known is None:
            known = _seeded(_unreturned)(run, start, labels, names)
        left_out = known or []
        checked = {n: v for n, v in start.items() if n not in left_out}
        yield (
            _seeded(lambda p, run=run: _finite(_first(run(p)))),
            _seeded(lambda p, run=run, kept=list(checked): _mapped(run(p)[1:], labels, kept, p)),
            checked,
            f"{how}; no gradient returned for {', '.join(left_out)}" if left_out else how,
        )


def _unreturned(run, start: dict, labels: list, names: list[str]) -> list[str] | None:
    """The parameters a loss function returns no gradient for (``dbc`` computed, never
    returned: that bias is never trained), when every value it returns under a gradient's name
    found its parameter; the others are checked without them. None when it does not run."""
    try:
        returned = _flatten(list(run({k: v.copy() for k, v in start.items()})[1:]), labels)
        mapped = _assign(names, returned, start)
    except Exception:  # the check itself says why this way of calling does not fit
        return None
    kept = {id(v) for v in mapped.values()}
    stray = [
        n
        for n, v in returned
        if isinstance(v, np.ndarray) and id(v) not in kept and (n is None or gradient_name(n))
    ]
    missing = [n for n in names if n not in mapped]
    return missing if mapped and not stray else []


def _module_sizes(ns: dict) -> dict[str, int]:
    """The module's own size constants (``hidden_size = 100``, ``vocab_size = len(chars)``):
    with stacked gate matrices the commonest leading dimension is 4H, not H."""
    return {
        name: value
        for name, value in ns.items()
        if type(value) is int and value > 0 and _size_kind(name) in ("hidden", "input", "output")
    }


def _initialise(problem: dict, ns: dict, single: bool = False) -> tuple[Any, list[str], dict, dict]:
    """Call the user's initialiser with small sizes: what it made, the parameter names, float64
    copies of the parameters, and the size arguments. With ``single``, one array returned
    under a name (``return WLSTM``) is a parameter of that name."""
    init = _named(ns, problem["init"])
    sizes = _size_arguments(problem["init_args"], ns, init)
    np.random.seed(0)
    made = init(**sizes)
    if isinstance(made, dict):
        keys = [k for k, v in made.items() if _arrays(v)]
    elif isinstance(made, (tuple, list)):
        labels = problem["init_returns"]
        if len(labels) == 1 and isinstance(labels[0], list):  # `return params`, a tuple display
            labels = labels[0]
        keys = [
            labels[i] if i < len(labels) and isinstance(labels[i], str) else f"param{i}"
            for i in range(len(made))
        ]
        made = dict(zip(keys, made, strict=True)) | {"": type(made)}
    elif single and isinstance(made, np.ndarray) and _one_name(problem["init_returns"]):
        keys = problem["init_returns"]
        made = {keys[0]: made}
    else:
        raise NoBinding("the initialiser returns neither a tuple nor a dict of arrays")
    start = {k: np.array(made[k], dtype=np.float64) for k in keys}
    return made, keys, start, sizes


def _one_name(names: list[Any]) -> bool:
    return len(names) == 1 and isinstance(names[0], str)


def _first(result):
    return result[0] if isinstance(result, (tuple, list)) else result


def _mapped(grads, names, params_names, params) -> dict:
    mapped = _assign(params_names, _flatten(list(grads), list(names)), params)
    _complete(mapped, params)
    return mapped


def _rebuild(template: dict, keys: list[str], p: dict) -> Any:
    """The parameters in the container the initialiser made (a dict, or a tuple or list, whose
    type ``_initialise`` keeps under the key "")."""
    if "" in template:
        return template[""](p[k].copy() for k in keys)
    return {k: p[k].copy() for k in keys}


def _size_kind(name: str) -> str | None:
    low = name.lower().strip("_")
    if re.search(r"hid|^h$|^n_?[ah]$|units|width|neuron", low):
        return "hidden"
    if re.search(r"(^|_)z(_|$)|concat|stack", low):
        return "stacked"
    if re.search(r"out|^k$|^o$|class|cls|tag|label|^n_?y$|^y_?dim$", low):
        return "output"
    if re.search(r"vocab|sym|input|^in_|_in$|^n_?in$|^n_?x$|^d$|^v$|feat|emb|dim", low):
        return "input"
    if "seed" in low:
        return "seed"
    if low == "rng":
        return "rng"
    return None


def _known_hidden(arguments: dict[str, Any]) -> int | None:
    return next((v for n, v in arguments.items() if _size_kind(n) == "hidden"), None)


def _size_arguments(names: list[str], ns: dict, func: Any = None) -> dict[str, Any]:
    """Arguments for an initialiser (``func``, where it is known): the module's own size
    constants where it has them. An argument whose default is no number (a string, None, a
    function) is a setting, whatever its name says (``output_activation="softmax"``): its
    default stands (a seed's excepted: it is always given, so that runs repeat)."""
    chosen: dict[str, Any] = {}
    settings = _settings_by_default(func)
    kinds = {name: _size_kind(name) for name in names}
    kinds = {n: k for n, k in kinds.items() if n not in settings or k in ("seed", "rng")}
    for name, kind in kinds.items():
        value = ns.get(name)
        if kind in ("hidden", "input", "output") and isinstance(value, int) and value > 0:
            chosen[name] = value
    hidden = next((chosen[n] for n, k in kinds.items() if k == "hidden" and n in chosen), HIDDEN)
    vocab = next((chosen[n] for n, k in kinds.items() if k == "input" and n in chosen), VOCAB)
    for name, kind in kinds.items():
        if name in chosen:
            continue
        if kind == "hidden":
            chosen[name] = hidden
        elif kind == "input":
            chosen[name] = vocab
        elif kind == "output":
            chosen[name] = vocab if "vocab" in " ".join(names).lower() else OUTPUT
        elif kind == "stacked":
            chosen[name] = hidden + vocab
        elif kind == "seed":
            chosen[name] = 0
        elif kind == "rng":
            chosen[name] = np.random.default_rng(0)
    return chosen


def _settings_by_default(func: Any) -> set[str]:
    try:
        parameters = inspect.signature(func).parameters.values() if func is not None else ()
    except (TypeError, ValueError):
        return set()
    return {
        p.name
        for p in parameters
        if p.default is not p.empty
        and (isinstance(p.default, bool) or not isinstance(p.default, (int, float)))
    }


def pair(problem: dict, ns: dict, rng) -> Iterator[Check]:
    forward, backward = ns[problem["forward"]], ns[problem["backward"]]
    made, keys, start, sizes = _initialise(problem, ns)
    fwd_names = problem["forward_returns"]
    for values, how in _inputs(start, sizes, rng):

        def run(p, values=values):
            params = _rebuild(made, keys, p)
            given = {**values, "params": params}
            out = _call(forward, problem["forward_args"], given, _defaults(forward))
            outs = list(out) if isinstance(out, tuple) else [out]
            named = list(zip(fwd_names, outs, strict=False))
            given.update({n: v for n, v in named if isinstance(n, str)})
            args = problem["backward_args"]
            leads_with_loss = bool(fwd_names) and fwd_names[0] in ("loss", "cost", "J", "L")
            if (
                len(outs) > 1
                and len(args) >= len(outs)
                and not leads_with_loss
                and not any(a in given for a in args[: len(outs)])
            ):
                # backward(z, f, i, ..., targets, p): the leading block is forward's output
                given.update(zip(args[: len(outs)], outs, strict=False))
            elif leads_with_loss:
                # backward(X, Y, parameters, cache) after `return loss, cache`: the arguments
                # nothing else binds take the outputs that have no name of their own
                rest = [v for n, v in named if not isinstance(n, str)] + outs[len(named) :]
                free = [a for a in args if a not in given and _role(a) not in given]
                if rest and len(free) == len(rest):
                    given.update(zip(free, rest, strict=True))
            back = _call(backward, args, given, _defaults(backward))
            backs = list(back) if isinstance(back, tuple) else [back]
            loss = next((s for s in map(_scalar, outs + backs) if s is not None), None)
            return loss, back

        def grads(p, run=run):
            _, back = run(p)
            mapped = _assign(keys, _flatten(back, problem["backward_returns"]), p)
            _complete(mapped, p)
            return mapped

        yield _seeded(lambda p, run=run: _finite(run(p)[0])), _seeded(grads), start, how


def layer(problem: dict, ns: dict, rng) -> Iterator[Check]:
    if problem.get("init"):
        yield from _layer_from_init(problem, ns, rng)
        return
    if problem.get("call_site"):
        try:
            found = list(_layer_as_called(problem, ns))
        except NoBinding:
            found = []
        if found:  # the file's own inputs: no sizes are guessed from names
            yield from found
            return
    forward, backward = ns[problem["forward"]], ns[problem["backward"]]
    names = problem["required"]
    for gates, x_rank in itertools.product((4, 1, 3), (3, 2)):
        start = {}
        for name in names:
            low = name.lower()
            shape = _weight_shape(name, gates, columns=False)
            if low in ("x", "xs", "inputs", "x_t"):
                shape = (BATCH, STEPS_T, INPUT) if x_rank == 3 else (BATCH, INPUT)
            elif shape is None and re.search(r"h|c", low):
                shape = (BATCH, HIDDEN)
            elif shape is None:
                raise NoBinding(f"no shape known for `{name}`")
            start[name] = rng.normal(size=shape)
        loss, grads = _layer_functions(forward, backward, names)
        yield loss, grads, start, f"{gates} gate blocks, x of rank {x_rank}"


def _layer_from_init(problem: dict, ns: dict, rng) -> Iterator[Check]:
    """A layer whose initialiser makes its weights (``plan._static_layer``): the forward's one
    other required argument is its input, a sequence of rows of the initialiser's input size,
    time first or batch first."""
    forward, backward = _named(ns, problem["forward"]), _named(ns, problem["backward"])
    _, _, made, sizes = _initialise(problem, ns, single=True)
    inputs = [name for name in problem["required"] if name not in made]
    width = next((v for n, v in sizes.items() if _size_kind(n) == "input"), None)
    if len(inputs) != 1 or width is None:
        raise NoBinding("the forward's input is not the one argument its initialiser leaves")
    for shape, how in (
        ((STEPS_T, BATCH, width), f"a sequence of {STEPS_T} steps of a batch of {BATCH}"),
        ((BATCH, STEPS_T, width), f"a batch of {BATCH} sequences of {STEPS_T} steps"),
    ):
        start = {**made, inputs[0]: rng.normal(size=shape)}
        loss, grads = _layer_by_names(forward, backward, problem, problem["required"])
        yield loss, grads, start, how


def _layer_by_names(forward, backward, problem: dict, names: list[str]):
    """Loss and gradients of a layer whose backward reads the forward's outputs by name: an
    argument named as an output gets it (``cache``), one named as an output's gradient
    (``dHout``, ``dHout_in`` for ``Hout``) a fixed random upstream gradient, which weights that
    output in the loss; each returned gradient (``dWLSTM``) is matched to its argument."""
    outputs = problem["forward_returns"]
    required = problem.get("backward_required", problem["backward_args"])
    upstream_of: dict[str, int] = {}
    for name in required:
        if name in outputs:
            continue
        index = next((i for i, o in enumerate(outputs) if _gradient_of(name, o)), None)
        if index is None:
            raise NoBinding(f"the backward's `{name}` is no output of the forward")
        upstream_of[name] = index
    returned = problem["grads"]
    wanted = {name: f"d{name}" for name in names}
    if not set(wanted.values()) <= set(returned):
        raise NoBinding("the backward does not return a gradient for every argument")
    upstream: dict[int, np.ndarray] = {}

    def run(p):
        out = forward(*(p[n].copy() for n in names))
        return list(out) if isinstance(out, tuple) else [out]

    def loss(p):
        values = run(p)
        total = 0.0
        for index in sorted(set(upstream_of.values())):
            if index not in upstream:
                upstream[index] = np.random.default_rng(index).normal(size=np.shape(values[index]))
            total += float(np.sum(values[index] * upstream[index]))
        return total

    def grads(p):
        values = run(p)
        if len(upstream) < len(set(upstream_of.values())):
            loss(p)
        given = {o: v for o, v in zip(outputs, values, strict=False) if isinstance(o, str)}
        args = [fresh(upstream[upstream_of[a]]) if a in upstream_of else given[a] for a in required]
        result = backward(*args)
        items = list(result) if isinstance(result, tuple) else [result]
        by_name = dict(zip(returned, items, strict=False))
        return {name: by_name[gradient] for name, gradient in wanted.items()}

    return loss, grads


def _gradient_of(argument: str, output: Any) -> bool:
    """Whether ``argument`` names the gradient of the output ``output``: ``dHout`` or
    ``dHout_in`` of ``Hout``."""
    return (
        isinstance(output, str)
        and re.fullmatch(rf"d_?{re.escape(output)}(_in|_out)?", argument, re.IGNORECASE) is not None
    )


def _named(ns: dict, name: str) -> Any:
    """``ns[name]``, where ``name`` may reach into a class (``LSTM.forward``)."""
    owner, _, rest = name.partition(".")
    value = ns[owner]
    for part in rest.split(".") if rest else []:
        value = getattr(value, part)
    return value


def _weight_shape(name: str, gates: int, columns: bool) -> tuple[int, ...] | None:
    """The shape of a weight or bias named ``name`` (``Wx``, ``weight_h``, ``W_hh``, ``b``) in
    a layer of ``gates`` stacked blocks that computes ``x @ Wx`` (or ``Wx @ x`` in columns)."""
    low = name.lower()
    if re.search(r"w(eight)?_?x|w_?ih", low):
        side = INPUT
    elif re.search(r"w(eight)?_?h|w_?hh", low):
        side = HIDDEN
    elif re.fullmatch(r"b(ias)?(_?[a-z]{0,2})?", low):
        return (gates * HIDDEN, 1) if columns else (gates * HIDDEN,)
    else:
        return None
    return (gates * HIDDEN, side) if columns else (side, gates * HIDDEN)


def _layer_as_called(problem: dict, ns: dict) -> Iterator[Check]:
    """The arguments the module's own code passes to the forward (``callsite``): its arrays,
    and the arrays of the dicts among them, are the parameters; the loss weights the outputs
    the backward takes a gradient for by fixed random upstream gradients."""
    from lstmlint.harness import callsite

    site = problem["call_site"]
    try:
        args, kwargs = callsite.arguments(site)
    except Exception as exc:  # any failure means this source gives no inputs
        raise NoBinding(
            f"its own call of {problem['forward']} cannot be replayed ({exc})"
        ) from None
    names = problem["args"]
    given = dict(zip(names, args, strict=False)) | kwargs
    start: dict[str, np.ndarray] = {}
    for name, value in given.items():
        if _arrays(value):
            start[name] = value.astype(np.float64)
        elif isinstance(value, dict):
            start.update({k: v.astype(np.float64) for k, v in value.items() if _arrays(v)})
    forward, backward = ns[problem["forward"]], ns[problem["backward"]]
    taken = _upstream_outputs(problem)
    upstream: dict[int, np.ndarray] = {}

    def call(p):
        values = {}
        for name, value in given.items():
            if name in p:
                values[name] = p[name].copy()
            elif isinstance(value, dict):
                values[name] = {k: p[k].copy() if k in p else fresh(v) for k, v in value.items()}
            else:
                values[name] = fresh(value)
        out = forward(**values) if kwargs else forward(*(values[n] for n in names[: len(args)]))
        outs = list(out) if isinstance(out, tuple) else [out]
        for index in taken(len(outs)):
            if index not in upstream:
                rng = np.random.default_rng(index)
                upstream[index] = rng.normal(size=np.shape(outs[index]))
        return outs

    def loss(p):
        outs = call(p)
        return float(sum(np.sum(outs[i] * upstream[i]) for i in taken(len(outs))))

    def grads(p):
        outs = call(p)
        back = backward(*(fresh(upstream[i]) for i in taken(len(outs))), outs[-1])
        return {
            target: value
            for name, value in _flatten(back)
            if _arrays(value)
            for target in _grad_of(str(name))[1:2]
            if target in p and p[target].shape == value.shape
        }

    def complete(p: dict) -> dict:
        return {**start, **p}

    returned = grads(start)
    if not returned:
        raise NoBinding(f"{problem['backward']} returns no gradient named after an input")
    chosen = {k: start[k] for k in returned}
    where = f"line {site['line']}"
    how = f"the arguments of its own call of {problem['forward']} ({where})"
    yield (lambda p: loss(complete(p))), (lambda p: grads(complete(p))), chosen, how


def _upstream_outputs(problem: dict):
    """Which of the forward's outputs the backward takes gradients of: ``da_next`` for
    ``a_next`` by name, else the leading ones; the last output is the cache."""
    wanted = problem.get("backward_args", [])[:-1]
    returns = [r if isinstance(r, str) else None for r in problem.get("forward_returns", [])]

    def indices(count: int) -> list[int]:
        by_name = [
            returns.index(_grad_of(w)[1])
            for w in wanted
            if _grad_of(w)[1:2] and _grad_of(w)[1] in returns[: count - 1]
        ]
        if len(by_name) == len(wanted):
            return by_name
        return list(range(min(len(wanted), count - 1)))

    return indices


def _layer_functions(forward, backward, names: list[str]):
    """Loss: the outputs weighted by fixed random upstream gradients, which backward then takes."""
    upstream: dict[int, np.ndarray] = {}

    def outputs(p):
        out = forward(*(p[n].copy() for n in names))
        outs = list(out) if isinstance(out, tuple) else [out]
        return outs[:-1], outs[-1]

    def loss(p):
        values, _ = outputs(p)
        total = 0.0
        for index, value in enumerate(values):
            if index not in upstream:
                upstream[index] = np.random.default_rng(index).normal(size=np.shape(value))
            total += float(np.sum(value * upstream[index]))
        return total

    def grads(p):
        values, cache = outputs(p)
        if len(upstream) < len(values):
            loss(p)
        result = backward(*(fresh(upstream[i]) for i in range(len(values))), cache)
        items = list(result) if isinstance(result, tuple) else [result]
        if len(items) != len(names):
            raise NoBinding("the backward returns a different number of gradients")
        return dict(zip(names, items, strict=True))

    return loss, grads


def klass(problem: dict, ns: dict, rng) -> Iterator[Check]:
    """A model class: made, called and read by ``objects``."""
    from lstmlint.harness import objects

    return objects.klass(problem, ns, rng)


SHAPES = {"lossfun": lossfun, "pair": pair, "layer": layer, "class": klass}

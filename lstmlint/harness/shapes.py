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


def _arrays(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _assign(params_names: list[str], grads: list[tuple[str | None, Any]], params: dict) -> dict:
    """Map returned gradients to parameters by their names (``dW`` -> ``W``, ``W_d`` -> ``W``,
    a dict keyed like the parameters); by shape only where one parameter has that shape."""
    mapped: dict[str, np.ndarray] = {}
    left = []
    for name, value in grads:
        if not isinstance(value, np.ndarray):
            continue
        candidates = [p for p in _grad_of(name) if p in params] if name else []
        target = next((p for p in candidates if p not in mapped), None)
        if target is not None and params[target].shape == value.shape:
            mapped[target] = value
        else:
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
    for values, how in _inputs(start, sizes, rng):

        def run(p, values=values):
            if made is None:
                ns.update({n: v.copy() for n, v in p.items()})
                return _call(func, problem["args"], values, _defaults(func))
            given = {**values, "params": _rebuild(made, names, p)}
            return _call(func, problem["args"], given, _defaults(func))

        yield (
            _seeded(lambda p, run=run: _finite(_first(run(p)))),
            _seeded(lambda p, run=run: _mapped(run(p)[1:], problem["returns"][1:], names, p)),
            start,
            how,
        )


def _module_sizes(ns: dict) -> dict[str, int]:
    """The module's own size constants (``hidden_size = 100``, ``vocab_size = len(chars)``):
    with stacked gate matrices the commonest leading dimension is 4H, not H."""
    return {
        name: value
        for name, value in ns.items()
        if type(value) is int and value > 0 and _size_kind(name) in ("hidden", "input", "output")
    }


def _initialise(problem: dict, ns: dict) -> tuple[Any, list[str], dict, dict]:
    """Call the user's initialiser with small sizes: what it made, the parameter names, float64
    copies of the parameters, and the size arguments."""
    init = ns[problem["init"]]
    sizes = _size_arguments(problem["init_args"], ns)
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
    else:
        raise NoBinding("the initialiser returns neither a tuple nor a dict of arrays")
    start = {k: np.array(made[k], dtype=np.float64) for k in keys}
    return made, keys, start, sizes


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


def _size_arguments(names: list[str], ns: dict) -> dict[str, Any]:
    """Arguments for an initialiser: the module's own size constants where it has them."""
    chosen: dict[str, Any] = {}
    kinds = {name: _size_kind(name) for name in names}
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


def _constructions(problem: dict, ns: dict) -> Iterator[tuple[dict, dict, str]]:
    """Arguments for the class's initialiser, the sizes they imply, and how they were made:
    sizes by argument names; random arrays for the weights it requires (``RNN(Wx, Wh, b)``),
    for each number of stacked gate blocks and either layout."""
    kwargs = _size_arguments(problem["init_args"], ns)
    try:
        signature = inspect.signature(ns[problem["class"]])
    except (TypeError, ValueError):
        signature = None
    wanted = [
        name
        for name, param in (signature.parameters.items() if signature else ())
        if param.default is param.empty
        and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
        and name not in kwargs
    ]
    # dimensions named otherwise (`CifgLSTM(M, N)`): distinct sizes, read back off the arrays
    dimensions = [n for n in wanted if n in problem.get("init_sizes", ())]
    kwargs |= dict(zip(dimensions, UNNAMED_SIZES, strict=False))
    # training settings an initialiser may require (`RNN(vocab_size, hidden_size, seq_length,
    # learning_rate)`): a few steps, a small batch, a small rate
    kwargs |= {n: SETTINGS[k] for n in wanted for k in SETTINGS if re.search(k, n, re.I)}
    wanted = [n for n in wanted if n not in kwargs]
    activations = [n for n in wanted if ACTIVATION_ARGUMENT.search(n)]
    if activations:  # `RNN(n_neurons, Activation)`: the module's own tanh layer, made or not
        for layer in [ns[n] for n in problem.get("init_layers", []) if n in ns][:1]:
            for given, how in ((layer(), "a Tanh object"), (layer, "the Tanh class")):
                made = kwargs | dict.fromkeys(activations, given)
                yield made, kwargs, f"given {how}: "
        return
    if not wanted or any(_weight_shape(n, 1, False) is None for n in wanted):
        yield kwargs, kwargs, ""
        return
    sizes = {"size:input": INPUT, "size:hidden": HIDDEN}
    for gates, columns in itertools.product((4, 1, 3), (False, True)):
        rng = np.random.default_rng(1)
        arrays = {n: rng.normal(size=_weight_shape(n, gates, columns)) * 0.5 for n in wanted}
        layout = "W @ x" if columns else "x @ W"
        yield kwargs | arrays, kwargs | sizes, f"its weights made, {gates} gate blocks, {layout}: "


SETTINGS = {
    r"^(seq|sequence|time)_?(len|length|steps?)$|^t$|^steps$|bptt": STEPS_T,
    r"^batch_?size$": BATCH,
    r"^(learn(ing)?_?rate|lr)$": 0.01,
}
ACTIVATION_ARGUMENT = re.compile(r"activation|nonlin", re.IGNORECASE)

# The made-up output gradient is small: a backward that clips its gradients inline
# (`np.clip(d, -1, 1, out=d)`) must not clip what the check compares. Relative errors do
# not depend on the scale.
UPSTREAM_SCALE = 1e-3

UNNAMED_SIZES = (INPUT, HIDDEN, OUTPUT + 4, 7)


class _Listed:
    """Parameters kept in a list attribute (``self.params = [Wx, Wh, b]``), named after the
    initialiser's arguments they were given as; their gradients are the arrays of another
    list attribute with the same shapes (``self.grads``)."""

    def __init__(self, obj, kept: list, names: list[str]) -> None:
        self.obj, self.kept, self.names = obj, kept, names

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        return zip(self.names, self.kept, strict=True)

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self.kept[self.names.index(name)] = value

    def _gradient_list(self) -> list | None:
        shapes = [np.shape(v) for v in self.kept]
        return next(
            (
                v
                for v in vars(self.obj).values()
                if isinstance(v, list)
                and v is not self.kept
                and all(_arrays(a) for a in v)
                and [np.shape(a) for a in v] == shapes
            ),
            None,
        )

    def gradients(self) -> dict[str, np.ndarray]:
        found = self._gradient_list()
        return {} if found is None else dict(zip(self.names, found, strict=True))

    def zero(self) -> None:
        for value in self._gradient_list() or ():
            value[...] = 0.0


def _holder(obj, kwargs: dict):
    """Where the object keeps its parameters: a dict of arrays, a list of the arrays it was
    given (``_Listed``), or None (they are its array attributes)."""
    for value in vars(obj).values():
        if isinstance(value, dict) and value and all(_arrays(a) for a in value.values()):
            return value
    given = {id(v): n for n, v in kwargs.items() if _arrays(v)}
    for value in vars(obj).values():
        if isinstance(value, list) and value and all(id(a) in given for a in value):
            return _Listed(obj, value, [given[id(a)] for a in value])
    return None


def _constructed(problem: dict, ns: dict, kwargs: dict):
    """The class made with ``kwargs``; where it holds its parameters (``_holder``), float64
    copies of them, and a function that puts parameters back on it."""
    cls = ns[problem["class"]]
    np.random.seed(0)
    obj = cls(**kwargs)
    holder = _holder(obj, kwargs)
    if holder is not None:
        start = {k: np.array(v, dtype=np.float64) for k, v in holder.items()}
    else:
        arrays = {k for k, v in vars(obj).items() if _arrays(v)}
        # `self.dWzh`, kept beside `self.Wzh`, is where the backward leaves its gradient
        kept = {
            k
            for k in arrays
            if not any(g in arrays for g in _grad_of(k)[1:]) and _optimiser_state(k) not in arrays
        }
        start = {k: np.array(v, dtype=np.float64) for k, v in vars(obj).items() if k in kept}
    if not start:
        raise NoBinding("no parameter arrays on the object")

    def place(p):
        for k, v in p.items():
            if holder is not None:
                holder[k] = v.copy()
            else:
                setattr(obj, k, v.copy())

    return obj, holder, start, place


def klass(problem: dict, ns: dict, rng) -> Iterator[Check]:
    for kwargs, sizes, made in _constructions(problem, ns):
        for loss, grads, start, how in _klass(problem, ns, rng, kwargs, sizes):
            yield loss, grads, start, made + how


def _klass(problem: dict, ns: dict, rng, kwargs: dict, sizes: dict) -> Iterator[Check]:
    obj, holder, start, place = _constructed(problem, ns, kwargs)
    kwargs = sizes
    if problem.get("method"):
        yield from _loss_and_grads_method(problem, obj, start, place, kwargs, rng)
        return
    loss_method = getattr(obj, problem["loss_method"]) if problem["loss_method"] else None
    forward = getattr(obj, problem.get("forward_method", "forward"))
    backward = getattr(obj, problem.get("backward_method", "backward"))
    # a loss method of the inputs and targets (wildml's calculate_loss(x, y)) runs its own
    # forward; one of the outputs and targets is given the forward's output
    loss_args = problem.get("loss_args", [])
    from_inputs = bool(loss_args) and _role(loss_args[0]) == "inputs"
    # wildml's calculate_total_loss(X, Y) sums over a batch of sentences; bptt takes one
    batched = from_inputs and "total" in problem["loss_method"].lower()
    # `loss(self, target_index)` of what the forward kept on the object
    kept_loss = loss_method is not None and [_role(n) for n in _arguments(loss_method)] == [
        "targets"
    ]
    for values, how in _inputs(start, kwargs, rng):

        def run(p, values=values, rate=1.0):
            place(p)
            out = _call(forward, problem["forward_args"], values)
            loss = _scalar(out)
            if loss is None and loss_method is not None:
                if batched:
                    one = {**values, "inputs": [values["inputs"]], "targets": [values["targets"]]}
                    loss = _scalar(_call(loss_method, loss_args, one))
                elif from_inputs:
                    loss = _scalar(_call(loss_method, loss_args, values))
                elif kept_loss:
                    loss = _scalar(loss_method(fresh(values["targets"])))  # of what it kept
                else:
                    loss = _scalar(loss_method(fresh(out), fresh(values["targets"])))
            given = {**values, "out": out, **_at_rate(obj, problem["backward_args"], rate)}
            for name in problem["backward_args"]:
                if _role(name) not in given:
                    given[name] = out
            back = _call(backward, problem["backward_args"], given)
            return loss, back

        def grads(p, run=run):
            return _gradients_after(obj, holder, p, lambda rate: run(p, rate=rate)[1])

        yield _seeded(lambda p, run=run: _finite(run(p)[0])), _seeded(grads), start, how
    if problem["backward_args"] and loss_method is None:
        for form in CELL_FORMS:
            yield from _cell(problem, obj, holder, place, start, kwargs, form)


# (batch size, steps, output gradient as a row, inputs as a list of columns): the forms a
# cell or a layer is tried on. A batch of STEPS_T first: a layer that takes a (T, D) sequence
# as its input is then checked over several steps, not one
CELL_FORMS = ((None, None, False, False), (None, None, True, False), (STEPS_T, None, False, False))
CELL_FORMS += (
    (1, None, False, False),
    (BATCH, STEPS_T, False, False),
    (STEPS_T, None, False, True),
)

OPTIMISER_STATE = re.compile(
    r"^(?:m|v|mem|cache)_?(?P<a>.+)$|^(?P<b>.+?)_(?:m|v|mem|cache|momentums?|velocity)$"
)


def _optimiser_state(name: str) -> str | None:
    """The parameter an optimiser's state array is named after (Adagrad's ``self.mWxh`` for
    ``self.Wxh``, ``Wh_momentums``), or None: such arrays are not parameters."""
    found = OPTIMISER_STATE.match(name)
    return (found.group("a") or found.group("b")) if found else None


def _loss_and_grads_method(problem: dict, obj, start, place, kwargs, rng) -> Iterator[Check]:
    """``obj.lossFun(inputs, targets, hprev)`` -> (loss, dW..., ...): the returned gradients
    are matched to the object's parameters by name."""
    method = getattr(obj, problem["method"])
    for values, how in _inputs(start, kwargs, rng):

        def run(p, values=values):
            place(p)
            return _call(method, problem["args"], values, _defaults(method))

        yield (
            _seeded(lambda p, run=run: _finite(_first(run(p)))),
            _seeded(lambda p, run=run: _mapped(run(p)[1:], problem["returns"][1:], list(p), p)),
            start,
            how,
        )


def _object_gradients(obj, holder, back, p: dict) -> dict:
    """The gradients a backward left on its object (``self.dW`` beside ``self.W``), then those
    it returned, matched to the parameters by name."""
    mapped = {}
    if isinstance(holder, _Listed):
        mapped.update(holder.gradients())
    elif holder is None:
        attributes = vars(obj)
        for name in p:
            for spelled in (f"d{name}", f"d_{name}", f"grad_{name}", f"{name}_grad"):
                value = attributes.get(spelled)
                if _arrays(value) and _same_vector(value.shape, p[name].shape):
                    mapped[name] = np.array(value, dtype=np.float64).reshape(p[name].shape)
                    break
    left = {k: v for k, v in p.items() if k not in mapped}
    if left:
        mapped.update(
            _by_parameter_order(obj, back, left) or _assign(list(left), _flatten(back), left)
        )
    _complete(mapped, p)
    return mapped


PARAMETER_LISTING = re.compile(r"(get_?)?(params|parameters|weights)", re.IGNORECASE)


def _by_parameter_order(obj, back, p: dict) -> dict | None:
    """Gradients returned as one list in the order the object lists its parameters
    (``return dx, [dWz, dWi, ...]`` beside ``get_params()`` -> ``(self.Wz, self.Wi, ...)``)."""
    if not isinstance(back, (tuple, list)):
        return None
    lists = [v for v in back if isinstance(v, (tuple, list)) and len(v) == len(p)]
    for name in (n for n in dir(type(obj)) if PARAMETER_LISTING.fullmatch(n)):
        listed = getattr(obj, name)
        listed = listed() if callable(listed) and not _defaults(listed) else listed
        if not isinstance(listed, (tuple, list)) or len(listed) != len(p):
            continue
        names = [next((k for k in p if vars(obj).get(k) is a), None) for a in listed]
        for grads in lists:
            if None not in names and all(
                _arrays(g) and g.shape == p[n].shape for n, g in zip(names, grads, strict=True)
            ):
                return dict(zip(names, grads, strict=True))
    return None


LEARNING_RATE = re.compile(r"learn(ing)?_?rate|lr|eta|alpha|step_?size", re.IGNORECASE)


def _gradient_name(name: str) -> bool:
    low = name.lower()
    return bool(_grad_of(name)[1:]) or "delta" in low or "grad" in low


def _at_rate(obj, names: list[str], rate: float) -> dict[str, float]:
    """Set the object's learning rate (``self.learning_rate``) to ``rate``; the arguments
    that take one (``backprop(d_y, learn_rate)``), with ``rate``."""
    for key, value in list(vars(obj).items()):
        if LEARNING_RATE.fullmatch(key) and isinstance(value, float):
            setattr(obj, key, rate)
    return {name: rate for name in names if LEARNING_RATE.fullmatch(name)}


def _moved(obj, holder, p: dict) -> dict[str, np.ndarray]:
    """How far each parameter moved from the values placed on the object (``p``)."""
    now = dict(holder.items()) if holder is not None else vars(obj)
    moved = {k: p[k] - np.asarray(now[k], dtype=np.float64) for k in p if _arrays(now.get(k))}
    return moved if any(np.any(m != 0) for m in moved.values()) else {}


def _gradients_after(obj, holder, p: dict, call) -> dict:
    """The gradients a backward (``call(rate)``) returned or left on its object; or, for one
    that takes a plain step itself (``self.W -= learning_rate * dW``), the step it takes at a
    learning rate of one, once a rate of two is seen to take twice that step (a rate it does
    not use, or an optimiser with a state of its own, does not)."""
    back = call(1.0)
    try:
        return _object_gradients(obj, holder, back, p)
    except NoBinding:
        first = _moved(obj, holder, p)
        if not first:
            raise
    call(2.0)
    second = _moved(obj, holder, p)
    if set(second) != set(first) or any(
        not np.allclose(second[k], 2.0 * first[k], rtol=1e-6, atol=1e-12) for k in first
    ):
        raise NoBinding("the backward changes its parameters by more than a plain step")
    _complete(first, p)
    return first


def _same_vector(shape: tuple, wanted: tuple) -> bool:
    """The shape of the parameter, or the same values with axes of one added or dropped (a
    bias of shape (h,) whose gradient is kept as a (1, h) row)."""
    return [n for n in shape if n != 1] == [n for n in wanted if n != 1]


def _cell(
    problem: dict, obj, holder, place, start: dict, kwargs: dict, form: tuple
) -> Iterator[Check]:
    """One step of a recurrent cell, ``forward(x, h)`` -> ``h_next`` (or ``(h_next, c_next)``)
    and ``backward(delta, ...)``, or a layer over a whole batch of sequences (``forward(xs)``
    -> ``hs``): random vectors, a batch of them or a (N, T, D) batch (``form``: batch size,
    steps, whether the output gradient is a row), of the sizes given to its initialiser, and a
    loss that weights each output by a fixed random upstream gradient, which the backward is
    given first, one for each output; its other arguments are the step's own input, state and
    output, by name (``h_prev_l``, the layer below's output, is the input)."""
    batch, steps, row, listed = form
    sizes = {_size_kind(n): v for n, v in kwargs.items() if isinstance(v, int)}
    # sizes not named in the initialiser are read off the parameters
    hidden, others, _ = _sizes(start, sizes.get("hidden"))
    rng = np.random.default_rng(2)
    lead = tuple(n for n in (batch, steps) if n is not None)
    values = {}
    for name in problem["forward_args"]:
        role = _role(name)
        if role == "inputs":
            values[name] = rng.normal(size=(*lead, sizes.get("input", others[0])))
            if listed:  # a list of column vectors, one a step
                values[name] = [v.reshape(-1, 1) for v in values[name]]
        elif role in ("h0", "c0") and steps is None:
            values[name] = rng.normal(size=(*lead, hidden))
        else:
            return
    by_role = {_role(n): v for n, v in values.items()}
    forward = getattr(obj, problem.get("forward_method", "forward"))
    backward = getattr(obj, problem.get("backward_method", "backward"))
    upstream: list[np.ndarray] = []

    saved: list = []  # what the forward returns after its outputs: the backward's cache

    def out(p) -> list[np.ndarray]:
        place(p)
        value = forward(*(fresh(values[n]) for n in problem["forward_args"]))
        outputs = list(value) if isinstance(value, tuple) else [value]
        saved[:] = outputs[-1:] if len(outputs) > 1 and not _arrays(outputs[-1]) else []
        outputs = outputs[: len(outputs) - len(saved)]
        if not all(_arrays(o) for o in outputs):
            raise NoBinding("the forward returns more than arrays")
        if any(o.dtype.itemsize < 8 for o in outputs):
            # differences of float32 values are rounding noise: correct code would fail
            raise NoBinding(f"the forward computes in {outputs[0].dtype}, not float64")
        if not upstream:
            draws = np.random.default_rng(3)
            upstream.extend(draws.normal(size=o.shape) * UPSTREAM_SCALE for o in outputs)
        return outputs

    names = [n for n in problem["backward_args"] if not LEARNING_RATE.fullmatch(n)]
    # the outputs the backward takes a gradient for: one for each leading gradient argument
    # (`backward(dh_next, dc_next)`; `backprop(d_y)` of a forward returning `(y, h)`)
    wanted = len(list(itertools.takewhile(_gradient_name, names))) or 1

    def loss(p):
        outputs = out(p)[:wanted]
        return float(sum(np.sum(o * u) for o, u in zip(outputs, upstream, strict=False)))

    def deltas(taken: int) -> list[np.ndarray]:  # `row`: the output gradient as a (1, n) row
        return [fresh(u).reshape(1, -1) if row else fresh(u) for u in upstream[:taken]]

    def call(p, rate: float):
        outputs = out(p)
        taken = min(wanted, len(outputs))
        rest = names[taken:]
        if saved and rest:  # `backward(delta, cache)` after `return y, cache`
            rest = rest[:-1]
        sources = _backward_sources(rest, values)
        if sources is None or (taken > 1 and row):
            raise NoBinding("the backward's arguments cannot be told apart")
        sources |= {names[-1]: "saved"} if saved else {}
        by_role_out = {**by_role, "out": outputs[0], "saved": saved[0] if saved else None}
        given = {n: by_role_out[where] for n, where in sources.items()}
        _zero_gradients(obj, holder, p)
        args = [*deltas(taken), *(fresh(given[n]) for n in names[taken:])]
        return backward(*args, **_at_rate(obj, problem["backward_args"], rate))

    def grads(p):
        return _gradients_after(obj, holder, p, lambda rate: call(p, rate))

    shape = "one vector" if batch is None else f"a batch of {batch}"
    shape = f"a ({batch}, {steps}, D) batch of sequences" if steps else shape
    shape += ", its gradient as a row" if row else ""
    shape = f"a sequence of {batch} column vectors" if listed else shape
    what = "the layer" if steps or listed else "one step of the cell"
    yield (
        _rows(_seeded(loss), lead[0] if lead else 1),
        _seeded(grads),
        start,
        f"{what} on {shape}",
    )


def _backward_sources(names: list[str], values: dict) -> dict[str, str] | None:
    """Where each argument of a cell's backward after the output gradient comes from: the
    step's input (``x``, ``h_prev_l``, the layer below), its incoming state (``h_prev_t``), or
    its output (``h_t``, ``out``). None when a name could mean two of them (``h`` in
    ``backward(delta, h, ...)`` beside ``forward(x, h)``): no guess is made."""
    sources = {}
    for name in names:
        low, role = name.lower(), _role(name)
        if "prev_l" in low or role == "inputs":
            sources[name] = "inputs"
        elif "prev_t" in low or (role in ("h0", "c0") and "prev" in low):
            sources[name] = role if role in ("h0", "c0") else "h0"
        elif name in values:
            return None
        elif role in ("h0", "c0") or re.fullmatch(r"out(put)?|y|h_?(t|next)|next_?h", low):
            sources[name] = "out"
        else:
            return None
    return sources


def _zero_gradients(obj, holder, p: dict) -> None:
    """Gradients the backward adds to (``self.dW += ...``) start from zero at every call."""
    if isinstance(holder, _Listed):
        holder.zero()
    if holder is not None:
        return
    attributes = vars(obj)
    for name in p:
        for spelled in (f"d{name}", f"d_{name}", f"grad_{name}", f"{name}_grad"):
            if _arrays(attributes.get(spelled)):
                setattr(obj, spelled, np.zeros_like(attributes[spelled]))


SHAPES = {"lossfun": lossfun, "pair": pair, "layer": layer, "class": klass}

"""Checking a model class (see ``shapes`` for the inputs): how it is made (``_constructions``:
sizes, weights, training settings, an activation layer), how it is called (its own loss
method, or one step of a cell or a layer with made-up output gradients), and where its
gradients are read (``_gradients_after``: returned, left on the object, kept in a list beside
its parameters, or the SGD step a backward takes itself)."""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Iterator

import numpy as np

from lstmlint.harness.plan import role as _role
from lstmlint.harness.shapes import (
    BATCH,
    HIDDEN,
    INPUT,
    OUTPUT,
    STEPS_T,
    Check,
    NoBinding,
    _arguments,
    _arrays,
    _assign,
    _call,
    _complete,
    _defaults,
    _finite,
    _first,
    _flatten,
    _grad_of,
    _inputs,
    _mapped,
    _rows,
    _scalar,
    _seeded,
    _size_arguments,
    _size_kind,
    _sizes,
    _weight_shape,
    fresh,
    gradient_name,
    same_vector,
)


def _constructions(problem: dict, ns: dict) -> Iterator[tuple[dict, dict, str]]:
    """Arguments for the class's initialiser, the sizes they imply, and how they were made:
    sizes by argument names; random arrays for the weights it requires (``RNN(Wx, Wh, b)``),
    for each number of stacked gate blocks and either layout."""
    kwargs = _size_arguments(problem["init_args"], ns, ns.get(problem["class"]))
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
                if _arrays(value) and same_vector(value.shape, p[name].shape):
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
        if value is None:  # `self.output = ...`: the forward keeps what it computes
            value = _kept_output(obj)
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
    wanted = len(list(itertools.takewhile(gradient_name, names))) or 1

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


KEPT_OUTPUT = re.compile(r"y_?hat|y_?pred|outputs?|preds?|predictions?", re.IGNORECASE)


def _kept_output(obj) -> np.ndarray | None:
    """What a forward that returns nothing kept as its output (``self.output``,
    ``self.Y_hat``): the one array attribute named like an output."""
    kept = [v for k, v in vars(obj).items() if KEPT_OUTPUT.fullmatch(k) and _arrays(v)]
    return kept[0] if len(kept) == 1 else None


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

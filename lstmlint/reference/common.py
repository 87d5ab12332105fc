"""What the three reference models share: activations, the loss, initialisation, and slots.

A slot is a named place in a backward pass where hand-written code often goes wrong. The
reference backward asks ``resolve_slot`` for the value there; with no hook it gets the correct
value, and with a hook it gets whatever a (possibly buggy) user formula computes from a
``StepView`` of the step. That is how a suspected bug is replayed inside a known-good backward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

Params = dict[str, np.ndarray]
LossTerm = Callable[[np.ndarray, np.ndarray], float]


class SlotError(ValueError):
    """A hook is unknown, raised an exception, or returned a value of an unusable shape."""


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function; exp is only taken of -|a| so it never overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(v: np.ndarray) -> np.ndarray:
    """Softmax of a column; shifting by the max changes nothing mathematically but avoids overflow."""
    e = np.exp(v - np.max(v))
    return e / np.sum(e)


def cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """``-sum(y * log(p))`` summed (not averaged), matching the ``p - y`` logit gradient.

    Only the entries where ``y`` is non-zero are summed, so a probability that underflowed to 0
    elsewhere cannot turn the result into ``0 * -inf = nan``.
    """
    mask = y != 0
    return float(-np.sum(y[mask] * np.log(p[mask])))


def one_hot(index: int, size: int) -> np.ndarray:
    """A (size, 1) float64 column with a 1 at ``index``."""
    if not 0 <= index < size:
        raise ValueError(f"token index {index} is outside the vocabulary of size {size}")
    column = np.zeros((size, 1))
    column[index, 0] = 1.0
    return column


def normal_params(shapes: Mapping[str, tuple[int, int]], seed: int, scale: float) -> Params:
    """Independent N(0, scale^2) entries; a modest scale keeps the gates away from saturation,
    where finite differences of a sigmoid would be uninformative."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) * scale for name, shape in shapes.items()}


def as_float64(params: Mapping[str, np.ndarray]) -> Params:
    """Float64 views of the parameters (copies only when the dtype differs); never written to."""
    return {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}


def initial_state(value: np.ndarray | None, hidden: int, what: str) -> np.ndarray:
    """An initial h or c as a float64 (hidden, 1) column; ``None`` means zeros."""
    if value is None:
        return np.zeros((hidden, 1))
    state = np.asarray(value, dtype=np.float64)
    if state.size != hidden:
        raise ValueError(f"{what} has {state.size} entries, the hidden size is {hidden}")
    return state.reshape(hidden, 1)


def check_targets(inputs: list[int], targets: list[int]) -> None:
    if len(inputs) != len(targets):
        raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")


@dataclass(kw_only=True)
class StepView:
    """Everything a hook may look at for step ``t`` of the backward pass (read-only by contract).

    Per-step values are (n, 1) columns. Histories are lists indexed by step: ``hs[t]`` is h_t,
    ``cs[t]`` is c_t, and the initial states are the separate ``h0``/``c0`` (so ``hs[t - 1]``
    at t == 0 wraps around, exactly like the off-by-one bug it is used to replay).

    ``z`` is the LSTM's concatenation [h_{t-1}; x_t]; for the GRU, which has no concatenation,
    it is the update gate. Fields a model does not have stay None, and the gradient fields
    (``dy``, ``dh``, ``dc``, ``dpre``, ``dconcat``) stay None until the backward reaches them,
    so a slot sees only what precedes it (SLOTS lists the slots in execution order).
    """

    t: int
    T: int
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    h: np.ndarray
    h_prev: np.ndarray
    dh_next: np.ndarray
    # histories, shared with the cache (not copied)
    xs: list[np.ndarray]
    hs: list[np.ndarray]
    ps: list[np.ndarray]
    h0: np.ndarray
    targets: list[int]
    # LSTM
    z: np.ndarray | None = None
    c: np.ndarray | None = None
    c_prev: np.ndarray | None = None
    dc_next: np.ndarray | None = None
    f: np.ndarray | None = None
    i: np.ndarray | None = None
    g: np.ndarray | None = None
    o: np.ndarray | None = None
    a_f: np.ndarray | None = None
    a_i: np.ndarray | None = None
    a_g: np.ndarray | None = None
    a_o: np.ndarray | None = None
    cs: list[np.ndarray] | None = None
    fs: list[np.ndarray] | None = None
    is_: list[np.ndarray] | None = None
    gs: list[np.ndarray] | None = None
    os_: list[np.ndarray] | None = None
    c0: np.ndarray | None = None
    # GRU (z above is the update gate); un = U_n h_{t-1}, the term the reset gate scales
    r: np.ndarray | None = None
    n: np.ndarray | None = None
    a_z: np.ndarray | None = None
    a_r: np.ndarray | None = None
    a_n: np.ndarray | None = None
    un: np.ndarray | None = None
    zs: list[np.ndarray] | None = None
    rs: list[np.ndarray] | None = None
    ns: list[np.ndarray] | None = None
    # vanilla RNN pre-activation
    a_h: np.ndarray | None = None
    # gradients, filled in as the step proceeds
    dy: np.ndarray | None = None
    dh: np.ndarray | None = None
    dc: np.ndarray | None = None
    dpre: dict[str, np.ndarray] = field(default_factory=dict)
    dconcat: np.ndarray | None = None
    # the model's parameters, for hooks that replay a product with a weight
    weights: dict[str, np.ndarray] = field(default_factory=dict)


Hook = Callable[[StepView], np.ndarray]


def check_hooks(hooks: Mapping[str, Hook] | None, slots: Iterable[str]) -> None:
    """Reject unknown slot names up front: a typo would otherwise silently test nothing."""
    if not hooks:
        return
    known = list(slots)
    unknown = sorted(set(hooks) - set(known))
    if unknown:
        raise SlotError(f"unknown slot(s) {', '.join(unknown)}; known: {', '.join(known)}")


OVERWRITE = "a flag: when set, the weight gradients keep only the latest step's share (default: the sum over steps)"


def keep_only_this_step(
    hooks: Mapping[str, Hook] | None, view: StepView, grads: dict[str, np.ndarray]
) -> None:
    """With the ``overwrite`` hook set, forget what earlier steps added to the weight
    gradients, as code that assigns them at every step instead of adding to them."""
    if hooks and "overwrite" in hooks and np.all(hooks["overwrite"](view)):
        for value in grads.values():
            value[...] = 0.0


def resolve_slot(
    hooks: Mapping[str, Hook] | None, name: str, view: StepView, default: np.ndarray
) -> np.ndarray:
    """The hook's value for slot ``name`` if one is given, otherwise ``default``.

    The value is broadcast to the default's shape, so a scalar or a (1, n) row works, but a value
    that would silently change the shape of a gradient is refused with a SlotError.
    """
    if not hooks or name not in hooks:
        return default
    try:
        value = np.asarray(hooks[name](view), dtype=np.float64)
    except Exception as exc:  # any failure of user code is reported as a slot failure
        raise SlotError(f"slot {name!r}: the hook raised {type(exc).__name__}: {exc}") from exc
    try:
        return np.array(np.broadcast_to(value, default.shape))
    except ValueError:
        raise SlotError(
            f"slot {name!r}: the hook returned shape {value.shape}, "
            f"which does not broadcast to {default.shape}"
        ) from None

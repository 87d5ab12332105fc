"""Reference vanilla (Elman) RNN with a tanh state, softmax readout and a slotted BPTT backward."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from lstmlint.reference.common import (
    OVERWRITE,
    Hook,
    LossTerm,
    Params,
    StepView,
    as_float64,
    check_hooks,
    check_targets,
    cross_entropy,
    initial_state,
    keep_only_this_step,
    normal_params,
    one_hot,
    resolve_slot,
    softmax,
)

# In the order the backward consults them.
SLOTS: dict[str, str] = {
    "overwrite": OVERWRITE,
    "dy": "output-logit gradient (default p - y)",
    "h_readout": "the h in dW_y += dy h^T (default h_t)",
    "dfactor_h": "tanh derivative factor (default 1 - h_t**2)",
    "h_prev_whh": "the h in dW_hh += dhraw h^T (default h_{t-1})",
    "carry_h": "dh_next handed to step t-1 (default W_hh^T dhraw)",
}


@dataclass
class Cache:
    """Every per-step forward value, as lists indexed by step t = 0..T-1."""

    inputs: list[int]
    h0: np.ndarray
    xs: list[np.ndarray] = field(default_factory=list)
    a_h: list[np.ndarray] = field(default_factory=list)
    hs: list[np.ndarray] = field(default_factory=list)
    ps: list[np.ndarray] = field(default_factory=list)


def init_params(input_size: int, hidden: int, seed: int, scale: float = 0.5) -> Params:
    """W_xh (hidden x input), W_hh (hidden x hidden), b_h, then W_y, b_y."""
    shapes = {
        "W_xh": (hidden, input_size),
        "W_hh": (hidden, hidden),
        "b_h": (hidden, 1),
        "W_y": (input_size, hidden),
        "b_y": (input_size, 1),
    }
    return normal_params(shapes, seed, scale)


def forward(
    params: Mapping[str, np.ndarray],
    inputs: list[int],
    h0: np.ndarray | None,
    c0: np.ndarray | None = None,
) -> Cache:
    """Run the sequence; ``h0`` of None means zeros. ``c0`` is accepted and ignored (no cell)."""
    P = as_float64(params)
    vocab, hidden = P["W_y"].shape
    h = initial_state(h0, hidden, "h0")
    cache = Cache(inputs=list(inputs), h0=h)
    for token in inputs:
        x = one_hot(token, vocab)
        a_h = P["W_xh"] @ x + P["W_hh"] @ h + P["b_h"]
        h = np.tanh(a_h)
        cache.xs.append(x)
        cache.a_h.append(a_h)
        cache.hs.append(h)
        cache.ps.append(softmax(P["W_y"] @ h + P["b_y"]))
    return cache


def loss(
    params: Mapping[str, np.ndarray],
    inputs: list[int],
    targets: list[int],
    h0: np.ndarray | None,
    c0: np.ndarray | None = None,
    loss_term: LossTerm | None = None,
) -> float:
    """Sum over steps of ``loss_term(p_t, y_t)`` (default cross-entropy)."""
    check_targets(inputs, targets)
    term = loss_term or cross_entropy
    cache = forward(params, inputs, h0)
    vocab = cache.ps[0].shape[0] if cache.ps else 0
    return float(sum(term(p, one_hot(y, vocab)) for p, y in zip(cache.ps, targets, strict=True)))


def backward(
    params: Mapping[str, np.ndarray],
    cache: Cache,
    targets: list[int],
    hooks: Mapping[str, Hook] | None = None,
) -> Params:
    """BPTT from t = T-1 down to 0; gradients have the same keys and shapes as ``params``."""
    check_hooks(hooks, SLOTS)
    check_targets(cache.inputs, targets)
    P = as_float64(params)
    vocab, hidden = P["W_y"].shape
    grads = {name: np.zeros_like(value) for name, value in P.items()}
    T = len(cache.inputs)
    dh_next = np.zeros((hidden, 1))
    for t in reversed(range(T)):
        h, x = cache.hs[t], cache.xs[t]
        h_prev = cache.hs[t - 1] if t > 0 else cache.h0
        y = one_hot(targets[t], vocab)
        view = StepView(
            t=t,
            weights=P,
            T=T,
            x=x,
            y=y,
            p=cache.ps[t],
            h=h,
            h_prev=h_prev,
            dh_next=dh_next,
            xs=cache.xs,
            hs=cache.hs,
            ps=cache.ps,
            h0=cache.h0,
            targets=targets,
            a_h=cache.a_h[t],
        )

        def slot(name: str, default: np.ndarray, view: StepView = view) -> np.ndarray:
            return resolve_slot(hooks, name, view, default)

        keep_only_this_step(hooks, view, grads)

        dy = view.dy = slot("dy", cache.ps[t] - y)
        grads["W_y"] += dy @ slot("h_readout", h).T
        grads["b_y"] += dy
        dh = view.dh = P["W_y"].T @ dy + dh_next

        # h = tanh(a_h): h already holds tanh's output, so the factor is 1 - h**2
        dhraw = dh * slot("dfactor_h", 1.0 - h**2)
        view.dpre = {"h": dhraw}
        grads["W_xh"] += dhraw @ x.T
        grads["W_hh"] += dhraw @ slot("h_prev_whh", h_prev).T
        grads["b_h"] += dhraw
        dh_next = slot("carry_h", P["W_hh"].T @ dhraw)
    return grads

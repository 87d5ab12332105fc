"""Reference GRU (reset gate applied after U_n h, one bias per gate), softmax readout, slotted BPTT."""

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
    sigmoid,
    softmax,
)

GATES = ("z", "r", "n")

# In the order the backward consults them.
SLOTS: dict[str, str] = {
    "overwrite": OVERWRITE,
    "dy": "output-logit gradient (default p - y)",
    "h_readout": "the h in dW_y += dy h^T (default h_t)",
    "h_prev_dz": "the h_prev in dz = dh * (h_prev - n) (default h_{t-1})",
    "dfactor_n": "candidate derivative factor (default 1 - n**2)",
    "dfactor_z": "update-gate derivative factor (default z * (1 - z))",
    "dfactor_r": "reset-gate derivative factor (default r * (1 - r))",
    "carry_h": "dh_next handed to step t-1 (default dh * z + U_z^T da_z + U_r^T da_r + U_n^T du)",
}


@dataclass
class Cache:
    """Every per-step forward value, as lists indexed by step t = 0..T-1 (``un`` = U_n h_{t-1})."""

    inputs: list[int]
    h0: np.ndarray
    xs: list[np.ndarray] = field(default_factory=list)
    a_z: list[np.ndarray] = field(default_factory=list)
    a_r: list[np.ndarray] = field(default_factory=list)
    a_n: list[np.ndarray] = field(default_factory=list)
    un: list[np.ndarray] = field(default_factory=list)
    zs: list[np.ndarray] = field(default_factory=list)
    rs: list[np.ndarray] = field(default_factory=list)
    ns: list[np.ndarray] = field(default_factory=list)
    hs: list[np.ndarray] = field(default_factory=list)
    ps: list[np.ndarray] = field(default_factory=list)


def init_params(input_size: int, hidden: int, seed: int, scale: float = 0.5) -> Params:
    """W_g (hidden x input), U_g (hidden x hidden), b_g for g in z, r, n; then W_y, b_y."""
    shapes: dict[str, tuple[int, int]] = {}
    for gate in GATES:
        shapes[f"W_{gate}"] = (hidden, input_size)
        shapes[f"U_{gate}"] = (hidden, hidden)
        shapes[f"b_{gate}"] = (hidden, 1)
    shapes["W_y"] = (input_size, hidden)
    shapes["b_y"] = (input_size, 1)
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
        a_z = P["W_z"] @ x + P["U_z"] @ h + P["b_z"]
        a_r = P["W_r"] @ x + P["U_r"] @ h + P["b_r"]
        z, r = sigmoid(a_z), sigmoid(a_r)
        un = P["U_n"] @ h
        a_n = P["W_n"] @ x + r * un + P["b_n"]
        n = np.tanh(a_n)
        h = (1.0 - z) * n + z * h
        p = softmax(P["W_y"] @ h + P["b_y"])
        cache.xs.append(x)
        cache.a_z.append(a_z)
        cache.a_r.append(a_r)
        cache.a_n.append(a_n)
        cache.un.append(un)
        cache.zs.append(z)
        cache.rs.append(r)
        cache.ns.append(n)
        cache.hs.append(h)
        cache.ps.append(p)
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
        z, r, n, h, x = cache.zs[t], cache.rs[t], cache.ns[t], cache.hs[t], cache.xs[t]
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
            z=z,
            r=r,
            n=n,
            a_z=cache.a_z[t],
            a_r=cache.a_r[t],
            a_n=cache.a_n[t],
            un=cache.un[t],
            zs=cache.zs,
            rs=cache.rs,
            ns=cache.ns,
        )

        def slot(name: str, default: np.ndarray, view: StepView = view) -> np.ndarray:
            return resolve_slot(hooks, name, view, default)

        keep_only_this_step(hooks, view, grads)

        dy = view.dy = slot("dy", cache.ps[t] - y)
        grads["W_y"] += dy @ slot("h_readout", h).T
        grads["b_y"] += dy
        dh = view.dh = P["W_y"].T @ dy + dh_next

        # h = (1 - z) * n + z * h_prev
        dn = dh * (1.0 - z)
        dz = dh * (slot("h_prev_dz", h_prev) - n)
        da_n = dn * slot("dfactor_n", 1.0 - n**2)
        da_z = dz * slot("dfactor_z", z * (1.0 - z))

        # a_n = W_n x + r * (U_n h_prev) + b_n: the reset gate scales U_n h_prev, not h_prev
        du = da_n * r
        da_r = da_n * cache.un[t] * slot("dfactor_r", r * (1.0 - r))
        view.dpre = {"z": da_z, "r": da_r, "n": da_n}

        for gate, da in (("z", da_z), ("r", da_r), ("n", da_n)):
            grads[f"W_{gate}"] += da @ x.T
            grads[f"b_{gate}"] += da
        grads["U_z"] += da_z @ h_prev.T
        grads["U_r"] += da_r @ h_prev.T
        grads["U_n"] += du @ h_prev.T

        # h_prev reaches h directly through z * h_prev and through all three matrix products
        carried = dh * z + P["U_z"].T @ da_z + P["U_r"].T @ da_r + P["U_n"].T @ du
        dh_next = slot("carry_h", carried)
    return grads

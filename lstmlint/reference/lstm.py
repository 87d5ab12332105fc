"""Reference LSTM: four gate matrices over z_t = [h_{t-1}; x_t], softmax readout, slotted BPTT."""

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

GATES = ("f", "i", "g", "o")

# In the order the backward consults them.
SLOTS: dict[str, str] = {
    "overwrite": OVERWRITE,
    "dy": "output-logit gradient (default p - y)",
    "h_readout": "the h in dW_y += dy h^T (default h_t)",
    "c_in_do": "the c inside tanh(c) in do = dh * tanh(c) (default c_t)",
    "c_in_cellpath": "the c inside the cell-path derivative (default c_t)",
    "cellpath_factor": "FACTOR in dc = dc_next + dh * o * FACTOR (default 1 - tanh(c_t)**2)",
    "c_prev_df": "the c in df = dc * c_prev (default c_{t-1})",
    "dfactor_f": "forget-gate derivative factor (default f * (1 - f))",
    "dfactor_i": "input-gate derivative factor (default i * (1 - i))",
    "dfactor_g": "candidate derivative factor (default 1 - g**2)",
    "dfactor_o": "output-gate derivative factor (default o * (1 - o))",
    "carry_h": "dh_next handed to step t-1 (default the h-part of dz)",
    "carry_c": "dc_next handed to step t-1 (default dc * f)",
}


@dataclass
class Cache:
    """Every per-step forward value, as lists indexed by step t = 0..T-1."""

    inputs: list[int]
    h0: np.ndarray
    c0: np.ndarray
    xs: list[np.ndarray] = field(default_factory=list)
    zs: list[np.ndarray] = field(default_factory=list)
    a_f: list[np.ndarray] = field(default_factory=list)
    a_i: list[np.ndarray] = field(default_factory=list)
    a_g: list[np.ndarray] = field(default_factory=list)
    a_o: list[np.ndarray] = field(default_factory=list)
    fs: list[np.ndarray] = field(default_factory=list)
    is_: list[np.ndarray] = field(default_factory=list)
    gs: list[np.ndarray] = field(default_factory=list)
    os_: list[np.ndarray] = field(default_factory=list)
    cs: list[np.ndarray] = field(default_factory=list)
    hs: list[np.ndarray] = field(default_factory=list)
    ps: list[np.ndarray] = field(default_factory=list)


def init_params(input_size: int, hidden: int, seed: int, scale: float = 0.5) -> Params:
    """W_f, b_f, W_i, b_i, W_g, b_g, W_o, b_o (W: hidden x (hidden + input)), then W_y, b_y."""
    shapes: dict[str, tuple[int, int]] = {}
    for gate in GATES:
        shapes[f"W_{gate}"] = (hidden, hidden + input_size)
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
    """Run the sequence; ``h0``/``c0`` of None mean zeros."""
    P = as_float64(params)
    vocab, hidden = P["W_y"].shape
    h = initial_state(h0, hidden, "h0")
    c = initial_state(c0, hidden, "c0")
    cache = Cache(inputs=list(inputs), h0=h, c0=c)
    for token in inputs:
        x = one_hot(token, vocab)
        z = np.vstack((h, x))
        a_f = P["W_f"] @ z + P["b_f"]
        a_i = P["W_i"] @ z + P["b_i"]
        a_g = P["W_g"] @ z + P["b_g"]
        a_o = P["W_o"] @ z + P["b_o"]
        f, i, g, o = sigmoid(a_f), sigmoid(a_i), np.tanh(a_g), sigmoid(a_o)
        c = f * c + i * g
        h = o * np.tanh(c)
        p = softmax(P["W_y"] @ h + P["b_y"])
        for history, value in (
            (cache.xs, x),
            (cache.zs, z),
            (cache.a_f, a_f),
            (cache.a_i, a_i),
            (cache.a_g, a_g),
            (cache.a_o, a_o),
            (cache.fs, f),
            (cache.is_, i),
            (cache.gs, g),
            (cache.os_, o),
            (cache.cs, c),
            (cache.hs, h),
            (cache.ps, p),
        ):
            history.append(value)
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
    cache = forward(params, inputs, h0, c0)
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
    dc_next = np.zeros((hidden, 1))
    for t in reversed(range(T)):
        f, i, g, o = cache.fs[t], cache.is_[t], cache.gs[t], cache.os_[t]
        c, h, z = cache.cs[t], cache.hs[t], cache.zs[t]
        c_prev = cache.cs[t - 1] if t > 0 else cache.c0
        y = one_hot(targets[t], vocab)
        view = StepView(
            t=t,
            weights=P,
            T=T,
            x=cache.xs[t],
            y=y,
            p=cache.ps[t],
            h=h,
            h_prev=cache.hs[t - 1] if t > 0 else cache.h0,
            dh_next=dh_next,
            xs=cache.xs,
            hs=cache.hs,
            ps=cache.ps,
            h0=cache.h0,
            targets=targets,
            z=z,
            c=c,
            c_prev=c_prev,
            dc_next=dc_next,
            f=f,
            i=i,
            g=g,
            o=o,
            a_f=cache.a_f[t],
            a_i=cache.a_i[t],
            a_g=cache.a_g[t],
            a_o=cache.a_o[t],
            cs=cache.cs,
            fs=cache.fs,
            is_=cache.is_,
            gs=cache.gs,
            os_=cache.os_,
            c0=cache.c0,
        )

        def slot(name: str, default: np.ndarray, view: StepView = view) -> np.ndarray:
            return resolve_slot(hooks, name, view, default)

        keep_only_this_step(hooks, view, grads)

        # readout: v = W_y h + b_y, p = softmax(v)
        dy = view.dy = slot("dy", cache.ps[t] - y)
        grads["W_y"] += dy @ slot("h_readout", h).T
        grads["b_y"] += dy
        dh = view.dh = P["W_y"].T @ dy + dh_next

        # h = o * tanh(c): one branch to the output gate, one into the cell
        do = dh * np.tanh(slot("c_in_do", c))
        c_cell = slot("c_in_cellpath", c)
        dc = view.dc = dc_next + dh * o * slot("cellpath_factor", 1.0 - np.tanh(c_cell) ** 2)

        # c = f * c_prev + i * g: each gate's gradient is dc times its partner
        df = dc * slot("c_prev_df", c_prev)
        di = dc * g
        dg = dc * i

        # gates hold activations, so the derivative factors are written in terms of the outputs
        dpre = view.dpre = {
            "f": df * slot("dfactor_f", f * (1.0 - f)),
            "i": di * slot("dfactor_i", i * (1.0 - i)),
            "g": dg * slot("dfactor_g", 1.0 - g**2),
            "o": do * slot("dfactor_o", o * (1.0 - o)),
        }
        dconcat = np.zeros_like(z)
        for gate in GATES:
            grads[f"W_{gate}"] += dpre[gate] @ z.T
            grads[f"b_{gate}"] += dpre[gate]
            dconcat += P[f"W_{gate}"].T @ dpre[gate]
        view.dconcat = dconcat

        # z = [h_prev; x]: only the h-part flows further back
        dh_next = slot("carry_h", dconcat[:hidden])
        dc_next = slot("carry_c", dc * f)
    return grads

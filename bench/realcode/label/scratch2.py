"""Gradient check of from-scratch NumPy RNN/LSTM/GRU code (one small adapter per code shape).

    python bench/realcode/label/scratch2.py FILE ADAPTER                    # the file as it is
    python bench/realcode/label/scratch2.py FILE ADAPTER ENTRY_ID --fixed   # with the entry's fixes

Executes only the file's imports of numpy/math, its `def`s, its classes and its constant
assignments (a notebook's code cells in order; a cell that does not parse is skipped; asserts
dropped). The ADAPTER (named in the entry's notes) builds the model on tiny seeded float64 data,
takes the gradients the file computes (returned, stored, or read back from a plain SGD update
with learning rate 1) and compares them with central differences of the scalar the gradients
belong to (sum(output * random upstream gradient), or the file's own loss). In-place gradient
clipping with np.clip is disabled, and np.empty/np.zeros ignore a float32 dtype. Prints one line
per parameter: `name relative-error`.
"""

from __future__ import annotations

import ast
import inspect
import types
from collections.abc import Callable
from typing import Any

import numpy
from common import (
    Cell,
    cells_of,
    error_line,
    identity_clip,
    numeric_grad,
    sigmoid,
    start,
    tanh_derivative,
    try_execute,
    without_magics,
)
from dtu import LSTM_NAMES, lstm_params, one_hot_sequence

Check = tuple[dict[str, numpy.ndarray], Callable[[], float], Callable[[], dict[str, numpy.ndarray]]]
ADAPTERS: dict[str, Callable[[dict, numpy.random.RandomState], Check]] = {}


class NumpyNoClip:
    """numpy, except that np.clip returns its input unchanged (so clipping does not hide a gradient)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(numpy, name)

    @staticmethod
    def clip(a: Any, *args: Any, out: Any = None, **kw: Any) -> Any:
        return a

    @staticmethod
    def empty(shape: Any, dtype: Any = None, **kw: Any) -> numpy.ndarray:
        return numpy.empty(shape)  # dtype='f' would lose float64

    @staticmethod
    def zeros(shape: Any, dtype: Any = None, **kw: Any) -> numpy.ndarray:
        return numpy.zeros(
            shape, dtype=dtype if dtype in (int, "int", numpy.int32, numpy.int64) else None
        )


def load(cells: list[Cell]) -> dict:
    ns: dict = {"__name__": "under_test", "xrange": range}
    keep = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign)
    for _, lines in cells:
        try:
            tree = ast.parse("\n".join(without_magics(lines, placeholder="")))
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, keep):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not any(
                m in ast.dump(node) for m in ("'numpy", "'math'", "'random'", "'copy'")
            ):
                continue
            if isinstance(node, ast.Assign) and not isinstance(
                node.value, (ast.Constant, ast.UnaryOp)
            ):
                continue
            try_execute(node, ns, "<file>", optimize=1, quiet=True)
    ns["np"] = NumpyNoClip()
    return ns


def adapter(name: str) -> Callable:
    def register(f: Callable) -> Callable:
        ADAPTERS[name] = f
        return f

    return register


def sgd_grads(obj: Any, names: list[str], step: Callable[[], None]) -> dict[str, numpy.ndarray]:
    """Gradients read back from an SGD update with learning rate 1 (the weights are restored)."""
    before = {n: getattr(obj, n).copy() for n in names}
    step()
    grads = {n: before[n] - getattr(obj, n) for n in names}
    for n in names:
        getattr(obj, n)[...] = before[n]
    return grads


def zero_grads(obj: Any, names: list[str], params: dict) -> None:
    """Set each accumulator self.d<name> to zeros shaped like the parameter."""
    for n in names:
        setattr(obj, "d" + n, numpy.zeros_like(params[n]))


def stored_grads(obj: Any, names: list[str]) -> dict[str, numpy.ndarray]:
    """The gradients a backward left in self.d<name>."""
    return {n: getattr(obj, "d" + n) for n in names}


def randomize(
    obj: Any, names: list[str], rng: numpy.random.RandomState, scale: float = 0.5
) -> dict:
    for n in names:
        setattr(obj, n, rng.randn(*numpy.shape(getattr(obj, n))) * scale)
    return {n: getattr(obj, n) for n in names}


# Victor Zhou's many-to-one RNN: RNN(input, output, hidden).forward(xs), .backprop(d_y, lr)
@adapter("vzhou")
def vzhou(ns: dict, rng: numpy.random.RandomState) -> Check:
    D, n_out, H, T = 4, 2, 3, 4
    net = ns["RNN"](D, n_out, H)
    names = ["Wxh", "Whh", "Why", "bh", "by"]
    params = randomize(net, names, rng)
    xs = [numpy.eye(D)[:, [k]] for k in rng.randint(D, size=T)]
    dy = rng.randn(n_out, 1)

    def loss() -> float:
        return float(numpy.sum(net.forward(xs)[0] * dy))

    def grads() -> dict:
        net.forward(xs)
        return sgd_grads(net, names, lambda: net.backprop(dy, 1.0))

    return params, loss, grads


# SimpleRNN(n_in, n_hidden, n_out).forward(X[T, D]) -> Y[T, O]; .backward(dY, X)
@adapter("simplernn-tx")
def simplernn_tx(ns: dict, rng: numpy.random.RandomState) -> Check:
    D, n_out, H, T = 3, 2, 4, 5
    net = ns["SimpleRNN"](D, H, n_out)
    names = ["Wx", "Wh", "Wy", "bh", "by"]
    params = randomize(net, names, rng)
    X, dY = rng.randn(T, D), rng.randn(T, n_out)

    def loss() -> float:
        return float(numpy.sum(net.forward(X) * dY))

    def grads() -> dict:
        net.forward(X)
        return dict(zip(names, net.backward(dY, X), strict=False))

    return params, loss, grads


# LSTM(in, hidden, out).backward(x, h_prev, c_prev, f, i, c_bar, c, o, h, y, dh, dc)
@adapter("lstm-cell-gates")
def lstm_cell_gates(ns: dict, rng: numpy.random.RandomState) -> Check:
    """One step; the gate values the backward needs are recomputed as the file's forward does."""
    D, n_out, H = 3, 2, 4
    net = ns["LSTM"](D, H, n_out)
    names = ["Wf", "Wi", "Wc", "Wo", "bf", "bi", "bc", "bo"]
    params = randomize(net, names, rng)
    x, h0, c0, dh, dc = (
        rng.randn(D, 1),
        rng.randn(H, 1),
        rng.randn(H, 1),
        rng.randn(H, 1),
        rng.randn(H, 1),
    )

    def loss() -> float:
        return float(
            numpy.sum(net.forward(x, h0, c0)[1] * dh) + numpy.sum(net.forward(x, h0, c0)[2] * dc)
        )

    def grads() -> dict:
        z = numpy.vstack((h0, x))
        f, i, o = (
            sigmoid(net.Wf @ z + net.bf),
            sigmoid(net.Wi @ z + net.bi),
            sigmoid(net.Wo @ z + net.bo),
        )
        cb = numpy.tanh(net.Wc @ z + net.bc)
        y, h, c = net.forward(x, h0, c0)
        out = net.backward(x, h0, c0, f, i, cb, c, o, h, y, dh, dc)
        grad_order = ["Wo", "Wc", "Wi", "Wf", "bf", "bi", "bc", "bo"]
        g = dict(zip(grad_order, out[2:], strict=False))
        return {k: numpy.reshape(v, params[k].shape) for k, v in g.items()}

    return params, loss, grads


class HandoutActivation:
    """Stand-in for the CMU 11-785 handout's Sigmoid/Tanh (mytorch/activation.py, not part of the file):
    forward/__call__ store the output; derivative(state) and backward(...) give the derivative from the
    output (`state` is an output). The positional argument of backward is dLdA (2023 handout, result
    multiplied by it) or the output state (older handouts), as the adapter says."""

    def __init__(self, fn: Callable, deriv: Callable, positional: str) -> None:
        self.fn, self.deriv, self.positional = fn, deriv, positional

    def forward(self, x: numpy.ndarray) -> numpy.ndarray:
        self.state = self.A = self.tanhVal = self.fn(x)
        self.npVal = numpy.exp(-x)
        return self.state

    __call__ = forward

    def derivative(self, state: numpy.ndarray | None = None) -> numpy.ndarray:
        return self.deriv(self.state if state is None else state)

    def backward(
        self, arg: numpy.ndarray | None = None, state: numpy.ndarray | None = None
    ) -> numpy.ndarray:
        if self.positional == "state":
            return self.derivative(arg if arg is not None else state)
        d = self.derivative(state)
        return d if arg is None else d * arg


def handout_activations(ns: dict, positional: str, with_sigmoid: bool = True) -> None:
    """The handout's Tanh (and Sigmoid) classes, derivatives taken from the output."""
    if with_sigmoid:
        ns["Sigmoid"] = lambda: HandoutActivation(sigmoid, lambda s: s * (1 - s), positional)
    ns["Tanh"] = lambda: HandoutActivation(numpy.tanh, lambda s: 1 - s**2, positional)


def cell_grads(cell: Any, names: list[str], params: dict, dx: Any, dh: Any) -> dict:
    """The weight gradients stored as self.d<name> and the returned dx, dh, each reshaped to its
    parameter's shape when it has as many entries."""
    g = stored_grads(cell, names)
    g["x"], g["h"] = dx, dh
    return {
        k: numpy.reshape(v, params[k].shape) if numpy.size(v) == params[k].size else v
        for k, v in g.items()
    }


GRU_11785_NAMES = [  # the weights of the handout versions; the cell's own are those it has
    *("Wrx", "Wzx", "Wnx", "Wrh", "Wzh", "Wnh"),
    *("brx", "bzx", "bnx", "brh", "bzh", "bnh"),
    *("bir", "biz", "bin", "bhr", "bhz", "bhn"),
    *("Wx", "Wh"),
]


def gru_11785(ns: dict, rng: numpy.random.RandomState, positional: str) -> Check:
    """CMU 11-785 HW3P1 GRU cell: GRUCell/GRU_Cell(in, hidden).forward(x, h) -> h_t; backward(delta) -> dx, dh
    with the weight gradients stored as self.d<name>. Loss sum(h_t * delta)."""
    handout_activations(ns, positional)
    D, H = 3, 4
    cls = ns.get("GRUCell") or ns["GRU_Cell"]
    cell = cls(D, H)
    names = [n for n in GRU_11785_NAMES if isinstance(getattr(cell, n, None), numpy.ndarray)]
    params = randomize(cell, names, rng)
    params["x"], params["h"] = rng.randn(D), rng.randn(H)
    delta = rng.randn(H)

    def loss() -> float:
        return float(numpy.sum(numpy.ravel(cell.forward(params["x"], params["h"])) * delta))

    def grads() -> dict:
        for d in (delta, delta.reshape(1, H)):
            zero_grads(cell, names, params)
            cell.forward(params["x"].copy(), params["h"].copy())
            try:
                dx, dh = cell.backward(d.copy())
                break
            except Exception:
                if d.ndim == 2:
                    raise
        return cell_grads(cell, names, params, dx, dh)

    return params, loss, grads


def rnn_cell_11785(ns: dict, rng: numpy.random.RandomState, positional: str) -> Check:
    """CMU 11-785 HW3P1 RNN cell: RNNCell(in, hidden).forward(x, h_prev) -> h_t; backward(delta, h_t, x,
    h_prev) -> dx, dh_prev, the weight gradients stored as self.dW_ih etc. Batch of 1 (the handout
    averages over the batch), loss sum(h_t * delta)."""
    handout_activations(ns, positional, with_sigmoid=False)
    D, H = 3, 4
    cell = (ns.get("RNNCell") or ns["RNN_Cell"])(D, H)
    names = ["W_ih", "W_hh", "b_ih", "b_hh"]
    params = randomize(cell, names, rng)
    params["x"], params["h"] = rng.randn(1, D), rng.randn(1, H)
    delta = rng.randn(1, H)

    def loss() -> float:
        return float(numpy.sum(cell.forward(params["x"], params["h"]) * delta))

    def grads() -> dict:
        zero_grads(cell, names, params)
        h_t = cell.forward(params["x"].copy(), params["h"].copy())
        dx, dh = cell.backward(delta.copy(), h_t, params["x"].copy(), params["h"].copy())
        return cell_grads(cell, names, params, dx, dh)

    return params, loss, grads


ADAPTERS["rnn-cell-11785"] = lambda ns, rng: rnn_cell_11785(ns, rng, "dLdA")
ADAPTERS["rnn-cell-11785-state"] = lambda ns, rng: rnn_cell_11785(ns, rng, "state")
ADAPTERS["gru-11785"] = lambda ns, rng: gru_11785(ns, rng, "dLdA")
ADAPTERS["gru-11785-state"] = lambda ns, rng: gru_11785(ns, rng, "state")


# RNN(in, hidden, out, lr).forward(xs) -> probs, hs; .backpropagation(xs, probs - onehot, hs)
@adapter("rnn-softmax-sgd")
def rnn_softmax_sgd(ns: dict, rng: numpy.random.RandomState) -> Check:
    """A many-to-one RNN whose forward ends in softmax; loss -log p[y]; gradients read back from the SGD step."""
    ns.setdefault("softmax", lambda a: numpy.exp(a - a.max()) / numpy.exp(a - a.max()).sum())
    D, n_out, H, T = 4, 3, 3, 4
    net = ns["RNN"](D, H, n_out, 1.0)
    names = ["weight1", "rnn_weight", "weight2"]
    params = randomize(net, names, rng)
    xs, y = [numpy.eye(D)[:, [k]] for k in rng.randint(D, size=T)], 1

    def loss() -> float:
        return float(-numpy.log(net.forward(xs)[0][y, 0]))

    def grads() -> dict:
        probs, hs = net.forward(xs)
        d = probs.copy()
        d[y] -= 1
        return sgd_grads(net, names, lambda: net.backpropagation(xs, d, hs))

    return params, loss, grads


# rnn_forward(X, h0, Wx, Wh, b, Why, by) -> hs, ys; rnn_backward(X, Y, hs, ys, ..., E, lr)
@adapter("fn-rnn-lm")
def fn_rnn_lm(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Functions with an SGD update inside; loss sum_t -log softmax(ys[t])[Y[t]] from h0 = 0."""
    D, V, H, T = 3, 5, 4, 4
    params = {
        "Wx": rng.randn(H, D) * 0.5,
        "Wh": rng.randn(H, H) * 0.5,
        "b": rng.randn(H, 1) * 0.5,
        "Why": rng.randn(V, H) * 0.5,
        "by": rng.randn(V, 1) * 0.5,
    }
    X, Y, E = rng.randn(T, D), rng.randint(V, size=T), rng.randn(V, D)

    def fwd() -> tuple:
        return ns["rnn_forward"](X, numpy.zeros((H, 1)), *params.values())

    def log_softmax(y: numpy.ndarray) -> numpy.ndarray:
        return y - y.max() - numpy.log(numpy.exp(y - y.max()).sum())

    def loss() -> float:
        # the file's forward returns one output per step
        return float(-sum(log_softmax(y)[k, 0] for y, k in zip(fwd()[1], Y, strict=False)))

    def grads() -> dict:
        hs, ys = fwd()
        new = ns["rnn_backward"](X, Y, hs, ys, *(p.copy() for p in params.values()), E.copy(), 1.0)
        return {n: params[n] - w for n, w in zip(params, new, strict=False)}

    return params, loss, grads


# RNNScratch(D, H, O, lr, loss, activation, output_activation): forward, calculate_loss, backprop
@adapter("rnnscratch")
def rnnscratch(ns: dict, rng: numpy.random.RandomState) -> list:
    """Two configurations, mse+sigmoid and ce+softmax; loss = the file's calculate_loss; gradients from
    backprop() in self.gradient (weights in self.weights, biases in self.bias)."""
    checks = []
    for loss_name, out_act in (("mse", "sigmoid"), ("ce", "softmax")):
        D, H, n_out, T = 3, 4, 3, 4
        net = ns["RNNScratch"](
            D, H, n_out, 1.0, loss=loss_name, activation="tanh", output_activation=out_act
        )
        for store in (net.weights, net.bias):
            for k in store:
                store[k] = rng.randn(*store[k].shape) * 0.5
        X, label = rng.randn(T, D), numpy.eye(n_out)[:, [1]]
        params = net.weights | net.bias

        def loss(net: Any = net, X: numpy.ndarray = X, label: numpy.ndarray = label) -> float:
            return float(net.calculate_loss(net.forward(X), label))

        def grads(net: Any = net, X: numpy.ndarray = X, label: numpy.ndarray = label) -> dict:
            net.calculate_loss(net.forward(X), label)
            net.backprop()
            return {
                k: numpy.reshape(net.gradient[k], numpy.shape(v))
                for k, v in (net.weights | net.bias).items()
            }

        checks.append((loss_name + ".", (params, loss, grads)))
    return checks


# RNNLayer(V, H, O, lr).forward(indices) -> probs; compute_loss(y); backward(y) (SGD)
@adapter("rnnlayer-onehot")
def rnnlayer_onehot(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Helpers of the repository's activations.py/utils.py (not in the file), as defined there: tanh,
    tanh_derivative(x) = 1 - tanh(x)**2 of the pre-activation, softmax with the max subtracted, one_hot."""
    ns.setdefault("tanh", numpy.tanh)
    ns.setdefault("tanh_derivative", tanh_derivative)
    ns.setdefault("softmax", lambda x: numpy.exp(x - x.max()) / numpy.exp(x - x.max()).sum(axis=0))
    ns.setdefault("one_hot", lambda i, n: numpy.eye(n)[:, [i]])
    V, H, n_out, T = 4, 3, 3, 4
    net = ns["RNNLayer"](V, H, n_out, 1.0)
    names = ["Wx", "Wh", "Wy", "bh", "by"]
    params = randomize(net, names, rng)
    xs, y = list(rng.randint(V, size=T)), 2

    def loss() -> float:
        net.forward(xs)
        return float(net.compute_loss(y))

    def grads() -> dict:
        net.forward(xs)
        return sgd_grads(net, names, lambda: net.backward(y))

    return params, loss, grads


# RNN(H, data_generator, T, lr): forward(X, a_prev) -> x, a, y_pred; loss; backward -> self.dW..
@adapter("rnn-waa-stored")
def rnn_waa_stored(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Character RNN class with Wax/Waa/Wya/ba/by; gradients accumulated in self.d<name> (zeroed first);
    loss = the class's own loss(y_preds, targets); a stub data generator supplies vocab_size."""
    V, H, T = 5, 4, 4
    net = ns["RNN"](H, types.SimpleNamespace(vocab_size=V), T, 1.0)
    names = ["Wax", "Waa", "Wya", "ba", "by"]
    params = randomize(net, names, rng)
    X, targets, a0 = (
        list(rng.randint(V, size=T)),
        list(rng.randint(V, size=T)),
        rng.randn(H, 1) * 0.5,
    )

    def loss() -> float:
        return float(net.loss(net.forward(X, a0)[2], targets))

    def grads() -> dict:
        zero_grads(net, names, params)
        x, a, y = net.forward(X, a0)
        net.backward(x, a, y, targets)
        return stored_grads(net, names)

    return params, loss, grads


# LSTM(n).forward(X[T, 1]) -> self.H[1..T]; backward(dvalues[T, n]) adds to self.dU./dW./db.
@adapter("mmh-lstm")
def mmh_lstm(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Scalar-input LSTM of the 'LSTM from scratch' tutorial series; loss sum_t H[t+1] * dvalues[t]. The
    gradient accumulators are whatever the file's forward() leaves in them (no zeroing by the adapter)."""
    n, T = 3, 4
    net = ns["LSTM"](n)
    names = [p + g for p in "UWb" for g in "fiog"]
    params = randomize(net, names, rng)
    X, dvalues = rng.randn(T, 1), rng.randn(T, n)

    def loss() -> float:
        net.forward(X)
        return float(sum(numpy.sum(net.H[t + 1].ravel() * dvalues[t]) for t in range(T)))

    def grads() -> dict:
        numpy.random.seed(1)
        net.forward(X)
        net.backward(dvalues)
        return stored_grads(net, names)

    return params, loss, grads


# RNN(n, Tanh()).forward(X[T, 1]) -> self.Y_hat[T, 1]; backward(dvalues[T, 1]) -> self.dWx ...
@adapter("mmh-rnn")
def mmh_rnn(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Scalar-input RNN of the 'RNN from scratch' tutorial series; loss sum(Y_hat * dvalues)."""
    n, T = 3, 4
    net = ns["RNN"](n, ns["Tanh"]())
    names = ["Wx", "Wh", "Wy", "biases"]
    params = randomize(net, names, rng)
    X, dvalues = rng.randn(T, 1), rng.randn(T, 1)

    def loss() -> float:
        net.forward(X)
        return float(numpy.sum(net.Y_hat * dvalues))

    def grads() -> dict:
        net.forward(X)
        net.backward(dvalues)
        return stored_grads(net, names)

    return params, loss, grads


# LSTM(D, H, O): reset(); forward(x_t) per step; backward(X, Y, T, lr) updates the weights
@adapter("lstm-fc-sgd")
def lstm_fc_sgd(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Row-vector LSTM with a sigmoid FC output per step; loss 0.5 * sum((out_t - y_t)**2) from zero states;
    gradients read back from the SGD step of backward() with lr = 1."""
    D, H, n_out, T = 3, 4, 2, 4
    net = ns["LSTM"](D, H, n_out)
    names = ["hidden_to_out", *(a + "_" + g for a in "UW" for g in "ifog")]
    params = randomize(net, names, rng)
    X, Y = rng.randn(T, D), rng.rand(T, n_out)

    def run() -> None:
        net.reset()
        for j in range(T):
            net.forward(X[j : j + 1])

    def loss() -> float:
        run()
        # net.outputs: one output per forward() since reset()
        return 0.5 * float(
            sum(numpy.sum((o - y) ** 2) for o, y in zip(net.outputs, Y, strict=False))
        )

    def grads() -> dict:
        run()
        return sgd_grads(net, names, lambda: net.backward(X, Y, T, 1.0))

    return params, loss, grads


# the DTU 02456 LSTM as a script: forward_pass(H, inputs, h, C, p); backward_pass(H, *cache, targets, p)
@adapter("dtu-script")
def dtu_script(ns: dict, rng: numpy.random.RandomState) -> Check:
    """The course's helpers (activation_functions.py, not in the file) are supplied as defined there:
    sigmoid/tanh(x, derivative=False) of the pre-activation, softmax; clip_gradient_norm is the identity.
    Loss: the file's own returned loss."""

    def course_sigmoid(x: numpy.ndarray, derivative: bool = False) -> numpy.ndarray:
        f = sigmoid(x)
        return f * (1 - f) if derivative else f

    def course_tanh(x: numpy.ndarray, derivative: bool = False) -> numpy.ndarray:
        f = numpy.tanh(x)
        return 1 - f**2 if derivative else f

    ns.setdefault("sigmoid", course_sigmoid)
    ns.setdefault("tanh", course_tanh)
    ns.setdefault("softmax", lambda x: numpy.exp(x) / numpy.sum(numpy.exp(x)))
    ns["clip_gradient_norm"] = identity_clip
    H = 3  # dtu.H: the sizes of dtu.lstm_params
    p = lstm_params(rng)
    xs, ys = one_hot_sequence(rng), one_hot_sequence(rng)
    h0, c0 = rng.randn(H, 1) * 0.5, rng.randn(H, 1) * 0.5

    def run() -> tuple:
        return ns["backward_pass"](H, *ns["forward_pass"](H, xs, h0.copy(), c0.copy(), p), ys, p)

    def loss() -> float:
        return float(run()[0])

    def grads() -> dict:
        return dict(zip(LSTM_NAMES, run()[1], strict=False))  # as many as the file returns

    return dict(zip(LSTM_NAMES, p, strict=True)), loss, grads


# LSTM(H + V, H, V, lr).forward(xs) -> probs; backward(labels) updates W_*/b_*
@adapter("lstm-dict-sgd")
def lstm_dict_sgd(ns: dict, rng: numpy.random.RandomState) -> Check:
    """Character LSTM with dict caches keyed by time (-1 the initial state); loss = sum_t of the file's
    cross_entropy_loss(p_t, y_t); gradients read back from the SGD step of backward() (lr = 1, clip off)."""
    V, H, T = 4, 3, 4
    net = ns["LSTM"](H + V, H, V, 1.0)
    names = [*(w + "_" + g for g in "fico" for w in "Wb"), "W_y", "b_y"]
    params = randomize(net, names, rng)
    xs = [numpy.eye(V)[:, [k]] for k in rng.randint(V, size=T)]
    ys = [numpy.eye(V)[:, [k]] for k in rng.randint(V, size=T)]

    def loss() -> float:
        probs = net.forward(xs)  # one per step
        return float(sum(ns["cross_entropy_loss"](p, y) for p, y in zip(probs, ys, strict=False)))

    def grads() -> dict:
        net.forward(xs)
        return sgd_grads(net, names, lambda: net.backward(ys))

    return params, loss, grads


DLFS2 = {  # class -> (weight shapes as multiples of H, its forward's extra state inputs, output count)
    "RNN": (1, ["h"], 1),
    "LSTM": (4, ["h", "c"], 2),
    "GRU": (3, ["h"], 1),
    "TimeRNN": (1, [], 1),
    "TimeLSTM": (4, [], 1),
    "TimeGRU": (3, [], 1),
}


def dlfs2(ns: dict, rng: numpy.random.RandomState, cls: str) -> Check:
    """'Deep Learning from Scratch 2' layers: Cls(Wx, Wh, b) with forward(x, h[, c]) and backward(dh[, dc])
    returning dx, dh[, dc] and the weight gradients in self.grads (or self.dWx, self.dWh). Time* layers
    take xs of shape (N, T, D). Loss: sum of each output times a random upstream gradient."""
    ns.setdefault("sigmoid", sigmoid)
    N, T, D, H = 2, 3, 3, 4
    k, states, n_out = DLFS2[cls]
    Wx, Wh, b = rng.randn(D, k * H) * 0.5, rng.randn(H, k * H) * 0.5, rng.randn(k * H) * 0.5
    if "b" in inspect.signature(ns[cls].__init__).parameters:
        layer = ns[cls](Wx, Wh, b)
    else:  # the book's first GRU has no bias
        layer, b = ns[cls](Wx, Wh), None
    params = {"Wx": Wx, "Wh": Wh} | ({"b": b} if b is not None else {})
    params["x"] = rng.randn(N, T, D) if cls.startswith("Time") else rng.randn(N, D)
    for s in states:
        params[s] = rng.randn(N, H)
    douts = [
        rng.randn(N, T, H) if cls.startswith("Time") else rng.randn(N, H) for _ in range(n_out)
    ]

    def fwd() -> Any:
        return layer.forward(params["x"], *(params[s] for s in states))

    def loss() -> float:
        outs = fwd() if n_out > 1 else (fwd(),)
        return float(sum(numpy.sum(o * d) for o, d in zip(outs, douts, strict=False)))

    def grads() -> dict:
        fwd()
        back = layer.backward(*douts)
        back = back if isinstance(back, tuple) else (back,)
        g = dict(zip(["x", *states], back, strict=False))
        w = list(layer.grads) if hasattr(layer, "grads") else [layer.dWx, layer.dWh]
        g.update(zip(["Wx", "Wh", "b"], w, strict=False))  # the first GRU has no b
        return g

    return params, loss, grads


for _cls in DLFS2:
    ADAPTERS["dlfs2-" + _cls.lower()] = lambda ns, rng, _c=_cls: dlfs2(ns, rng, _c)


def run(check: Check, prefix: str = "") -> None:
    params, loss, grads = check
    try:
        g = grads()
    except Exception as exc:
        print(f"{prefix}error: {type(exc).__name__}: {exc}")
        return
    for pname, p in params.items():
        num = numeric_grad(loss, p, h=1e-5)
        print(error_line(prefix + pname, g[pname], num, by_value=False))


def main(cells: list[Cell], name: str) -> None:
    ns = load(cells)
    numpy.random.seed(0)
    if name == "dlfs2":  # every layer class of the book the file defines
        for cls in [c for c in DLFS2 if isinstance(ns.get(c), type)]:
            try:
                check = dlfs2(ns, numpy.random.RandomState(0), cls)
            except Exception as exc:
                print(f"{cls}.error: {type(exc).__name__}: {exc}")
                continue
            run(check, cls + ".")
        return
    checks = ADAPTERS[name](ns, numpy.random.RandomState(0))
    for prefix, check in checks if isinstance(checks, list) else [("", checks)]:
        run(check, prefix)


if __name__ == "__main__":
    args = start(__doc__, adapter=True)
    main(cells_of(args), args.adapter)

"""Gradient check of class-based from-scratch NumPy RNN/LSTM/GRU code (min-char-rnn rewrites as
classes, GRU/LSTM classes), one small adapter per entry because every class has its own API.

    python bench/realcode/label/scratch.py FILE ENTRY_ID           # the file as it is
    python bench/realcode/label/scratch.py FILE ENTRY_ID --fixed   # with the entry's fixes

Only the file's imports of numpy, its classes and its functions are executed (no data, no
training). The adapter named by the entry id (the part before `--`, or the whole id)
builds the model with tiny sizes, refills its parameters with seeded random numbers, and returns
the parameters and a function giving (loss, {name: analytic gradient}). Every analytic gradient
is compared with fourth-order central differences of that loss in float64; one line per
parameter: `name relative-error`.
"""

from __future__ import annotations

import ast
import contextlib
import io
from collections.abc import Callable

import numpy as np
from common import (
    Cell,
    FakeFile,
    cells_of,
    numeric_grad4,
    python3_source,
    rel_error,
    sigmoid,
    start,
    tanh_derivative,
    try_execute,
)

Run = Callable[[], tuple[float, dict[str, np.ndarray]]]
V, H, T = 6, 5, 4  # vocabulary (input) size, hidden size, sequence length


def load(src: str) -> dict:
    ns: dict = {"np": np, "__name__": "scratch_under_test", "xrange": range, "open": FakeFile}
    for stmt in ast.parse(src).body:
        text = ast.unparse(stmt)
        if isinstance(stmt, (ast.ClassDef, ast.FunctionDef)) or (
            isinstance(stmt, (ast.Import, ast.ImportFrom))
            and ("numpy" in text or "random" in text or "math" in text)
        ):
            try_execute(stmt, ns)
    return ns


def refill(obj: object, names: list[str], rng: np.random.RandomState) -> dict[str, np.ndarray]:
    """Fill the named attributes with random numbers in place; return them by name."""
    out = {}
    for n in names:
        a = getattr(obj, n)
        a[...] = rng.randn(*a.shape) * 0.3
        out[n] = a
    return out


def onehots(ix: list[int], n: int) -> list[np.ndarray]:
    out = []
    for i in ix:
        x = np.zeros((n, 1))
        x[i] = 1
        out.append(x)
    return out


def minchar_class(
    cls: str,
    ctor: Callable[[type], object],
    names: list[str],
    call: Callable[..., tuple],
    grads_at: Callable[[tuple], list[np.ndarray]],
) -> Callable[[dict, np.random.RandomState], tuple]:
    """An adapter for a min-char-rnn rewritten as a class: `call(model, inputs, targets, h0)`."""

    def make(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
        model = ctor(ns[cls])
        params = refill(model, names, rng)
        inputs, targets = list(rng.randint(V, size=T)), list(rng.randint(V, size=T))
        h0 = rng.randn(H, 1) * 0.5

        def run() -> tuple[float, dict[str, np.ndarray]]:
            out = call(model, inputs, targets, h0.copy())
            return float(out[0]), dict(zip(names, grads_at(out), strict=False))

        return params, run

    return make


GRU_NAMES = ["Wxh", "Whh", "Wxg", "Whg", "Wxf", "Whf", "Why", "bh", "bg", "bf", "by"]
RNN_NAMES = ["Wxh", "Whh", "Why", "bh", "by"]


def sized(cls: type, **attrs: object) -> object:
    """An instance made without its data-reading constructor, with the given attributes."""
    obj = cls.__new__(cls)
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def bobliu(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
    names = ["w_i2h", "w_h2h", "w_h2o", "b_h", "b_o"]
    m = sized(
        ns["char_rnn"],
        charset_size=V,
        hidden_size=H,
        seq_length=T,
        input_state={},
        hidden_state={},
        output_state={},
        prob_state={},
        w_i2h=np.zeros((H, V)),
        w_h2h=np.zeros((H, H)),
        w_h2o=np.zeros((V, H)),
        b_h=np.zeros((H, 1)),
        b_o=np.zeros((V, 1)),
    )
    params = refill(m, names, rng)
    inputs, targets, h0 = (
        list(rng.randint(V, size=T)),
        list(rng.randint(V, size=T)),
        rng.randn(H, 1) * 0.5,
    )

    def run() -> tuple[float, dict[str, np.ndarray]]:
        loss = m.forward(inputs, targets, h0.copy())
        return float(loss), dict(zip(names, m.backward(), strict=False))

    return params, run


def bluberry(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
    m = ns["RNN"](V, H, V)
    params = refill(m, RNN_NAMES, rng)
    batch = 2
    inputs = [list(rng.randint(V, size=T)) for _ in range(batch)]
    targets = [list(rng.randint(V, size=T)) for _ in range(batch)]
    h0 = rng.randn(H, batch) * 0.5

    def run() -> tuple[float, dict[str, np.ndarray]]:
        xs, hs, ps, loss = m.forward(inputs, targets, h0.copy())
        return float(loss), dict(zip(RNN_NAMES, m.backward(xs, hs, ps, targets), strict=False))

    return params, run


def gaomingqi(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
    ns["hidden_size"], ns["vocab_size"] = H, V  # the class reads these module globals
    return minchar_class(
        "Min_char_rnn",
        lambda c: c(),
        RNN_NAMES,
        lambda m, i, t, h: m.lossFun(i, t, h),
        lambda out: out[1:6],
    )(ns, rng)


def karpathy_batched(
    cls: str, gates: int, states: list[str]
) -> Callable[[dict, np.random.RandomState], tuple[dict[str, np.ndarray], Run]]:
    """Karpathy's batched LSTM gist and its GRU fork, static methods with weights and biases in one
    matrix W: forward(X, W, *states) -> (Hout, ..., cache); backward(dHout, cache) -> (dX, dW,
    *dstates). Loss = sum(Hout * R) for a random R."""
    w = "W" + cls

    def make(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
        cell, b = ns[cls], 2
        params = {w: rng.randn(V + H + 1, gates * H) * 0.3, "X": rng.randn(T, b, V)}
        params.update({s: rng.randn(b, H) * 0.5 for s in states})
        wrand = rng.randn(T, b, H)

        def run() -> tuple[float, dict[str, np.ndarray]]:
            out = cell.forward(params["X"], params[w], *(params[s] for s in states))
            dx, dw, *dstates = cell.backward(wrand, out[-1])
            grads = {w: dw, "X": dx, **dict(zip(states, dstates, strict=True))}
            return float(np.sum(out[0] * wrand)), grads

        return params, run

    return make


def landa(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
    """CifgLSTM(M, N).forward(x) -> (y, state); .backward(deltas, state) -> (dx, grads, _); loss = sum(y * R).
    The helpers come from the repository's utils.py: sigma, g, h are sigmoid, tanh, tanh and
    dsigma, dg, dh their derivatives taken of the pre-activation."""
    ns.update(
        sigma=sigmoid,
        dsigma=lambda x: sigmoid(x) * (1 - sigmoid(x)),
        g=np.tanh,
        dg=tanh_derivative,
        h=np.tanh,
        dh=tanh_derivative,
    )
    m = ns["CifgLSTM"](V, H)
    names = ["Wz", "Wi", "Wo", "Rz", "Ri", "Ro", "pi", "po", "bz", "bi", "bo"]
    params = refill(m, names, rng)
    params["x"] = rng.randn(T, V)
    deltas = rng.randn(T, H)

    def run() -> tuple[float, dict[str, np.ndarray]]:
        y, state = m.forward(params["x"])
        dx, grads, _ = m.backward(deltas, state)
        return float(np.sum(y * deltas)), dict(zip([*names, "x"], [*grads, dx], strict=False))

    return params, run


class SquaredLoss:
    """The loss layer nicodjimenez/lstm expects (its own lives in test.py): sum((h - y)^2)."""

    @staticmethod
    def loss(pred: np.ndarray, label: np.ndarray) -> float:
        return float(np.sum((pred - label) ** 2))

    @staticmethod
    def bottom_diff(pred: np.ndarray, label: np.ndarray) -> np.ndarray:
        return 2 * (pred - label)


def nicodjimenez(ns: dict, rng: np.random.RandomState) -> tuple[dict[str, np.ndarray], Run]:
    """LstmParam(cells, x_dim) + LstmNetwork: x_list_add(x) for each step, y_list_is(ys, loss layer) fills *_diff."""
    p = ns["LstmParam"](H, V)
    names = ["wg", "wi", "wf", "wo", "bg", "bi", "bf", "bo"]
    params = refill(p, names, rng)
    xs, ys = [rng.randn(V) for _ in range(T)], [rng.randn(H) * 0.5 for _ in range(T)]

    def run() -> tuple[float, dict[str, np.ndarray]]:
        for n in names:
            setattr(p, n + "_diff", np.zeros_like(getattr(p, n)))
        net = ns["LstmNetwork"](p)
        for x in xs:
            net.x_list_add(x)
        loss = net.y_list_is(ys, SquaredLoss)
        return float(loss), {n: getattr(p, n + "_diff").copy() for n in names}

    return params, run


def doctorteeth(
    ns: dict,
    rng: np.random.RandomState,
    cls: str = "GRU",
    names: tuple[str, ...] = (
        "Wxc",
        "Wxr",
        "Wxz",
        "Rhc",
        "Rhr",
        "Rhz",
        "Why",
        "bc",
        "br",
        "bz",
        "by",
    ),
) -> tuple[dict[str, np.ndarray], Run]:
    """GRU (or RNN)(in, out, hidden).lossFun(bit-vector inputs, bit-vector targets) with sigmoid outputs."""
    m = ns[cls](V, V, H)
    names = list(names)
    params = refill(m, names, rng)
    inputs = [rng.randint(2, size=V).astype(float) for _ in range(T)]
    targets = [np.matrix(rng.randint(2, size=V).astype(float)) for _ in range(T)]

    def run() -> tuple[float, dict[str, np.ndarray]]:
        loss, deltas, _ = m.lossFun(inputs, targets)
        return float(np.sum(loss)), dict(zip(names, deltas, strict=False))

    return params, run


ADAPTERS: dict[str, Callable[[dict, np.random.RandomState], tuple]] = {
    # MichaelMastro/Batched-Gated-Recurrent-Unit: static GRU.forward / GRU.backward, weights and biases in one matrix
    "scratch-michaelmastro-gru": karpathy_batched("GRU", 3, ["h0"]),
    # younesslanda/LSTM-Numpy: a coupled-input-forget-gate LSTM with peepholes
    "scratch-younesslanda-cifg-lstm": landa,
    # copies of Karpathy's batched LSTM gist (lstm.py)
    "scratch-karpathy-lstm": karpathy_batched("LSTM", 4, ["c0", "h0"]),
    # DoctorTeeth/gru: GRU(in, out, hidden).lossFun(inputs, targets) -> (loss, deltas, ps)
    "scratch-doctorteeth-gru": doctorteeth,
    # nicodjimenez/lstm and its copies: LstmParam / LstmNode / LstmNetwork
    "scratch-nicodjimenez-lstm": nicodjimenez,
    "scratch-doctorteeth-rnn": lambda ns, rng: doctorteeth(ns, rng, "RNN", tuple(RNN_NAMES)),
    # asmaloney/min-char-rnn: RNN(vocab, hidden, lr).train(inputs, targets, vocab_size, h0)
    "minchar-asmaloney": minchar_class(
        "RNN",
        lambda c: c(V, H, 0.1),
        RNN_NAMES,
        lambda m, i, t, h: m.train(i, t, V, h),
        lambda out: out[1:6],
    ),
    # gaomingqi/min-char-rnn: Min_char_rnn().lossFun(inputs, targets, hprev), sizes from module globals
    "minchar-gaomingqi": gaomingqi,
    # BobLiu20/min_char_RNN: char_rnn.forward(inputs, targets, hprev) then .backward()
    "minchar-bobliu20": bobliu,
    # adamnellis/is-this-a-place: RecurrentNeuralNet(data file).lossFun(inputs, targets, hprev); built without the file
    "minchar-adamnellis": minchar_class(
        "RecurrentNeuralNet",
        lambda c: sized(
            c,
            hidden_size=H,
            vocab_size=V,
            seq_length=T,
            Wxh=np.zeros((H, V)),
            Whh=np.zeros((H, H)),
            Why=np.zeros((V, H)),
            bh=np.zeros((H, 1)),
            by=np.zeros((V, 1)),
        ),
        RNN_NAMES,
        lambda m, i, t, h: m.lossFun(i, t, h),
        lambda out: out[1:6],
    ),
    # BluberryPie/min-char-rnn: batched RNN(in, hidden, out).forward(...) then .backward(xs, hs, ps, targets)
    "minchar-bluberrypie": bluberry,
    # androclassic/min-char-gru: GRUModel(input_size, hidden_size).lossFun(one-hot inputs, targets, hprev)
    "minchar-androclassic-gru": minchar_class(
        "GRUModel",
        lambda c: c(V, H),
        GRU_NAMES,
        lambda m, i, t, h: m.lossFun(onehots(i, V), t, h),
        lambda out: out[1],
    ),
}


# Ports of the copy to today's Python and NumPy, not fixes of the code: Python 2 integer divisions
# that 2to3 leaves as `/`, and `x == None` on arrays (a scalar False in old NumPy, elementwise now)
PY2_DIVISIONS: dict[str, list[tuple[str, str]]] = {
    "scratch-nicodjimenez-lstm": [
        ("s_prev == None", "s_prev is None"),
        ("h_prev == None", "h_prev is None"),
    ],
    "scratch-michaelmastro-gru": [("WGRU.shape[1] / 3", "WGRU.shape[1] // 3")],
    "scratch-karpathy-lstm": [
        ("WLSTM.shape[1]/4", "WLSTM.shape[1]//4"),
        ("WLSTM.shape[1] / 4", "WLSTM.shape[1] // 4"),
    ],
}


def main(cells: list[Cell], entry_id: str) -> None:
    src = python3_source(cells)
    for old, new in PY2_DIVISIONS.get(entry_id.split("--")[0], []):
        src = src.replace(old, new)
    ns = load(src)
    rng = np.random.RandomState(0)
    np.random.seed(1)
    with contextlib.redirect_stdout(io.StringIO()):
        params, run = ADAPTERS[entry_id.split("--")[0]](ns, rng)
        _, grads = run()

        def loss() -> float:
            return run()[0]

        lines = [
            f"{n} {rel_error(grads[n], numeric_grad4(loss, p), floor=1e-10):.2e}"
            for n, p in params.items()
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    args = start(__doc__, entry_required=True)
    main(cells_of(args), args.entry_id)

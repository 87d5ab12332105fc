"""Gradient check of the DTU 02456 recurrent-networks notebook (NumPy RNN and LSTM from scratch).

    python bench/realcode/label/dtu.py FILE                    # the file as it is
    python bench/realcode/label/dtu.py FILE ENTRY_ID --fixed   # with the entry's fixes

Executes only the `def`s of the notebook's code cells (a cell that does not parse is skipped) in
a scratch namespace. Blanks of the published exercise (`f = `, `d_W += ` ...) are filled with the
correct statement (printed as `filled: ...`); `assert`s (shape checks sized for the
notebook's data) are dropped. `clip_gradient_norm` is replaced by the identity
(clipping is deliberate, not a bug). Then, on tiny seeded data in float64:
  rnn.*   `backward_pass(inputs, outputs, hidden_states, targets, params)` against central
          differences of its own returned loss through `forward_pass` (h0 = 0, as the notebook);
  lstm.*  `backward(*forward(inputs, h0, C0, params), targets, params)` likewise (random h0, C0).
Prints one line per parameter: `model.param relative-error` (max over entries).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import numpy as np
from common import Cell, cells_of, execute, identity_clip, numeric_grad, rel_error, start

H, V, T = 3, 5, 4
RNN_NAMES = ["U", "V", "W", "b_hidden", "b_out"]
LSTM_NAMES = ["W_f", "W_i", "W_g", "W_o", "W_v", "b_f", "b_i", "b_g", "b_o", "b_v"]
BLANK = re.compile(r"^(\s*)([\w\[\]]+)\s*([+-]?=)\s*$")
FILL = {  # (function, name) -> the correct statement's right-hand side
    ("forward", "z"): "np.vstack((h_prev, x))",
    ("forward", "f"): "sigmoid(np.dot(W_f, z) + b_f)",
    ("forward", "i"): "sigmoid(np.dot(W_i, z) + b_i)",
    ("forward", "g"): "tanh(np.dot(W_g, z) + b_g)",
    ("forward", "C_prev"): "f * C_prev + i * g",
    ("forward", "o"): "sigmoid(np.dot(W_o, z) + b_o)",
    ("forward_pass", "hidden_state"): (
        "tanh(np.dot(U, inputs[t]) + np.dot(V, hidden_state) + b_hidden)"
    ),
    ("forward_pass", "out"): "softmax(np.dot(W, hidden_state) + b_out)",
    ("backward_pass", "loss"): "-np.sum(np.log(outputs[t] + 1e-12) * targets[t])",
    ("backward_pass", "d_o[]"): "1",
    ("backward_pass", "d_W"): "np.dot(d_o, hidden_states[t].T)",
    ("backward_pass", "d_U"): "np.dot(d_f, inputs[t].T)",
    ("backward_pass", "d_V"): (
        "np.dot(d_f, (hidden_states[t - 1] if t > 0 else 0 * hidden_states[0]).T)"
    ),
}


def one_hot_sequence(rng: np.random.RandomState) -> np.ndarray:
    """T random one-hot columns of size V, shape (T, V, 1)."""
    return np.array([np.eye(V)[:, [k]] for k in rng.randint(V, size=T)])


def lstm_params(rng: np.random.RandomState) -> list[np.ndarray]:
    """The NumPy LSTM's parameters in LSTM_NAMES order, seeded random."""
    return [
        *(rng.randn(H, H + V) * 0.5 for _ in range(4)),
        rng.randn(V, H) * 0.5,
        *(rng.randn(H, 1) * 0.5 for _ in range(4)),
        rng.randn(V, 1) * 0.5,
    ]


def fill_blanks(lines: list[str]) -> list[str]:
    func, out = None, []
    for line in lines:
        m = re.match(r"\s*def (\w+)\(", line)
        func = m.group(1) if m else func
        b = BLANK.match(line)
        if b and (func, b.group(2)) in FILL:
            name = "d_o[np.argmax(targets[t])]" if b.group(2) == "d_o[]" else b.group(2)
            line = f"{b.group(1)}{name} {b.group(3)} {FILL[(func, b.group(2))]}"
            print(f"filled: {func}: {line.strip()}")
        out.append(line)
    return out


def load(cells: list[Cell]) -> dict:
    ns: dict = {"np": np, "hidden_size": H, "vocab_size": V, "params": None, "z_size": H + V}
    for _, lines in cells:
        try:
            tree = ast.parse("\n".join(fill_blanks(lines)))
        except SyntaxError:
            continue
        defs = [
            n
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))
            and not (isinstance(n, (ast.Import, ast.ImportFrom)) and "numpy" not in ast.dump(n))
        ]
        execute(defs, ns, "<nb>", optimize=1)  # asserts dropped
    ns["clip_gradient_norm"] = identity_clip
    return ns


def check(model: str, names: list[str], params: list[np.ndarray], run: Callable[[], tuple]) -> None:
    try:
        _, grads = run()
    except Exception as exc:
        print(f"{model} error: {type(exc).__name__}: {exc}")
        return

    def loss() -> float:
        return float(run()[0])

    # a backward returning fewer gradients leaves the last parameters unchecked
    for name, p, g in zip(names, params, grads, strict=False):
        try:
            num = numeric_grad(loss, p)
        except Exception as exc:  # e.g. a loss that is not a scalar
            print(f"{model}.{name} error: {type(exc).__name__}: {exc}")
            continue
        print(f"{model}.{name} {rel_error(g, num):.2e}")


def main(cells: list[Cell]) -> None:
    ns = load(cells)
    rng = np.random.RandomState(0)
    xs, ys = one_hot_sequence(rng), one_hot_sequence(rng)
    if "forward_pass" in ns and "backward_pass" in ns:
        rp = [
            rng.randn(H, V) * 0.5,
            rng.randn(H, H) * 0.5,
            rng.randn(V, H) * 0.5,
            rng.randn(H, 1) * 0.5,
            rng.randn(V, 1) * 0.5,
        ]
        h0 = np.zeros((H, 1))

        def run_rnn() -> tuple:
            outputs, hs = ns["forward_pass"](xs, h0.copy(), rp)
            return ns["backward_pass"](xs, outputs, hs, ys, rp)

        check("rnn", RNN_NAMES, rp, run_rnn)
    if "forward" in ns and "backward" in ns:
        lp = lstm_params(rng)
        h0, c0 = rng.randn(H, 1) * 0.5, rng.randn(H, 1) * 0.5

        def run_lstm() -> tuple:
            cache = ns["forward"](xs, h0.copy(), c0.copy(), lp)
            return ns["backward"](*cache, ys, lp)

        check("lstm", LSTM_NAMES, lp, run_lstm)


if __name__ == "__main__":
    main(cells_of(start(__doc__)))

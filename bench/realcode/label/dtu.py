"""Gradient check of the DTU 02456 recurrent-networks notebook (NumPy RNN and LSTM from scratch).

    python bench/realcode/label/dtu.py FILE                      # the file as it is
    python bench/realcode/label/dtu.py FILE PART.json ENTRY_ID   # with the entry's `fix`es applied

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
import json
import re
import sys
from typing import Callable

import numpy as np

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
    ("forward_pass", "hidden_state"): "tanh(np.dot(U, inputs[t]) + np.dot(V, hidden_state) + b_hidden)",
    ("forward_pass", "out"): "softmax(np.dot(W, hidden_state) + b_out)",
    ("backward_pass", "loss"): "-np.sum(np.log(outputs[t] + 1e-12) * targets[t])",
    ("backward_pass", "d_o[]"): "1",
    ("backward_pass", "d_W"): "np.dot(d_o, hidden_states[t].T)",
    ("backward_pass", "d_U"): "np.dot(d_f, inputs[t].T)",
    ("backward_pass", "d_V"): "np.dot(d_f, (hidden_states[t - 1] if t > 0 else 0 * hidden_states[0]).T)",
}


def code_cells(path: str) -> list[tuple[int, list[str]]]:
    """(cell index, lines) of every code cell; a .py file is one cell with index None."""
    text = open(path, encoding="utf-8", errors="replace").read()
    if not path.endswith(".ipynb"):
        return [(None, text.split("\n"))]
    out = []
    for k, cell in enumerate(json.loads(text)["cells"]):
        if cell["cell_type"] == "code":
            src = cell["source"]
            out.append((k, ("".join(src) if isinstance(src, list) else src).split("\n")))
    return out


def apply_fixes(cells: list[tuple[int, list[str]]], part: str, entry_id: str) -> None:
    """Replace each bug's line (cell, 1-based line; its stripped text must match) by its fix."""
    entry = next(e for e in json.load(open(part)) if e["id"] == entry_id)
    by_cell = dict(cells)
    for bug in entry["bugs"]:
        lines = by_cell[bug["cell"]]
        old = lines[bug["line"] - 1]
        if old.strip() != bug["text"] and old.strip() != bug["fix"]:
            sys.exit(f"fix does not apply: cell {bug['cell']} line {bug['line']}: {old.strip()!r}")
        lines[bug["line"] - 1] = old[: len(old) - len(old.lstrip())] + bug["fix"]


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


def load(cells: list[tuple[int, list[str]]]) -> dict:
    ns: dict = {"np": np, "hidden_size": H, "vocab_size": V, "params": None, "z_size": H + V}
    for _, lines in cells:
        try:
            tree = ast.parse("\n".join(fill_blanks(lines)))
        except SyntaxError:
            continue
        defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))
                and not (isinstance(n, (ast.Import, ast.ImportFrom)) and "numpy" not in ast.dump(n))]
        exec(compile(ast.Module(body=defs, type_ignores=[]), "<nb>", "exec", optimize=1), ns)  # asserts dropped
    ns["clip_gradient_norm"] = lambda grads, *a, **k: grads
    return ns


def numeric_grad(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, n: np.ndarray) -> float:
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)))


def check(model: str, names: list[str], params: list[np.ndarray], run: Callable[[], tuple]) -> None:
    try:
        _, grads = run()
    except Exception as exc:
        print(f"{model} error: {type(exc).__name__}: {exc}")
        return
    for name, p, g in zip(names, params, grads):
        try:
            num = numeric_grad(lambda: float(run()[0]), p)
        except Exception as exc:  # e.g. a loss that is not a scalar
            print(f"{model}.{name} error: {type(exc).__name__}: {exc}")
            continue
        print(f"{model}.{name} {rel_error(g, num):.2e}")


def main(path: str, part: str | None = None, entry_id: str | None = None) -> None:
    cells = code_cells(path)
    if part:
        apply_fixes(cells, part, entry_id)
    ns = load(cells)
    rng = np.random.RandomState(0)
    onehot = lambda k: np.eye(V)[:, [k]]
    xs = np.array([onehot(k) for k in rng.randint(V, size=T)])
    ys = np.array([onehot(k) for k in rng.randint(V, size=T)])
    if "forward_pass" in ns and "backward_pass" in ns:
        rp = [rng.randn(H, V) * .5, rng.randn(H, H) * .5, rng.randn(V, H) * .5, rng.randn(H, 1) * .5, rng.randn(V, 1) * .5]
        h0 = np.zeros((H, 1))

        def run_rnn() -> tuple:
            outputs, hs = ns["forward_pass"](xs, h0.copy(), rp)
            return ns["backward_pass"](xs, outputs, hs, ys, rp)
        check("rnn", RNN_NAMES, rp, run_rnn)
    if "forward" in ns and "backward" in ns:
        lp = [rng.randn(H, H + V) * .5 for _ in range(4)] + [rng.randn(V, H) * .5] + \
             [rng.randn(H, 1) * .5 for _ in range(4)] + [rng.randn(V, 1) * .5]
        h0, c0 = rng.randn(H, 1) * .5, rng.randn(H, 1) * .5

        def run_lstm() -> tuple:
            cache = ns["forward"](xs, h0.copy(), c0.copy(), lp)
            return ns["backward"](*cache, ys, lp)
        check("lstm", LSTM_NAMES, lp, run_lstm)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(*sys.argv[1:4])

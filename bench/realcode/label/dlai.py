"""Gradient check of the deeplearning.ai "Building a Recurrent Neural Network - Step by Step" code
(notebook or .py), and of the Dinosaurus Island `utils.py` (rnn_step_backward / rnn_backward).

    python bench/realcode/label/dlai.py FILE                    # the file as it is
    python bench/realcode/label/dlai.py FILE ENTRY_ID --fixed   # with the entry's fixes

The file's definitions, assignments and random seeds (each notebook code cell's, in order) are run
in one scratch namespace, so the notebook's own test globals exist as they did for its author;
statements that fail (tests needing course files, data loading, blanks of the template) are
skipped. Imports of the course's helper modules are skipped and replaced by a
`softmax` over axis 0 and a `sigmoid` (what rnn_utils provides). Python 2 cells are run through a
lib2to3 port. Then every backward the file defines is compared with central differences in
float64 on tiny seeded data (an lstm_backward(da, dc, caches) also gets the gradient of the cell
states); one line per parameter: `function.param relative-error`. For the
Dinosaurus utils.py a last line gives the loss when a target's probability underflows to exactly 0
(inf means a log without epsilon).
"""

from __future__ import annotations

import ast

import numpy as np
from common import (
    Cell,
    cell_sources,
    cells_of,
    error_line,
    numeric_grad,
    python2_port,
    sigmoid,
    start,
    try_execute,
)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def load(cells: list[Cell]) -> dict:
    ns: dict = {
        "__name__": "dlai_under_test",
        "np": np,
        "softmax": softmax,
        "sigmoid": sigmoid,
        "xrange": range,
    }
    for src in cell_sources(cells):
        try:
            tree = ast.parse(src)
        except SyntaxError:
            try:
                tree = ast.parse(python2_port(src + "\n"))
            except Exception:
                continue  # a blank of the template: nothing here to run
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in stmt.names] + [getattr(stmt, "module", None) or ""]
                if not any(n.split(".")[0] in ("numpy", "math", "copy", "random") for n in names):
                    continue
            if isinstance(stmt, ast.Expr) and "random.seed" not in ast.unparse(stmt):
                # prints and test calls; the seeds are kept so the notebook's test globals are
                # reproducible
                continue
            if not isinstance(
                stmt, (ast.Expr, ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Assign)
            ):
                continue  # loops of the notebook's tests
            try_execute(stmt, ns, quiet=True)
    return ns


def report(name: str, grads: dict, key: str, num: np.ndarray) -> None:
    g = grads.get(key)
    print(f"{name}.{key} blank" if g is None else error_line(f"{name}.{key}", g, num))


def check(
    ns: dict,
    name: str,
    fwd: str,
    bwd: str,
    inputs: list,
    params: dict,
    outs: list[int],
    wrt: dict[str, str],
) -> None:
    """Gradients of sum_k out_k * dout_k: `wrt` maps the gradient's key to an input name or
    parameter name."""
    if fwd not in ns or bwd not in ns:
        if fwd in ns or bwd in ns:  # e.g. a cell that does not parse
            missing = bwd if fwd in ns else fwd
            print(f"{name} error: {missing} is not defined (absent, or its cell does not parse)")
        return
    rng = np.random.RandomState(1)
    try:
        res = ns[fwd](*inputs, params)
        douts = [rng.randn(*np.shape(res[k])) for k in outs]
        grads = ns[bwd](*[d.copy() for d in douts], res[-1])
    except Exception as exc:
        print(f"{name} error: {type(exc).__name__}: {exc}")
        return
    if not isinstance(grads, dict):
        print(f"{name} blank")
        return

    def loss() -> float:
        r = ns[fwd](*inputs, params)
        return float(sum(np.sum(r[k] * d) for k, d in zip(outs, douts, strict=True)))

    names = ["x", "a_prev", "c_prev"]
    for key, target in wrt.items():
        arr = inputs[names.index(target)] if target in names else params[target]
        report(name, grads, key, numeric_grad(loss, arr))


def check_dinosaurus(ns: dict, rng: np.random.RandomState) -> None:
    """utils.py: rnn_forward(X, Y, a0, parameters) returns the loss; rnn_backward its gradients."""
    if "rnn_backward" not in ns or "rnn_step_backward" not in ns:
        return
    defaults = ns["rnn_forward"].__defaults__ or (27,)
    v, n_a = int(defaults[-1]), 5  # the vocabulary size the file's rnn_forward assumes
    p = {
        "Wax": rng.randn(n_a, v) * 0.3,
        "Waa": rng.randn(n_a, n_a) * 0.3,
        "Wya": rng.randn(v, n_a) * 0.3,
        "b": rng.randn(n_a, 1),
        "by": rng.randn(v, 1),
    }
    X = [3, 7, 1, 20, 5]  # no None: some versions index x[t][None] = 1 (a vector of ones)
    Y = [*X[1:], 0]
    a0 = rng.randn(n_a, 1)

    def loss() -> float:
        return float(ns["rnn_forward"](X, Y, a0, p)[0])

    _, cache = ns["rnn_forward"](X, Y, a0, p)
    gradients, _ = ns["rnn_backward"](X, Y, p, cache)
    for key in ["Wax", "Waa", "Wya", "b", "by"]:
        report("dinosaurus_rnn", gradients, "d" + key, numeric_grad(loss, p[key]))
    # numeric probe: a target whose logit is 2000 below the others has probability exactly 0
    p["by"][Y[0]] -= 2000
    print(
        f"dinosaurus_rnn.loss with a zero target probability: {loss():.4g}"
        " (inf: log without epsilon)"
    )


def main(cells: list[Cell]) -> None:
    ns = load(cells)
    rng = np.random.RandomState(0)
    n_x, n_a, n_y, m, T = 3, 5, 2, 4, 4
    r = rng.randn
    if "rnn_forward" in ns and ns["rnn_forward"].__code__.co_argcount >= 4:
        check_dinosaurus(ns, rng)
        return
    rp = {
        "Waa": r(n_a, n_a) * 0.5,
        "Wax": r(n_a, n_x) * 0.5,
        "Wya": r(n_y, n_a),
        "ba": r(n_a, 1),
        "by": r(n_y, 1),
    }
    rnn_w = {"dWax": "Wax", "dWaa": "Waa", "dba": "ba"}
    check(
        ns,
        "rnn_cell",
        "rnn_cell_forward",
        "rnn_cell_backward",
        [r(n_x, m), r(n_a, m)],
        rp,
        [0],
        {"dxt": "x", "da_prev": "a_prev", **rnn_w},
    )
    check(
        ns,
        "rnn",
        "rnn_forward",
        "rnn_backward",
        [r(n_x, m, T), r(n_a, m)],
        rp,
        [0],
        {"dx": "x", "da0": "a_prev", **rnn_w},
    )
    lp = {w: r(n_a, n_a + n_x) * 0.5 for w in ["Wf", "Wi", "Wc", "Wo"]}
    lp.update({b: r(n_a, 1) for b in ["bf", "bi", "bc", "bo"]})
    lp.update({"Wy": r(n_y, n_a), "by": r(n_y, 1)})
    lstm_w = {f"d{k}": k for k in ["Wf", "Wi", "Wc", "Wo", "bf", "bi", "bc", "bo"]}
    check(
        ns,
        "lstm_cell",
        "lstm_cell_forward",
        "lstm_cell_backward",
        [r(n_x, m), r(n_a, m), r(n_a, m)],
        lp,
        [0, 1],
        {"dxt": "x", "da_prev": "a_prev", "dc_prev": "c_prev", **lstm_w},
    )
    # lstm_backward(da, caches), or lstm_backward(da, dc, caches) with the gradient of the cell
    # states lstm_forward returns (a, y, c, caches) as well
    code = getattr(ns.get("lstm_backward"), "__code__", None)
    takes_dc = code is not None and code.co_argcount == 3
    check(
        ns,
        "lstm",
        "lstm_forward",
        "lstm_backward",
        [r(n_x, m, T), r(n_a, m)],
        lp,
        [0, 2] if takes_dc else [0],
        {"dx": "x", "da0": "a_prev", **lstm_w},
    )


if __name__ == "__main__":
    main(cells_of(start(__doc__)))

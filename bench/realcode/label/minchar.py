"""Gradient check of a min-char-rnn style script (Karpathy's gist and its ports, RNN/LSTM/GRU).

    python bench/realcode/label/minchar.py FILE                    # the file as it is
    python bench/realcode/label/minchar.py FILE ENTRY_ID --fixed   # with the entry's fixes

The script's top-level statements are executed one by one in a scratch namespace, except its
training loops (top-level `while`/`for` and `if __name__ == "__main__"`), with `open` reading a
small fake text (also used when `data` is read some other way), `input`/`exit` made harmless, and
integer settings named like a hidden size or a sequence length made small. The loss function (a
function whose name contains `loss`, called at top level with its results unpacked) is wired to
the parameters through the script's own update loop `zip([params], [grads], ...)` (or
`zip(params, grads, ...)` over top-level lists, the gradients then returned as one list). Every
parameter is refilled with seeded random numbers, the loss function is run on a random sequence
(extra state arguments random too), and each returned gradient is compared with fourth-order
central differences of the returned loss in float64. Prints one line per parameter:
`name relative-error` (entries where |a|+|n| < 1e-10 count as exact: round-off around a true 0).
Python 2 files are converted in memory by lib2to3 (the fixers of `2to3`).
"""

from __future__ import annotations

import ast
import contextlib
import io

import numpy as np
from common import (
    FAKE_TEXT,
    Cell,
    FakeFile,
    cells_of,
    numeric_grad4,
    python3_source,
    rel_error,
    start,
    try_execute,
)

SMALL = {
    "hidden_size": 7,
    "H": 7,
    "hidden_dim": 7,
    "n_h": 7,
    "hidden": 7,
    "hidden_units": 7,
    "seq_length": 5,
    "seq_len": 5,
    "T": 5,
    "sequence_length": 5,
    "num_hidden": 7,
    "hsize": 7,
}


def shrink(stmt: ast.stmt) -> ast.stmt:
    """`hidden_size = 100` becomes `hidden_size = 7` (likewise sequence lengths)."""
    if (
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, int)
    ):
        for t in stmt.targets:
            if isinstance(t, ast.Name) and t.id in SMALL:
                stmt.value = ast.copy_location(ast.Constant(SMALL[t.id]), stmt.value)
    return stmt


def load(src: str) -> dict:
    ns: dict = {
        "__name__": "minchar_under_test",
        "open": FakeFile,
        "xrange": range,
        "raw_input": lambda *a: "ok",
        "input": lambda *a: "ok",
        "exit": lambda *a: None,
        "quit": lambda *a: None,
    }
    for stmt in ast.parse(src).body:
        if isinstance(stmt, (ast.While, ast.For)) or (
            isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test)
        ):
            continue
        ran = try_execute(shrink(stmt), ns, catch=(Exception, SystemExit))
        if not ran and isinstance(stmt, ast.Assign) and ast.unparse(stmt.targets[0]) == "data":
            ns["data"] = FAKE_TEXT  # data read in a way the fake `open` does not cover
    return ns


def wiring(src: str) -> tuple[str, list[str], dict[str, str]]:
    """(loss function name, names its call unpacks, grad name -> param name).

    A gradient returned inside a list (`loss, grads, h = lossFun(...)` with the update loop
    `zip(params, grads, mems)` over top-level lists) is named `grads[i]`."""
    tree = ast.parse(src)
    lists = {
        t.id: n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.List)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    fname, unpacked, mapping = "", [], {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and "loss" in node.value.func.id.lower()
            and isinstance(node.targets[0], ast.Tuple)
            and not unpacked
        ):
            fname = node.value.func.id
            unpacked = [e.id if isinstance(e, ast.Name) else "?" for e in node.targets[0].elts]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "zip"
            and len(node.args) >= 2
            and all(isinstance(a, ast.List) for a in node.args[:2])
        ):
            ps, ds = ([e.id for e in a.elts if isinstance(e, ast.Name)] for a in node.args[:2])
            if set(ds) <= set(unpacked) and not mapping:
                mapping = dict(zip(ds, ps, strict=False))  # the file's own update loop
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "zip"
            and not mapping
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Name)
            and node.args[1].id in unpacked
        ):
            ps = (
                [e.id for e in lists[node.args[0].id].elts]
                if isinstance(node.args[0], ast.Name)
                else [e.id for e in node.args[0].elts]
            )
            mapping = {f"{node.args[1].id}[{i}]": p for i, p in enumerate(ps)}
    return fname, unpacked, mapping


def main(cells: list[Cell]) -> None:
    src = python3_source(cells)
    fname, unpacked, mapping = wiring(src)
    with contextlib.redirect_stdout(io.StringIO()):
        ns = load(src)
    rng = np.random.RandomState(0)
    for p in mapping.values():
        ns[p][...] = rng.randn(*ns[p].shape) * 0.3
    vocab = ns.get("vocab_size", len(set(FAKE_TEXT)))
    hidden = next(ns[k] for k in SMALL if k in ns and ns[k] == 7)
    n_args = ns[fname].__code__.co_argcount
    args = [list(rng.randint(vocab, size=5)), list(rng.randint(vocab, size=5))]
    args += [rng.randn(hidden, 1) * 0.5 for _ in range(n_args - 2)]

    def call() -> tuple:
        return ns[fname](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])

    def loss() -> float:
        return float(np.sum(call()[0]))  # np.sum: some losses are (1,) or (1, 1) arrays

    results = []
    with contextlib.redirect_stdout(io.StringIO()):
        out = call()
        for dname, pname in mapping.items():
            name, _, index = dname.partition("[")
            g = out[unpacked.index(name)]
            g = np.asarray(g[int(index[:-1])] if index else g, dtype=np.float64)
            num = numeric_grad4(loss, ns[pname])
            results.append(f"{pname} {rel_error(g, num, floor=1e-10):.2e}")
    print("\n".join(results))


if __name__ == "__main__":
    main(cells_of(start(__doc__)))

"""Gradient check of a min-char-rnn style script (Karpathy's gist and its ports, RNN/LSTM/GRU).

    python bench/realcode/label/minchar.py FILE [ENTRY_ID]

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
Python 2 files are converted in memory by `2to3`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
import tempfile
from typing import Any, Callable

import numpy as np

FAKE_TEXT = "the quick brown fox jumps over the lazy dog; hello world.\n" * 4
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


def source_of(path: str) -> str:
    """Python 3 source of the file (a notebook's code cells joined; Python 2 converted by 2to3)."""
    text = open(path, encoding="utf-8", errors="replace").read()
    if path.endswith(".ipynb"):
        cells = [c for c in json.loads(text)["cells"] if c["cell_type"] == "code"]
        srcs = [
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells
        ]
        text = "\n\n".join(
            "\n".join("pass" if l.lstrip().startswith(("%", "!")) else l for l in s.split("\n"))
            for s in srcs
        )
    try:
        ast.parse(text)
    except SyntaxError:
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as tmp:
            tmp.write(text)
        subprocess.run(["2to3", "-w", "-n", tmp.name], capture_output=True)
        text = open(tmp.name).read()
    return text


class FakeFile(io.StringIO):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(FAKE_TEXT)


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
        try:
            exec(compile(ast.Module([shrink(stmt)], []), "<corpus>", "exec"), ns)
        except (Exception, SystemExit) as exc:
            print(f"# skipped: {ast.unparse(stmt)[:60]!r}: {exc}", file=sys.stderr)
            if isinstance(stmt, ast.Assign) and ast.unparse(stmt.targets[0]) == "data":
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
                mapping = dict(zip(ds, ps))
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


def numeric_grad(f: Callable[[], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences (error O(h^4), round-off about 1e-13 here)."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            x[i] = old + step
            vals.append(f())
        x[i] = old
        g[i] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return g


def rel_error(a: np.ndarray, n: np.ndarray) -> float:
    """max |a-n| / max(|a|+|n|, 1e-12); entries with |a|+|n| < 1e-10 (round-off around an exact 0) count as 0."""
    err = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)
    return float(np.max(np.where(np.abs(a) + np.abs(n) < 1e-10, 0.0, err)))


def main(path: str) -> None:
    src = source_of(path)
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
    quiet = contextlib.redirect_stdout(io.StringIO())
    quiet.__enter__()
    out = ns[fname](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    loss = lambda: float(np.sum(  # np.sum: some losses are (1,) or (1, 1) arrays
        ns[fname](*[a.copy() if isinstance(a, np.ndarray) else a for a in args])[0]))
    results = []
    for dname, pname in mapping.items():
        name, _, index = dname.partition("[")
        g = out[unpacked.index(name)]
        g = np.asarray(g[int(index[:-1])] if index else g, dtype=np.float64)
        results.append(f"{pname} {rel_error(g, numeric_grad(loss, ns[pname])):.2e}")
    quiet.__exit__(None, None, None)
    print("\n".join(results))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1])

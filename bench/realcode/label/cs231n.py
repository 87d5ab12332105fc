"""Gradient check of a CS231n assignment-3 `rnn_layers.py` (or a notebook holding its functions).

    python bench/realcode/label/cs231n.py FILE [ENTRY_ID]

Executes the file's top-level code in a scratch namespace (imports of the course's own package
are skipped; `xrange` is provided for Python 2 files), then for every layer it defines compares
the hand-written backward with central differences in float64 on tiny seeded data, and prints
one line per parameter: `layer.param relative-error` (max over entries of
|a-n| / max(|a|+|n|, 1e-12)). A layer whose backward is still a blank (returns None) or raises
prints `blank` or `error: ...` instead of a number. Python 2 files are run through a lib2to3 port
(tabs expanded as Python 2 read them). A last line probes temporal_softmax_loss numerically: the
loss when one target's probability underflows to exactly 0 (inf means a log without epsilon).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Callable

import numpy as np

Arrays = dict[str, np.ndarray]


def source_of(path: str) -> str:
    """The file's Python source; a notebook's code cells joined, shell and magic lines dropped."""
    text = open(path, encoding="utf-8", errors="replace").read()
    if path.endswith(".ipynb"):
        cells = json.loads(text)["cells"]
        parts = []
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            src = cell["source"]
            src = "".join(src) if isinstance(src, list) else src
            parts.append(
                "\n".join(
                    "pass" if l.lstrip().startswith(("%", "!")) else l for l in src.split("\n")
                )
            )
        text = "\n\n".join(parts)
    return text


KEEP_IMPORT = re.compile(
    r"^\s*(import numpy|from numpy|from __future__|import math|from builtins|import copy)"
)


def python2_port(src: str) -> str:
    """The source converted by lib2to3 (print statements, xrange, dict.iteritems, ...)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3.refactor import RefactoringTool, get_fixers_from_package

        tool = RefactoringTool(get_fixers_from_package("lib2to3.fixes"))
        return str(tool.refactor_string(src, "<python2>"))


def load(path: str) -> dict:
    """Execute the file's definitions (skipping its package-relative imports) and return them."""
    lines = []
    for line in source_of(path).split("\n"):
        if re.match(r"^(from|import)\s", line) and not KEEP_IMPORT.match(line):
            line = "pass  # import skipped by the label script"
        lines.append(line)
    ns: dict = {"__name__": "rnn_layers_under_test", "xrange": range, "np": np}
    try:
        compile("\n".join(lines), path, "exec")
    except SyntaxError:  # Python 2: run a 2to3 port of the text (line numbers are kept)
        text = "\n".join(lines) + "\n"
        if "\t" in text:  # Python 2 read a tab as a move to the next multiple of 8 columns
            text = "\n".join(line.expandtabs(8) for line in lines) + "\n"
        lines = python2_port(text).split("\n")
    for i in range(
        len(lines), 0, -1
    ):  # a notebook may run code that needs data: keep what ran before it
        try:
            exec(compile("\n".join(lines[:i]), path, "exec"), ns)
            break
        except Exception:
            ns = {"__name__": "rnn_layers_under_test", "xrange": range, "np": np}
    return ns


def numeric_grad(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to the array x (changed in place)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
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


def check_layer(
    ns: dict,
    name: str,
    fwd: str,
    bwd: str,
    inputs: Arrays,
    n_out: int,
    grad_names: list[str],
    fixed: dict | None = None,
) -> None:
    """Compare `bwd`'s gradients of sum(out_k * dout_k) with central differences."""
    if fwd not in ns or bwd not in ns:
        return
    fixed = fixed or {}
    rng = np.random.RandomState(1)
    try:
        outs = ns[fwd](*inputs.values(), **fixed)
        outs = list(outs[:n_out])
        douts = [rng.randn(*np.shape(o)) for o in outs]
        cache = ns[fwd](*inputs.values(), **fixed)[n_out]
        grads = ns[bwd](
            *[d.copy() for d in douts], cache
        )  # copies: some backwards update dnext_c in place
    except Exception as exc:  # a blank or broken layer
        print(f"{name} error: {type(exc).__name__}: {exc}")
        return
    if grads is None or (isinstance(grads, tuple) and any(g is None for g in grads)):
        print(f"{name} blank")
        return
    grads = grads if isinstance(grads, tuple) else (grads,)

    def loss() -> float:
        o = ns[fwd](*inputs.values(), **fixed)
        return float(sum(np.sum(o[k] * douts[k]) for k in range(n_out)))

    for gname, g in zip(grad_names, grads):
        if gname is None:
            continue
        num = numeric_grad(loss, inputs[gname])
        if np.size(g) != np.size(num):
            print(f"{name}.{gname} shape {np.shape(g)} != {np.shape(num)}")
        else:  # a (1, 4H) bias gradient broadcasts like a (4H,) one: compare the values
            note = "" if np.shape(g) == np.shape(num) else f" (returned with shape {np.shape(g)})"
            print(f"{name}.{gname} {rel_error(np.reshape(g, np.shape(num)), num):.2e}{note}")


def main(path: str) -> None:
    ns = load(path)
    rng = np.random.RandomState(0)
    N, T, D, H, V = 3, 4, 5, 6, 7
    r = lambda *s: rng.randn(*s)
    check_layer(
        ns,
        "rnn_step",
        "rnn_step_forward",
        "rnn_step_backward",
        {"x": r(N, D), "prev_h": r(N, H), "Wx": r(D, H) * 0.5, "Wh": r(H, H) * 0.5, "b": r(H)},
        1,
        ["x", "prev_h", "Wx", "Wh", "b"],
    )
    check_layer(
        ns,
        "rnn",
        "rnn_forward",
        "rnn_backward",
        {"x": r(N, T, D), "h0": r(N, H), "Wx": r(D, H) * 0.5, "Wh": r(H, H) * 0.5, "b": r(H)},
        1,
        ["x", "h0", "Wx", "Wh", "b"],
    )
    check_layer(
        ns,
        "word_embedding",
        "word_embedding_forward",
        "word_embedding_backward",
        {"x": np.array([[0, 3, 1, 3], [2, 0, 6, 0], [3, 3, 5, 1]]), "W": r(V, D)},
        1,
        ["W"],
    )
    check_layer(
        ns,
        "lstm_step",
        "lstm_step_forward",
        "lstm_step_backward",
        {
            "x": r(N, D),
            "prev_h": r(N, H),
            "prev_c": r(N, H),
            "Wx": r(D, 4 * H) * 0.5,
            "Wh": r(H, 4 * H) * 0.5,
            "b": r(4 * H),
        },
        2,
        ["x", "prev_h", "prev_c", "Wx", "Wh", "b"],
    )
    check_layer(
        ns,
        "lstm",
        "lstm_forward",
        "lstm_backward",
        {
            "x": r(N, T, D),
            "h0": r(N, H),
            "Wx": r(D, 4 * H) * 0.5,
            "Wh": r(H, 4 * H) * 0.5,
            "b": r(4 * H),
        },
        1,
        ["x", "h0", "Wx", "Wh", "b"],
    )
    check_layer(
        ns,
        "temporal_affine",
        "temporal_affine_forward",
        "temporal_affine_backward",
        {"x": r(N, T, D), "w": r(D, V), "b": r(V)},
        1,
        ["x", "w", "b"],
    )
    if "temporal_softmax_loss" in ns:
        x = r(N, T, V)
        y = rng.randint(V, size=(N, T))
        mask = rng.rand(N, T) > 0.3
        try:
            _, dx = ns["temporal_softmax_loss"](x, y, mask)
            num = numeric_grad(lambda: float(ns["temporal_softmax_loss"](x, y, mask)[0]), x)
            print(f"temporal_softmax_loss.x {rel_error(dx, num):.2e}")
            x[0, 0, y[0, 0]] -= (
                2000  # numeric probe: this target's probability underflows to exactly 0
            )
            mask[0, 0] = True
            probe = float(ns["temporal_softmax_loss"](x, y, mask)[0])
            print(
                f"temporal_softmax_loss loss with a zero target probability: {probe:.4g} (inf: log without epsilon)"
            )
        except Exception as exc:
            print(f"temporal_softmax_loss error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1])

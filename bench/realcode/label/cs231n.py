"""Gradient check of a CS231n assignment-3 `rnn_layers.py` (or a notebook holding its functions).

    python bench/realcode/label/cs231n.py FILE                    # the file as it is
    python bench/realcode/label/cs231n.py FILE ENTRY_ID --fixed   # with the entry's fixes

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

import re

import numpy as np
from common import (
    Cell,
    cells_of,
    error_line,
    joined_source,
    numeric_grad,
    python2_port,
    rel_error,
    start,
)

Arrays = dict[str, np.ndarray]
KEEP_IMPORT = re.compile(
    r"^\s*(import numpy|from numpy|from __future__|import math|from builtins|import copy)"
)


def fresh_namespace() -> dict:
    return {"__name__": "rnn_layers_under_test", "xrange": range, "np": np}


def load(cells: list[Cell]) -> dict:
    """Execute the file's definitions (skipping its package-relative imports) and return them."""
    lines = []
    for line in joined_source(cells).split("\n"):
        if re.match(r"^(from|import)\s", line) and not KEEP_IMPORT.match(line):
            line = "pass  # import skipped by the label script"
        lines.append(line)
    ns = fresh_namespace()
    try:
        compile("\n".join(lines), "<corpus>", "exec")
    except SyntaxError:  # Python 2: run a 2to3 port of the text (line numbers are kept)
        text = "\n".join(lines) + "\n"
        if "\t" in text:  # Python 2 read a tab as a move to the next multiple of 8 columns
            text = "\n".join(line.expandtabs(8) for line in lines) + "\n"
        lines = python2_port(text).split("\n")
    # a notebook may run code that needs data: keep what ran before it
    for i in range(len(lines), 0, -1):
        try:
            exec(compile("\n".join(lines[:i]), "<corpus>", "exec"), ns)
            break
        except Exception:
            ns = fresh_namespace()
    return ns


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
        # copies: some backwards update dnext_c in place
        grads = ns[bwd](*[d.copy() for d in douts], cache)
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

    for gname, g in zip(grad_names, grads, strict=False):  # a backward may return more or fewer
        if gname is None:
            continue
        num = numeric_grad(loss, inputs[gname])
        reshaped = np.size(g) == np.size(num) and np.shape(g) != np.shape(num)
        note = f" (returned with shape {np.shape(g)})" if reshaped else ""
        print(error_line(f"{name}.{gname}", g, num) + note)


def main(cells: list[Cell]) -> None:
    ns = load(cells)
    rng = np.random.RandomState(0)
    N, T, D, H, V = 3, 4, 5, 6, 7
    r = rng.randn
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

        def softmax_loss() -> float:
            return float(ns["temporal_softmax_loss"](x, y, mask)[0])

        try:
            _, dx = ns["temporal_softmax_loss"](x, y, mask)
            num = numeric_grad(softmax_loss, x)
            print(f"temporal_softmax_loss.x {rel_error(dx, num):.2e}")
            # numeric probe: this target's probability underflows to exactly 0
            x[0, 0, y[0, 0]] -= 2000
            mask[0, 0] = True
            probe = softmax_loss()
            print(
                "temporal_softmax_loss loss with a zero target probability:"
                f" {probe:.4g} (inf: log without epsilon)"
            )
        except Exception as exc:
            print(f"temporal_softmax_loss error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main(cells_of(start(__doc__)))

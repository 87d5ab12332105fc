"""Gradient check of a WildML (Denny Britz) RNN tutorial model: class `RNNNumpy` with
`forward_propagation`, `calculate_total_loss` and `bptt` (a .py file or the tutorial notebook,
where the methods are defined as functions and attached with `RNNNumpy.bptt = bptt`).

    python bench/realcode/label/wildml.py FILE                    # the file as it is
    python bench/realcode/label/wildml.py FILE ENTRY_ID --fixed   # with the entry's fixes

Only the class, the top-level functions and the `RNNNumpy.name = name` attachments are executed
(no data loading, no training). `softmax` (and, for some rewrites, `one_hot`) come from the tutorial's
`utils.py`, which is not part of the file: when the file does not define them, a max-subtracted
softmax and a one-hot matrix builder are provided. The class is `RNNNumpy`, else the class with
a `bptt` method; the loss is `calculate_total_loss` (or `compute_total_loss`). The model is
built with `bptt_truncate` longer than the sequence, so `bptt` must give the exact full-BPTT
gradient (with a shorter truncation it is truncated BPTT by design). The parameters are those
named in the file's `model_parameters = [...]` (default U, V, W), in `bptt`'s return order.
Prints one line per parameter: `name relative-error` of `bptt` against central differences of
`calculate_total_loss([x], [y])` in float64.
"""

from __future__ import annotations

import ast
import contextlib
import io
import operator

import numpy as np
from common import Cell, cells_of, numeric_grad4, python3_source, rel_error, start, try_execute


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def one_hot(x: list[int], dim: int) -> np.ndarray:
    """The (len(x), dim) one-hot matrix some rewrites import from their utils.py."""
    out = np.zeros((len(x), dim))
    out[np.arange(len(x)), x] = 1
    return out


def load(src: str) -> dict:
    """Execute the class, the functions and the method attachments of the file."""
    ns: dict = {
        "np": np,
        "numpy": np,
        "softmax": softmax,
        "one_hot": one_hot,
        "operator": operator,
        "xrange": range,
        "__name__": "wildml_under_test",
    }
    for stmt in ast.parse(src).body:
        keep = isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.Import, ast.ImportFrom)) or (
            isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Attribute) for t in stmt.targets)
        )
        if (
            isinstance(stmt, (ast.Import, ast.ImportFrom))
            and "numpy" not in ast.unparse(stmt)
            and "operator" not in ast.unparse(stmt)
        ):
            keep = False
        if keep:
            try_execute(stmt, ns)
    return ns


def param_names(src: str) -> list[str]:
    for node in ast.walk(ast.parse(src)):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "model_parameters" for t in node.targets)
            and isinstance(node.value, ast.List)
        ):
            return [e.value for e in node.value.elts]
    return ["U", "V", "W"]


def main(cells: list[Cell]) -> None:
    src = python3_source(cells)
    ns = load(src)
    cls = (
        "RNNNumpy"
        if "RNNNumpy" in ns
        else next(k for k, v in ns.items() if isinstance(v, type) and hasattr(v, "bptt"))
    )
    rng = np.random.RandomState(0)
    word_dim, hidden_dim, T = 8, 5, 4
    np.random.seed(1)
    model = ns[cls](word_dim, hidden_dim, bptt_truncate=100)
    x, y = list(rng.randint(word_dim, size=T)), list(rng.randint(word_dim, size=T))
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            grads = model.bptt(x, y)
        except Exception:  # a batched rewrite: one-hot x (T, batch=1, word_dim), y (T, 1)
            grads = model.bptt(one_hot(x, word_dim)[:, None, :], np.array(y)[:, None])
        total = getattr(model, "calculate_total_loss", None) or model.compute_total_loss

        def loss() -> float:
            return float(total([x], [y]))

        results = [
            f"{p} {rel_error(g, numeric_grad4(loss, getattr(model, p)), floor=1e-10):.2e}"
            # model_parameters may name more parameters than bptt returns gradients
            for p, g in zip(param_names(src), grads, strict=False)
        ]
    print("\n".join(results))


if __name__ == "__main__":
    main(cells_of(start(__doc__)))

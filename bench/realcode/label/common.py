"""What the label scripts share: the command line, reading a file or notebook (with an entry's
fixes applied), the Python 2 port, running a file's statements, central differences and the
relative error.

Every script takes the same command line (scratch2.py an ADAPTER after FILE; scratch.py
requires ENTRY_ID, which picks its adapter):

    python bench/realcode/label/SCRIPT.py FILE [ENTRY_ID] [--fixed] [--manifest MANIFEST]

`--fixed` replaces each of the entry's `bugs[]` lines by its `fix` before the file is loaded (the
line's stripped text must be the bug's `text`, or already the `fix`), as the manifest's
README says: a gradcheck label means the file so fixed has exact gradients.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

MANIFEST = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "manifest.json"
)
MAGIC = ("%", "!")  # a notebook's shell and magic lines
# (index in the notebook's `cells`, or None for a .py file; the cell's lines)
Cell = tuple[int | None, list[str]]
FAKE_TEXT = "the quick brown fox jumps over the lazy dog; hello world.\n" * 4


def start(
    doc: str | None, adapter: bool = False, entry_required: bool = False
) -> argparse.Namespace:
    """The command line of a label script; NumPy's floating-point warnings are turned off (a buggy
    backward overflowing is part of what is measured, not an error)."""
    np.seterr(all="ignore")
    parser = argparse.ArgumentParser(
        description=(doc or "").strip().split("\n")[0],
        epilog="--fixed applies the entry's `fix`es (from MANIFEST) before the file is loaded",
    )
    parser.add_argument("file", help="the cached corpus file (.py or .ipynb)")
    if adapter:
        parser.add_argument("adapter", help="the adapter the entry's notes name")
    parser.add_argument("entry_id", nargs=None if entry_required else "?", help="the manifest id")
    parser.add_argument("--fixed", action="store_true", help="apply the entry's fixes first")
    parser.add_argument("--manifest", default=MANIFEST, help="manifest (or list of entries)")
    args = parser.parse_intermixed_args()  # FILE --fixed ENTRY_ID as well as FILE ENTRY_ID --fixed
    if args.fixed and not args.entry_id:
        parser.error("--fixed needs ENTRY_ID")
    return args


def cells_of(args: argparse.Namespace) -> list[Cell]:
    """The code cells of the file named on the command line, fixed when --fixed is given."""
    cells = code_cells(args.file)
    if args.fixed:
        apply_fixes(cells, entry(args.entry_id, args.manifest)["bugs"])
    return cells


def entry(entry_id: str, manifest: str = MANIFEST) -> dict:
    """The manifest's entry of that id (the manifest, or a plain list of entries)."""
    with open(manifest, encoding="utf-8") as f:
        data = json.load(f)
    entries = data["files"] if isinstance(data, dict) else data
    found = [e for e in entries if e["id"] == entry_id]
    if not found:
        sys.exit(f"no entry {entry_id!r} in {manifest}")
    return found[0]


def code_cells(path: str) -> list[Cell]:
    """(cell index, lines) of every code cell; a .py file is one cell with index None."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if not path.endswith(".ipynb"):
        return [(None, text.split("\n"))]
    out: list[Cell] = []
    for k, cell in enumerate(json.loads(text)["cells"]):
        if cell["cell_type"] == "code":
            src = cell["source"]
            out.append((k, ("".join(src) if isinstance(src, list) else src).split("\n")))
    return out


def apply_fixes(cells: list[Cell], bugs: Iterable[dict]) -> None:
    """Replace each bug's line (cell, 1-based line; its stripped text must match) by its fix."""
    by_cell = dict(cells)
    for bug in bugs:
        lines = by_cell[bug["cell"]]
        old = lines[bug["line"] - 1]
        if old.strip() != bug["text"] and old.strip() != bug["fix"]:
            sys.exit(f"fix does not apply: cell {bug['cell']} line {bug['line']}: {old.strip()!r}")
        lines[bug["line"] - 1] = old[: len(old) - len(old.lstrip())] + bug["fix"]


def without_magics(lines: list[str], placeholder: str = "pass") -> list[str]:
    return [placeholder if line.lstrip().startswith(MAGIC) else line for line in lines]


def cell_sources(cells: list[Cell]) -> list[str]:
    """One string per cell; a notebook's magic and shell lines become `pass`."""
    return ["\n".join(lines if k is None else without_magics(lines)) for k, lines in cells]


def joined_source(cells: list[Cell]) -> str:
    """The file's code as one text (a notebook's code cells joined by a blank line)."""
    return "\n\n".join(cell_sources(cells))


def python2_port(src: str) -> str:
    """The source converted by lib2to3 (print statements, xrange, dict.iteritems, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lib2to3.refactor import RefactoringTool, get_fixers_from_package

        tool = RefactoringTool(get_fixers_from_package("lib2to3.fixes"))
        return str(tool.refactor_string(src, "<python2>"))


def python3_source(cells: list[Cell]) -> str:
    """The file's code as one Python 3 text: Python 2 code is ported by lib2to3."""
    text = joined_source(cells)
    try:
        ast.parse(text)
    except SyntaxError:
        text = python2_port(text + "\n")[:-1]
    return text


def execute(body: list[ast.stmt], ns: dict, filename: str = "<corpus>", optimize: int = -1) -> None:
    """Run statements in the namespace (optimize=1 drops the asserts)."""
    module = ast.Module(body=body, type_ignores=[])
    exec(compile(module, filename, "exec", optimize=optimize), ns)


def try_execute(
    stmt: ast.stmt,
    ns: dict,
    filename: str = "<corpus>",
    optimize: int = -1,
    quiet: bool = False,
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> bool:
    """Run one statement; when it raises, say so on stderr (unless quiet) and return False."""
    try:
        execute([stmt], ns, filename, optimize)
    except catch as exc:
        if not quiet:
            print(f"# skipped: {ast.unparse(stmt)[:60]!r}: {exc}", file=sys.stderr)
        return False
    return True


class FakeFile(io.StringIO):
    """What `open` gives the code under test: a small text (FAKE_TEXT) whatever the name."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(FAKE_TEXT)


def identity_clip(grads: Any, *args: Any, **kw: Any) -> Any:
    """Stands for a file's gradient clipping (clipping is deliberate, not a bug)."""
    return grads


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def tanh_derivative(x: np.ndarray) -> np.ndarray:
    """The derivative at the pre-activation x."""
    return 1 - np.tanh(x) ** 2


def numeric_grad(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to the array x (changed in place)."""
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


def numeric_grad4(f: Callable[[], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
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


def rel_error(a: Any, n: Any, floor: float = 0.0) -> float:
    """max over entries of |a-n| / max(|a|+|n|, 1e-12) in float64; entries with |a|+|n| < floor
    (round-off around an exact 0) count as 0."""
    a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
    total = np.abs(a) + np.abs(n)
    err = np.abs(a - n) / np.maximum(total, 1e-12)
    return float(np.max(np.where(total < floor, 0.0, err)))


def error_line(name: str, analytic: Any, numeric: np.ndarray, by_value: bool = True) -> str:
    """`name relative-error`, or `name shape A != B` when the sizes differ (with by_value=False,
    the shapes); a gradient of the right size in another shape (a (1, 4H) bias gradient for a
    (4H,) bias) is compared by value."""
    measure = np.size if by_value else np.shape
    if measure(analytic) != measure(numeric):
        return f"{name} shape {np.shape(analytic)} != {np.shape(numeric)}"
    return f"{name} {rel_error(np.reshape(analytic, np.shape(numeric)), numeric):.2e}"

"""Benchmarks: prints wall time, files/s and peak memory of lstmlint runs, side by side.

    python bench/run.py            # all sections
    python bench/run.py confirm    # only the cost of dynamic confirmation
    python bench/run.py tree       # numpy + scipy sources against ruff (and fixit, if installed)
    python bench/run.py startup    # an empty folder against `python -c pass`

Figures are measured, never asserted: targets live in the README next to the latest figures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LSTMLINT = [sys.executable, "-m", "lstmlint"]


def measure(command: list[str], repeat: int = 1) -> tuple[float, float]:
    """Best wall time (s) over ``repeat`` runs and the peak RSS (MB) of the child."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        best = min(best, time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
    return best, peak


def row(name: str, files: int, wall: float, rss: float) -> None:
    rate = f"{files / wall:9.0f}" if files and wall > 0 else "        -"
    print(f"  {name:<44} {wall:8.2f} s {rate} files/s {rss:8.0f} MB")


def confirm_section() -> None:
    print("Dynamic confirmation (extra wall time per file)")
    targets = [("reviewed program", [FIXTURES / "reviewed" / "lstm_scratch.py"])]
    everything = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb"))
    targets.append((f"all fixtures ({len(everything)} files)", everything))
    for name, paths in targets:
        args = [str(p) for p in paths]
        static, rss_static = measure([*LSTMLINT, "--no-confirm", *args], repeat=3)
        full, rss_full = measure([*LSTMLINT, *args], repeat=3)
        row(f"{name}, static only", len(paths), static, rss_static)
        row(f"{name}, with confirmation", len(paths), full, rss_full)
        print(
            f"  {'':<44} confirmation adds {full - static:.2f} s, {(full - static) / len(paths):.2f} s a file"
        )


def tree_section() -> None:
    import numpy
    import scipy

    print("A large tree with little RNN code: the .py sources of numpy and scipy")
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "tree"
        for package in (numpy, scipy):
            source = Path(package.__file__).parent
            shutil.copytree(
                source,
                tree / source.name,
                ignore=shutil.ignore_patterns("*.so", "*.pyc", "__pycache__"),
            )
        files = sum(1 for _ in tree.rglob("*.py"))
        lines = sum(p.read_bytes().count(b"\n") for p in tree.rglob("*.py"))
        print(f"  {files} files, {lines} lines")
        results = {}
        results["lstmlint"] = measure([*LSTMLINT, "--no-confirm", str(tree)])
        row("lstmlint (static)", files, *results["lstmlint"])
        results["lstmlint+confirm"] = measure([*LSTMLINT, str(tree)])
        row("lstmlint (with confirmation)", files, *results["lstmlint+confirm"])
        ruff = shutil.which("ruff")
        if ruff:
            results["ruff"] = measure(
                [ruff, "check", "--select", "F401", "--no-cache", "--exit-zero", str(tree)]
            )
            row("ruff check --select F401 --no-cache", files, *results["ruff"])
            print(
                f"  lstmlint / ruff wall time: {results['lstmlint'][0] / results['ruff'][0]:.1f}x"
            )
        else:
            print("  ruff not installed: pip install ruff")
        if shutil.which("fixit"):
            results["fixit"] = measure(["fixit", "lint", str(tree)])
            row("fixit lint (its default rules)", files, *results["fixit"])
            print(
                f"  fixit / lstmlint wall time: {results['fixit'][0] / results['lstmlint'][0]:.0f}x"
            )
        else:
            print("  fixit not installed: pip install fixit (for the side-by-side figure)")


def startup_section() -> None:
    print("Start-up on a folder with no Python files")
    with tempfile.TemporaryDirectory() as temp:
        python, _ = measure([sys.executable, "-c", "pass"], repeat=5)
        lint, rss = measure([*LSTMLINT, temp], repeat=5)
        row("python -c pass", 0, python, 0)
        row("lstmlint <empty folder>", 0, lint, rss)
        print(f"  ratio: {lint / python:.1f}x")


SECTIONS = {"confirm": confirm_section, "tree": tree_section, "startup": startup_section}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SECTIONS)
    for name in chosen:
        SECTIONS[name]()
        print()

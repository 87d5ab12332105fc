"""Benchmarks: wall time, files/s and peak memory of lstmlint and of other tools, side by side.

    python bench/run.py            # all sections
    python bench/run.py tree       # numpy + scipy sources: lstmlint against ruff and fixit
    python bench/run.py dense      # every fixture, repeated: lstmlint against fixit
    python bench/run.py cache      # the result cache: a cold run against a warm one
    python bench/run.py startup    # an empty folder against `python -c pass`
    python bench/run.py confirm    # the cost of dynamic confirmation

fixit runs when it is available: the executable named by the environment variable FIXIT, or
`fixit` on the PATH (install it anywhere, e.g. `python -m venv /tmp/fixit && /tmp/fixit/bin/pip
install fixit`, then `FIXIT=/tmp/fixit/bin/fixit python bench/run.py`). It runs with one rule
(bench/fixit.toml, copied into the tree it lints).

Each figure is the best of a few runs; peak memory is the largest sum, over the process and its
worker processes, of their resident sizes (an upper bound: pages shared after a fork count once
per process). Figures are measured, never asserted: targets live in the README next to the
latest figures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXIT_CONFIG = Path(__file__).resolve().parent / "fixit.toml"
LSTMLINT = [sys.executable, "-m", "lstmlint"]
DENSE_FILES = 300  # about this many files in the dense tree


def _tree_rss_kb(pid: int) -> int:
    """The resident size of ``pid`` and of all its descendants (Linux), in kB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def _sample(pid: int, done: threading.Event, peak: list[int]) -> None:
    while not done.wait(0.02):
        peak[0] = max(peak[0], _tree_rss_kb(pid))


def measure(command: list[str], repeat: int = 3, cwd: Path | None = None) -> tuple[float, float]:
    """Best wall time (s) over ``repeat`` runs and the peak memory (MB) of the process tree."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        sampled = [0]
        done = threading.Event()
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
        )
        sampler = threading.Thread(target=_sample, args=(process.pid, done, sampled), daemon=True)
        if sys.platform == "linux":
            sampler.start()
        _, _, usage = os.wait4(process.pid, 0)
        best = min(best, time.perf_counter() - start)
        done.set()
        if sampler.is_alive():
            sampler.join()
        peak = max(peak, usage.ru_maxrss / 1024, sampled[0] / 1024)
    return best, peak


def row(name: str, files: int, wall: float, rss: float) -> None:
    rate = f"{files / wall:9.0f}" if files and wall > 0 else "        -"
    print(f"  {name:<46} {wall:8.2f} s {rate} files/s {rss:8.0f} MB")


def fixit() -> str | None:
    found = os.environ.get("FIXIT") or shutil.which("fixit")
    return found if found and Path(found).exists() else None


def run_fixit(tree: Path, files: int, results: dict, repeat: int = 1) -> None:
    executable = fixit()
    if executable is None:
        print("  fixit not available (set FIXIT=/path/to/fixit, or put fixit on the PATH)")
        return
    shutil.copy(FIXIT_CONFIG, tree / "fixit.toml")  # fixit reads the config it finds in the tree
    results["fixit"] = measure([executable, "lint", str(tree)], repeat=repeat, cwd=tree)
    row("fixit lint, one rule (NoRedundantFString)", files, *results["fixit"])


def copy_numpy_scipy(tree: Path) -> tuple[int, int]:
    import numpy
    import scipy

    for package in (numpy, scipy):
        source = Path(package.__file__).parent
        shutil.copytree(
            source,
            tree / source.name,
            ignore=shutil.ignore_patterns("*.so", "*.pyc", "__pycache__"),
        )
    files = sum(1 for _ in tree.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in tree.rglob("*.py"))
    return files, lines


def tree_section() -> None:
    print("A large tree with little RNN code: the .py sources of numpy and scipy")
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "tree"
        files, lines = copy_numpy_scipy(tree)
        print(f"  {files} files, {lines} lines")
        results = {}
        ruff = shutil.which("ruff")
        if ruff:
            results["ruff"] = measure(
                [ruff, "check", "--select", "F401", "--no-cache", "--exit-zero", str(tree)],
                repeat=5,
            )
            row("ruff check --select F401 --no-cache", files, *results["ruff"])
        else:
            print("  ruff not installed: pip install ruff")
        static = [*LSTMLINT, "--no-confirm", "--no-cache", str(tree)]
        results["lstmlint"] = measure(static, repeat=5)
        row("lstmlint --no-cache (static)", files, *results["lstmlint"])
        serial = measure([*LSTMLINT, "--no-confirm", "--no-cache", "--jobs", "1", str(tree)])
        row("lstmlint --no-cache --jobs 1 (static)", files, *serial)
        confirmed = measure([*LSTMLINT, "--no-cache", str(tree)])
        row("lstmlint --no-cache (with confirmation)", files, *confirmed)
        run_fixit(tree, files, results)
        ours = results["lstmlint"][0]
        if "ruff" in results:
            print(f"  lstmlint / ruff wall time: {ours / results['ruff'][0]:.2f}x (target: <= 2x)")
        if "fixit" in results:
            print(
                f"  fixit / lstmlint wall time: {results['fixit'][0] / ours:.0f}x (target: >= 100x)"
            )


def dense_tree(tree: Path) -> int:
    """Every fixture, copied until there are about DENSE_FILES files; each copy's files get a
    comment of their own, so that no two files are alike (nothing can be shared between them)."""
    sources = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb"))
    copies = max(1, round(DENSE_FILES / len(sources)))
    for index in range(copies):
        for source in sources:
            target = tree / f"copy{index:02}" / source.relative_to(FIXTURES)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".py":
                target.write_bytes(source.read_bytes() + f"\n# copy {index}\n".encode())
            else:
                shutil.copy(source, target)
    return copies * len(sources)


def dense_section() -> None:
    print("RNN-dense code: every fixture, repeated (each copy made unique)")
    with tempfile.TemporaryDirectory() as temp:
        tree = Path(temp) / "dense"
        files = dense_tree(tree)
        python_files = sum(1 for _ in tree.rglob("*.py"))
        print(f"  {files} files ({python_files} .py, the rest notebooks)")
        results = {}
        results["lstmlint"] = measure([*LSTMLINT, "--no-confirm", "--no-cache", str(tree)], 3)
        row("lstmlint --no-cache (static, all rules)", files, *results["lstmlint"])
        serial = measure([*LSTMLINT, "--no-confirm", "--no-cache", "--jobs", "1", str(tree)], 1)
        row("lstmlint --no-cache --jobs 1 (static)", files, *serial)
        confirmed = measure([*LSTMLINT, "--no-cache", str(tree)], 1)
        row("lstmlint --no-cache (with confirmation)", files, *confirmed)
        run_fixit(tree, python_files, results, repeat=3)
        if "fixit" in results:
            ours = files / results["lstmlint"][0]
            theirs = python_files / results["fixit"][0]
            print(f"  lstmlint / fixit throughput (files/s): {ours / theirs:.2f}x (target: >= 2x)")


def cache_section() -> None:
    print("The result cache: a cold run (empty cache) against a warm one (nothing changed)")
    with tempfile.TemporaryDirectory() as temp:
        fixtures = Path(temp) / "fixtures"
        shutil.copytree(FIXTURES, fixtures)
        tree = Path(temp) / "tree"
        tree_files, _ = copy_numpy_scipy(tree)
        fixture_files = sum(1 for p in fixtures.rglob("*") if p.suffix in (".py", ".ipynb"))
        for name, folder, files, args in (
            ("all fixtures, with confirmation", fixtures, fixture_files, []),
            ("numpy + scipy, static", tree, tree_files, ["--no-confirm"]),
        ):
            cache = folder / ".lstmlint_cache"
            command = [*LSTMLINT, *args, str(folder)]
            cold, cold_rss = float("inf"), 0.0
            for _ in range(3):
                shutil.rmtree(cache, ignore_errors=True)
                wall, rss = measure(command, repeat=1, cwd=folder)
                cold, cold_rss = min(cold, wall), max(cold_rss, rss)
            warm = measure(command, repeat=3, cwd=folder)
            row(f"{name}: cold", files, cold, cold_rss)
            row(f"{name}: warm", files, *warm)
            print(f"  {'':<46} warm is {cold / warm[0]:.1f}x faster (target: >= 10x)")


def startup_section() -> None:
    print("Start-up on a folder with no Python files")
    with tempfile.TemporaryDirectory() as temp:
        python, _ = measure([sys.executable, "-c", "pass"], repeat=7)
        lint, rss = measure([*LSTMLINT, temp], repeat=7)
        row("python -c pass", 0, python, 0)
        row("lstmlint <empty folder>", 0, lint, rss)
        print(f"  ratio: {lint / python:.1f}x (target: <= 3x)")
        probe = (
            "import io, sys, runpy; sys.argv = ['lstmlint', sys.argv[1]]\n"
            "out, sys.stdout = sys.stdout, io.StringIO()\n"
            "try:\n    runpy.run_module('lstmlint', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "sys.stdout = out\n"
            "print(' '.join(m for m in ('numpy', 'libcst', 'rich') if m in sys.modules))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe, temp], capture_output=True, text=True, check=False
        ).stdout.splitlines()[-1:]
        loaded = loaded[0].split() if loaded else []
        print(f"  heavy modules imported: {', '.join(loaded) if loaded else 'none'}")


def confirm_section() -> None:
    print("Dynamic confirmation (extra wall time per file)")
    targets = [("reviewed program", [FIXTURES / "reviewed" / "lstm_scratch.py"])]
    everything = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".py", ".ipynb"))
    targets.append((f"all fixtures ({len(everything)} files)", everything))
    for name, paths in targets:
        args = ["--no-cache", *(str(p) for p in paths)]
        static, rss_static = measure([*LSTMLINT, "--no-confirm", *args], repeat=3)
        reference, rss_reference = measure([*LSTMLINT, "--confirm=reference", *args], repeat=3)
        full, rss_full = measure([*LSTMLINT, "--confirm=auto", *args], repeat=3)
        row(f"{name}, static only", len(paths), static, rss_static)
        row(f"{name}, --confirm=reference", len(paths), reference, rss_reference)
        row(f"{name}, --confirm=auto", len(paths), full, rss_full)
        print(
            f"  {'':<46} --confirm=auto adds {full - static:.2f} s, "
            f"{(full - static) / len(paths):.2f} s a file"
        )
    print()
    print("--confirm=auto per fixture (wall time; reference and your own code)")
    print(f"  {'fixture':<48} {'static':>8} {'reference':>10} {'auto':>8}")
    for path in everything:
        args = ["--no-cache", str(path)]
        times = [
            measure([*LSTMLINT, mode, *args], repeat=1)[0]
            for mode in ("--no-confirm", "--confirm=reference", "--confirm=auto")
        ]
        label = path.relative_to(FIXTURES).as_posix()
        print(f"  {label:<48} {times[0]:>7.2f}s {times[1]:>9.2f}s {times[2]:>7.2f}s")


SECTIONS = {
    "tree": tree_section,
    "dense": dense_section,
    "cache": cache_section,
    "startup": startup_section,
    "confirm": confirm_section,
}

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    for name in chosen:
        SECTIONS[name]()
        print()

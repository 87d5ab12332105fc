"""Lint every .py file of a folder (meant for the installed site-packages) in-process, for review.

    python bench/site_packages.py "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    python bench/site_packages.py FOLDER --limit 500 --slowest 20

Every .py file below FOLDER is checked with ``engine.check_file`` (no discovery filters, no
confirmation), each inside its own try/except. The script prints the number of files, the wall
time, peak memory, the findings per code, every finding (``path:line code message``) for a
review of false alarms, the rules the engine skipped after an internal error, its other notes
(such as code too deeply nested to analyse), and the slowest files. It exits 1 when an exception escaped ``check_file`` for any file (each is listed with its
traceback), and 0 otherwise; ``--strict`` also fails on rules skipped after an internal error.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import traceback
from collections import Counter
from pathlib import Path


def python_files(root: Path) -> list[Path]:
    """Every .py file below ``root`` in a stable order; symlinked folders are not followed."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        found.extend(Path(directory) / name for name in sorted(filenames) if name.endswith(".py"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the folder to lint, e.g. site-packages")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--slowest", type=int, default=10, help="how many slowest files to list")
    parser.add_argument(
        "--strict", action="store_true", help="also fail when a rule was skipped after an error"
    )
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")

    from lstmlint.engine import check_file
    from lstmlint.selection import Selection

    selection = Selection()
    files = python_files(args.folder)
    if args.limit:
        files = files[: args.limit]
    escaped: list[tuple[str, str]] = []
    internal: list[tuple[str, str]] = []
    other_notes: list[tuple[str, str]] = []
    unreadable: list[tuple[str, str]] = []
    findings: list[tuple[str, int, str, str]] = []
    timings: list[tuple[float, str]] = []
    per_code: Counter[str] = Counter()
    flagged_files = 0

    start = time.perf_counter()
    for number, path in enumerate(files, 1):
        display = path.relative_to(args.folder).as_posix()
        began = time.perf_counter()
        try:
            result = check_file(path, display, selection)
        except KeyboardInterrupt:
            raise
        except BaseException:  # every escape, of any kind (a Rust panic is a BaseException)
            escaped.append((display, traceback.format_exc()))
            continue
        finally:
            timings.append((time.perf_counter() - began, display))
        if number % 1000 == 0:
            print(f"  ... {number} files, {time.perf_counter() - start:.0f} s", file=sys.stderr)
        for note in result.notes:
            (internal if "internal error" in note else other_notes).append((display, note))
        if result.unreadable:
            unreadable.extend((display, d.message) for d in result.diagnostics)
            continue
        if result.diagnostics:
            flagged_files += 1
        for diag in result.diagnostics:
            per_code[diag.code] += 1
            line = f"{diag.line}" if diag.cell is None else f"cell {diag.cell} line {diag.line}"
            findings.append((display, line, diag.code, diag.message))
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"Folder:   {args.folder}")
    print(f"Files:    {len(files)} .py files, {flagged_files} with findings")
    rate = len(files) / wall if wall > 0 else 0.0
    print(f"Time:     {wall:.1f} s ({rate:.0f} files/s), peak RSS {peak:.0f} MB")
    print(f"Escaped:  {len(escaped)} exceptions")
    print(f"Internal: {len(internal)} rules skipped after an internal error")
    print(f"Other notes (e.g. code too deeply nested to analyse): {len(other_notes)}")
    print(f"Unreadable (LST001): {len(unreadable)}")
    print("Findings per code:")
    for code, count in sorted(per_code.items()):
        print(f"  {code}  {count}")
    if not per_code:
        print("  (none)")
    print("Findings:")
    for display, line, code, message in findings:
        print(f"  {display}:{line} {code} {message}")
    if unreadable:
        print("Unreadable files:")
        for _display, message in unreadable:
            print(f"  {message}")
    if internal:
        print("Rules skipped after an internal error:")
        for display, note in internal:
            print(f"  {display}: {note}")
    if other_notes:
        print("Other notes:")
        for display, note in other_notes:
            print(f"  {display}: {note}")
    print(f"Slowest {args.slowest} files:")
    for seconds, display in sorted(timings, reverse=True)[: args.slowest]:
        print(f"  {seconds:7.3f} s  {display}")
    if escaped:
        print("Exceptions that escaped check_file:")
        for display, trace in escaped:
            print(f"--- {display}\n{trace}")
    failed = bool(escaped) or (args.strict and bool(internal))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""How many buggy programs `lstmlint --fix` repairs, judged by the programs' own gradient check.

    python bench/fixrate.py --half dev      # the corpus files of one half (bench/realcode/)
    python bench/fixrate.py --fixtures      # the buggy fixtures
    python bench/fixrate.py --half dev --repair-timeout 6   # with another repair budget

A file counts when its own code can be run and gradient-checked (`--harness-report` says
`checked`) and some of its gradients are wrong. Each such file is copied into a scratch folder
with its sibling modules, fixed with `lstmlint --fix` (the default `--confirm=auto`, so the
repair search runs), and checked again: it is repaired when every gradient is then exact. The
text of a fix is never compared with anything; only the gradient check decides. Prints the
counts (and those of the files whose labels name one gradient bug), why the files left
unrepaired are (no gradient finding, LST900 alone, findings without a fix, a fix that left
some gradient wrong), which codes the applied fixes came from, and the time taken.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "realcode"))
from refill import cached_path, load_manifest  # noqa: E402

OPTIONS: list[str] = []  # passed to every run (`--repair-timeout 6`)


def _lstmlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "lstmlint", "--no-cache", "--isolated", *OPTIONS, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd)


def _wrong(path: Path, scratch: Path) -> set[str] | None:
    """The parameters whose gradients are wrong, or None when the file's code was not checked."""
    report = scratch / "harness.json"
    _lstmlint(
        "--harness-report", str(report), "--format", "json", "--exit-zero", str(path), cwd=scratch
    )
    records = json.loads(report.read_text()) if report.exists() else []
    if not records or records[0]["status"] != "checked":
        return None
    return {p["name"] for p in records[0]["parameters"] if p["verdict"] != "PASS"}


def _why_not(findings: list[dict], changed: bool, left: set[str] | None) -> str:
    """Why a file is left unrepaired, in a few words (for the summary)."""
    if changed:
        return (
            "fixed, but not checkable after" if left is None else "fixed, some gradient still wrong"
        )
    gradient = [f for f in findings if f["code"].startswith(("LST1", "LST2", "LST3", "LST9"))]
    if not gradient:
        return "no gradient finding"
    if any(f["code"] == "LST900" for f in gradient) and all(
        not f.get("edits") or f["code"] == "LST900" for f in gradient
    ):
        return "unexplained (LST900), no fix"
    return "gradient findings, no fix applied"


def measure(files: list[Path], labelled: dict[Path, int] | None = None) -> None:
    """``labelled``: how many gradient bugs each file's labels name, where that is known."""
    labelled = labelled or {}
    runnable = repaired = 0
    single = [0, 0]  # files with one labelled gradient bug: whose code runs, repaired
    why: Counter[str] = Counter()  # why the files left unrepaired are
    codes: Counter[str] = Counter()
    started = time.perf_counter()
    for source in files:
        with tempfile.TemporaryDirectory(prefix="lstmlint-fixrate-") as folder:
            scratch = Path(folder)
            for sibling in source.parent.glob("*.py"):
                if sibling != source and sibling.stem in source.read_text(errors="replace"):
                    shutil.copy(sibling, scratch / sibling.name)
            path = scratch / source.name
            shutil.copy(source, path)
            wrong = _wrong(path, scratch)
            if not wrong:
                continue
            runnable += 1
            found = _lstmlint("--format", "json", "--exit-zero", str(path), cwd=scratch)
            findings = json.loads(found.stdout or "[]")
            fixable = [
                f["code"]
                for f in findings
                if f.get("edits") and (f.get("confirmation") or {}).get("status") == "confirmed"
            ]
            before = path.read_text(errors="replace")
            _lstmlint("--fix", "--exit-zero", str(path), cwd=scratch)
            left = _wrong(path, scratch)
            fixed = left is not None and not left
            repaired += fixed
            if not fixed:
                why[_why_not(findings, before != path.read_text(errors="replace"), left)] += 1
            if labelled.get(source) == 1:
                single[0] += 1
                single[1] += fixed
            codes.update(set(fixable))
            print(
                f"{'repaired' if fixed else 'not     '}  {source.name}  wrong before: "
                f"{len(wrong)}, after: {'-' if left is None else len(left)}"
            )
    seconds = time.perf_counter() - started
    share = f"{100 * repaired / runnable:.0f} %" if runnable else "-"
    print(
        f"\n{repaired}/{runnable} ({share}) buggy files whose code runs have exact gradients "
        f"after --fix; {seconds:.0f} s"
    )
    if single[0]:
        print(
            f"of them with one labelled gradient bug: {single[1]}/{single[0]} "
            f"({100 * single[1] / single[0]:.0f} %)"
        )
    for reason, count in why.most_common():
        print(f"    {count}  {reason}")
    print(
        "codes of the confirmed fixes offered: "
        + ", ".join(f"{c} {n}" for c, n in codes.most_common())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["dev", "test"])
    parser.add_argument("--fixtures", action="store_true")
    parser.add_argument(
        "--repair-timeout", metavar="SECONDS", help="the repair search's budget per file"
    )
    args = parser.parse_args()
    if args.repair_timeout is not None:
        OPTIONS.extend(["--repair-timeout", args.repair_timeout])
    labelled: dict[Path, int] = {}
    if args.fixtures:
        files = sorted(p for p in (ROOT / "fixtures").rglob("*_buggy.py"))
    else:
        entries = [
            e
            for e in load_manifest()
            if e.get("half") == (args.half or "dev")
            and e.get("python", 3) == 3
            and any(b.get("kind", "gradient") == "gradient" for b in e.get("bugs", []))
        ]
        files = [cached_path(e) for e in entries if cached_path(e).exists()]
        labelled = {
            cached_path(e): sum(b.get("kind", "gradient") == "gradient" for b in e["bugs"])
            for e in entries
        }
    measure(files, labelled)


if __name__ == "__main__":
    main()

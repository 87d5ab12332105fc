"""Measure lstmlint on the real-code corpus (bench/realcode/): labelled bugs found, false alarms.

    python bench/realcode.py                       # both halves, --confirm=reference
    python bench/realcode.py --half dev            # one half
    python bench/realcode.py --confirm auto        # also run the files' own code
    python bench/realcode.py --misses              # list every missed bug and false finding

Run `python bench/realcode/refill.py` first. Per half and rule family it prints: the labelled
gradient bugs, how many lstmlint reports at their line with their rule's code, the gradient
findings that match no label (on any labelled file, and on correct files alone), the share of
matched findings that are `confirmed`, `confirmed` findings on correct files (there must be
none), and in how many runnable Python 3 files with a backward the files' own code was checked.

A label is found when a finding of its code covers its line, or its fix edits that line (in its
cell, for notebooks). A missing carried gradient (LST206) has no line of its own: any LST206 finding in the same file
and cell counts. Labels of class `other` are found by a gradient finding of any code at their
line. LST900 (with `--confirm auto`: the file's own gradients are wrong and no rule explains
it) points at a backward function, not a line: it finds no label, and counts as a true finding
on a file with a labelled gradient bug and as a false one on a gradient-correct file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "realcode"))
from refill import cached_path, load_manifest  # noqa: E402

# every rule of the state-offset and derivative families, whatever rules are added to them
GRADIENT_FAMILIES = ("LST1", "LST2")
GRADIENT_EXTRA = {"LST301", "LST900", "LST901"}
NUMERIC_CODES = {"LST302", "LST303"}
FAMILIES = {"LST1": "state offsets", "LST2": "derivatives, carries", "LST3": "loss scale"}


def is_gradient(code: str) -> bool:
    return code[:4] in GRADIENT_FAMILIES or code in GRADIENT_EXTRA


def family(code: str) -> str:
    if code in NUMERIC_CODES:
        return "numeric"
    return code[:4] if code[:4] in FAMILIES else "other"


def gradient_correct(entry: dict) -> bool:
    """A file whose gradients are exact: labelled correct, or with numeric bugs only."""
    if entry["status"] == "incomplete":
        return False
    return not any(b.get("kind", "gradient") == "gradient" for b in entry.get("bugs", []))


@dataclass
class Tally:
    labelled: int = 0
    found: int = 0
    false: int = 0
    false_on_correct: int = 0
    matched: int = 0
    confirmed: int = 0
    confirmed_on_correct: int = 0
    misses: list[str] = field(default_factory=list)


def run_lstmlint(paths: list[Path], confirm: str, report: Path) -> list[dict]:
    """lstmlint's JSON findings for ``paths`` (no cache, so every figure is a cold run)."""
    command = [sys.executable, "-m", "lstmlint", "--format", "json", "--no-cache", "--exit-zero"]
    command += ["--isolated", f"--confirm={confirm}", "--show-refuted", "--confirm-timeout", "900"]
    if confirm in ("auto", "exec"):
        command += ["--harness-report", str(report)]
    # run outside the repository, so that the lstmlint installed for this Python is the one
    # measured (`python -m` puts the working folder first on the path)
    where = report.parent
    done = subprocess.run(
        command + [str(p.resolve()) for p in paths], capture_output=True, text=True, cwd=where
    )
    if done.returncode not in (0, 1):
        sys.exit(f"lstmlint failed ({done.returncode}):\n{done.stderr[-2000:]}")
    findings = json.loads(done.stdout or "[]")
    for finding in findings:
        finding["path"] = str((where / finding["path"]).resolve())
    return findings


def _covers(finding: dict, bug: dict) -> bool:
    if finding.get("cell") != bug.get("cell"):
        return False
    if bug["class"] == "LST206" and finding["code"] == "LST206":
        return True
    # the finding's own lines, and the lines its fix edits (LST203 points at the use of a gate
    # gradient and multiplies it by the derivative where it is defined)
    spans = [(finding["line"], finding.get("end_line", finding["line"]))]
    spans += [(edit["line"], edit["end_line"]) for edit in finding.get("edits") or []]
    if any(first <= bug["line"] <= last for first, last in spans):
        return bug["class"] == "other" or finding["code"] == bug["class"]
    return False


def score(entries: list[dict], findings: list[dict]) -> dict[str, Tally]:
    """Per rule family, the tally of ``findings`` against the entries' labels."""
    by_path: dict[str, list[dict]] = defaultdict(list)
    for finding in findings:
        by_path[str(Path(finding["path"]).resolve())].append(finding)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for entry in entries:
        if entry["status"] == "incomplete" and not entry.get("bugs"):
            continue
        found_here = by_path[str(cached_path(entry).resolve())]
        gradient = [f for f in found_here if is_gradient(f["code"]) or f["code"] in NUMERIC_CODES]
        bugs = entry.get("bugs", [])
        for bug in bugs:
            tally = tallies[family(bug["class"])]
            tally.labelled += 1
            if any(_covers(f, bug) for f in gradient):
                tally.found += 1
            else:
                where = f"cell {bug['cell']} " if bug.get("cell") is not None else ""
                tally.misses.append(
                    f"miss  {entry['id']}: {where}line {bug['line']} {bug['class']}: {bug['text']}"
                )
        for finding in gradient:
            status = (finding.get("confirmation") or {}).get("status")
            if status == "refuted":
                continue
            tally = tallies[family(finding["code"])]
            # an error no rule explains is reported on the backward function, not on a line: on
            # a file with a labelled gradient bug it is a true finding, though it finds no label
            unexplained = finding["code"] == "LST900" and not gradient_correct(entry)
            if unexplained or any(_covers(finding, bug) for bug in bugs):
                tally.matched += 1
                tally.confirmed += status == "confirmed"
                continue
            tally.false += 1
            if gradient_correct(entry):
                tally.false_on_correct += 1
                tally.confirmed_on_correct += status == "confirmed"
            where = f"cell {finding['cell']} " if finding.get("cell") is not None else ""
            tally.misses.append(
                f"false {entry['id']}: {where}line {finding['line']} {finding['code']} ({status})"
            )
    return tallies


def harness_reach(
    entries: list[dict], report: Path, unreached: list[str] | None = None
) -> tuple[int, int, int, dict[str, int]]:
    """Files whose own code was checked, of them those where some entry point was not, and
    runnable Python 3 files with a backward; ``unreached`` gets one line per file that was not
    checked, with its whole reason."""
    if not report.exists():
        return 0, 0, 0, {}
    records = json.loads(report.read_text())
    statuses = {str((report.parent / r["path"]).resolve()): r for r in records}
    eligible = [e for e in entries if e.get("python", 3) == 3 and e["label_method"] == "gradcheck"]
    reasons: dict[str, int] = defaultdict(int)
    checked = partly = 0
    for entry in eligible:
        record = statuses.get(str(cached_path(entry).resolve()), {"status": "not-analysed"})
        if record["status"] == "checked":
            checked += 1
            partly += bool(record.get("not_checked"))  # some entry points were not checked
        else:
            reasons[f"{record['status']}: {record.get('reason', '')[:70]}"] += 1
            if unreached is not None:
                unreached.append(
                    f"unreached {entry['id']}: {record['status']}: {record.get('reason')}"
                )
    return checked, partly, len(eligible), reasons


def _percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "-"


def print_table(half: str, tallies: dict[str, Tally]) -> None:
    print(f"\n{half} half")
    print(
        "| family | labelled bugs found at their line | findings matching no label "
        "(on gradient-correct files) | confirmed share of found | confirmed on correct files |"
    )
    print("|---|---|---|---|---|")
    total = Tally()
    for key in ("LST1", "LST2", "LST3", "other"):
        tally = tallies.get(key, Tally())
        for name in ("labelled", "found", "false", "false_on_correct", "matched", "confirmed"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        total.confirmed_on_correct += tally.confirmed_on_correct
    rows = [(f"{k} {FAMILIES[k]}", tallies.get(k, Tally())) for k in ("LST1", "LST2", "LST3")]
    rows += [
        ("other (no rule's class)", tallies.get("other", Tally())),
        ("**all gradient bugs**", total),
    ]
    rows += [("numeric: log, softmax (LST302-303)", tallies.get("numeric", Tally()))]
    for label, tally in rows:
        print(
            f"| {label} | {_percent(tally.found, tally.labelled)} | {tally.false} "
            f"({tally.false_on_correct}) | {_percent(tally.confirmed, tally.matched)} "
            f"| {tally.confirmed_on_correct} |"
        )
    findings = total.matched + total.false
    print(f"precision of gradient findings: {_percent(total.matched, findings)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--confirm", choices=("off", "reference", "auto"), default="reference")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    entries = load_manifest()
    missing = [e["id"] for e in entries if not cached_path(e).exists()]
    if missing:
        print(f"{len(missing)} files are not cached (run bench/realcode/refill.py): {missing[:5]}")
    halves = ("dev", "test") if args.half == "both" else (args.half,)
    for half in halves:
        chosen = [e for e in entries if e["half"] == half and cached_path(e).exists()]
        with tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "harness.json"
            findings = run_lstmlint([cached_path(e) for e in chosen], args.confirm, report)
            tallies = score(chosen, findings)
            exact = sum(gradient_correct(e) for e in chosen)
            print(
                f"\n{len(chosen)} files ({len(chosen) - exact} with gradient bugs or incomplete, "
                f"{exact} gradient-correct), --confirm={args.confirm}"
            )
            print_table(half, tallies)
            if args.confirm == "auto":
                unreached: list[str] = []
                checked, partly, eligible, reasons = harness_reach(chosen, report, unreached)
                print(
                    f"own code checked: {_percent(checked, eligible)} of runnable Python 3 files"
                    f" ({partly} of them with some entry point not checked)"
                )
                for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
                    print(f"  {count:3d}  {reason}")
                if args.misses:
                    print("\n".join(unreached))
        if args.misses:
            for tally in tallies.values():
                print("\n".join(tally.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())

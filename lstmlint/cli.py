"""The ``lstmlint`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lstmlint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmlint",
        description="Find the silent gradient bugs of hand-written LSTM, GRU and RNN backprop in NumPy.",
    )
    parser.add_argument(
        "paths", nargs="*", default=["."], help="files or folders to check (default: .)"
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="CODES",
        help="only these rule codes, prefixes (LST1) or names; comma-separated, repeatable",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODES",
        help="skip these rule codes, prefixes or names; comma-separated, repeatable",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files and folders matching this glob (repeatable)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour in text output (default: auto)",
    )
    parser.add_argument(
        "--no-confirm",
        action="store_true",
        help="skip the reference gradient checks that prove each finding",
    )
    parser.add_argument(
        "--show-refuted",
        action="store_true",
        help="also list findings that the gradient check refuted",
    )
    parser.add_argument(
        "--confirm-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit for all experiments of a run (default: 60)",
    )
    parser.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    parser.add_argument(
        "--explain", metavar="CODE", help="print the documentation of a rule and exit"
    )
    parser.add_argument("--version", action="version", version=f"lstmlint {__version__}")
    return parser


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _list_rules(out) -> int:
    from lstmlint.registry import all_rules

    for rule in all_rules():
        out.write(f"{rule.code}  {rule.name:<36} {rule.summary}\n")
    return EXIT_CLEAN


def _explain(code: str, out) -> int:
    from lstmlint.registry import rule_by_code

    rule = rule_by_code(code)
    if rule is None:
        sys.stderr.write(f"lstmlint: error: unknown rule {code!r} (see --list-rules)\n")
        return EXIT_ERROR
    out.write(
        f"{rule.code} {rule.name} ({rule.severity.value})\n\n{rule.summary}\n\n{rule.doc.strip()}\n"
    )
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = sys.stdout
    if args.list_rules:
        return _list_rules(out)
    if args.explain:
        return _explain(args.explain, out)

    from lstmlint.discovery import Target, discover
    from lstmlint.engine import check_file
    from lstmlint.selection import Selection, SelectionError, validate

    select, ignore = _split(args.select) or ["ALL"], _split(args.ignore)
    try:
        if (
            select != ["ALL"] or ignore
        ):  # checking names needs the rules; a plain run loads them lazily
            validate(select + ignore)
    except SelectionError as exc:
        sys.stderr.write(f"lstmlint: error: {exc}\n")
        return EXIT_ERROR
    selection = Selection(tuple(select), tuple(ignore))
    status = EXIT_CLEAN
    results = []
    for target in discover(args.paths, tuple(args.exclude)):
        if not isinstance(target, Target):
            sys.stderr.write(f"lstmlint: error: {target}: no such file or directory\n")
            status = EXIT_ERROR
            continue
        results.append(check_file(target.path, target.display, selection))

    refuted = 0
    if not args.no_confirm:
        from lstmlint.confirm import confirm

        confirm((d for r in results for d in r.diagnostics), args.confirm_timeout)
        for result in results:
            hidden = [
                d
                for d in result.diagnostics
                if d.confirmation and d.confirmation["status"] == "refuted"
            ]
            refuted += len(hidden)
            if not args.show_refuted:
                result.diagnostics = [d for d in result.diagnostics if d not in hidden]

    if args.format == "json":
        from lstmlint.reporting import json_report

        json_report.write(results, out)
    else:
        from lstmlint.reporting import text_report

        color = {"auto": None, "always": True, "never": False}[args.color]
        text_report.write(results, out, color, refuted_hidden=0 if args.show_refuted else refuted)
    if any(r.unreadable for r in results):
        status = EXIT_ERROR
    elif status == EXIT_CLEAN and any(r.diagnostics for r in results):
        status = EXIT_FINDINGS
    return status


if __name__ == "__main__":
    sys.exit(main())

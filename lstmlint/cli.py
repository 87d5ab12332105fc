"""The ``lstmlint`` command."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lstmlint import __version__
from lstmlint.reporting import FORMATS
from lstmlint.settings import CONFIRM_MODES, DEFAULT_REPAIR_TIMEOUT, Settings

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
DEFAULT_CONFIRM_TIMEOUT = 60.0
PROGRESS_MIN_FILES = 20  # a progress bar only for runs with at least this many files


class UsageError(Exception):
    """A problem with the command line or configuration (exit status 2)."""


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {value!r}")
    return number


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmlint",
        description="Find the silent gradient bugs of hand-written LSTM, GRU and RNN backprop in NumPy.",
        epilog="Settings also come from [tool.lstmlint] in the nearest pyproject.toml; "
        "command-line options override them (see --show-settings).",
    )
    parser.add_argument(
        "paths", nargs="*", default=["."], help="files or folders to check (default: .)"
    )
    rules = parser.add_argument_group("rule selection")
    rules.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="CODES",
        help="only these rule codes, prefixes (LST1), names or ALL; comma-separated, repeatable",
    )
    rules.add_argument(
        "--extend-select",
        action="append",
        default=[],
        metavar="CODES",
        help="add these rules to the selection (e.g. LST002); comma-separated, repeatable",
    )
    rules.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="CODES",
        help="skip these rule codes, prefixes or names; comma-separated, repeatable",
    )
    files = parser.add_argument_group("file selection")
    files.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip files and folders matching this glob (repeatable; replaces the configured exclude)",
    )
    files.add_argument(
        "--extend-exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip these too, in addition to the configured exclusions (repeatable)",
    )
    files.add_argument(
        "--force-exclude",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the exclusions to files named on the command line too (as pre-commit passes them)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output format: text, concise, json, sarif, github (Actions annotations), "
        "gitlab (Code Quality), junit (default: text)",
    )
    output.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="write the report to FILE (atomically) instead of standard output",
    )
    output.add_argument(
        "--statistics",
        action="store_true",
        help="print the number of findings per rule instead of the findings",
    )
    output.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour in text output (default: auto)",
    )
    output.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit with status 0 even when there are findings",
    )
    confirm = parser.add_argument_group("confirmation")
    confirm.add_argument(
        "--confirm",
        nargs="?",
        const="auto",
        default=None,
        choices=CONFIRM_MODES,
        metavar="MODE",
        help="how findings are proved: auto (run your own forward/backward when it uses nothing "
        "but NumPy and math, else the reference models), exec (run your code regardless), "
        "reference (never run your code), off (default: auto)",
    )
    confirm.add_argument(
        "--no-confirm",
        dest="confirm",
        action="store_const",
        const="off",
        help="static analysis only: no gradient checks (same as --confirm=off)",
    )
    confirm.add_argument(
        "--show-refuted",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also list findings that the gradient check refuted",
    )
    confirm.add_argument(
        "--confirm-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="time limit for all reference experiments of a run (default: 60)",
    )
    confirm.add_argument(
        "--repair-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="time for the repair search of each wrong backward, within its file's time limit "
        f"(default: {DEFAULT_REPAIR_TIMEOUT:g})",
    )
    confirm.add_argument(
        "--no-repair",
        dest="repair_timeout",
        action="store_const",
        const=0.0,
        help="no repair search (same as --repair-timeout 0 in the configuration)",
    )
    confirm.add_argument(
        "--harness-report",
        metavar="FILE",
        help="write, as JSON, how checking your own code went in each file with recurrent code",
    )
    fixing = parser.add_argument_group("fixes")
    fixing.add_argument(
        "--fix",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="apply the fixes that a gradient check verified, then report what is left",
    )
    fixing.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --fix or --diff, also apply fixes that no gradient check verified",
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff and write nothing",
    )
    speed = parser.add_argument_group("speed")
    speed.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=None,
        metavar="N",
        help="check files in N processes (default: the number of cores; 1: no worker processes)",
    )
    speed.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        default=None,
        help="neither read nor write the result cache (.lstmlint_cache/)",
    )
    adoption = parser.add_argument_group("suppressions and baselines")
    adoption.add_argument(
        "--warn-unused-noqa",
        action="store_true",
        help="report unused and unknown `# noqa: LST...` codes (LST002)",
    )
    adoption.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODE` comments for every current finding, then exit",
    )
    adoption.add_argument(
        "--baseline", metavar="FILE", help="report only findings that are not in this baseline"
    )
    adoption.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="record the current findings in FILE as the baseline, then exit",
    )
    settings = parser.add_argument_group("configuration")
    settings.add_argument(
        "--config",
        metavar="FILE",
        help="read settings from FILE (a pyproject.toml, or a TOML file with the same keys at the top level)",
    )
    settings.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    settings.add_argument(
        "--show-settings",
        action="store_true",
        help="print the resolved settings and where they come from, then exit",
    )
    info = parser.add_argument_group("rules")
    info.add_argument("--list-rules", action="store_true", help="print every rule and exit")
    info.add_argument(
        "--explain", metavar="CODE", help="print the documentation of a rule and exit"
    )
    parser.add_argument("--version", action="version", version=f"lstmlint {__version__}")
    return parser


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _list_rules(out) -> int:
    from lstmlint.rulesdoc import all_infos

    for info in all_infos():
        out.write(f"{info.code}  {info.name:<36} {info.summary}\n")
    return EXIT_CLEAN


def _explain(code: str, out) -> int:
    from lstmlint.rulesdoc import info_by_code

    info = info_by_code(code)
    if info is None:
        sys.stderr.write(f"lstmlint: error: unknown rule {code!r} (see --list-rules)\n")
        return EXIT_ERROR
    out.write(
        f"{info.code} {info.name} ({info.severity.value})\n\n{info.summary}\n\n"
        f"{info.doc.strip()}\n\nDocumentation: {info.url}\n"
    )
    return EXIT_CLEAN


def _resolve(args) -> Settings:
    from lstmlint import config as config_module
    from lstmlint.selection import Layer, Selection, SelectionError, validate

    if args.config and args.isolated:
        raise UsageError("--config and --isolated cannot be used together")
    try:
        file_config = config_module.discover(args.paths, args.config, args.isolated)
    except config_module.ConfigError as exc:
        raise UsageError(str(exc)) from None
    origin = (
        f"{_shown(file_config.path)}" if file_config.path is not None else "the built-in defaults"
    )
    sources: dict[str, str] = {}

    cli_select = _split(args.select) or None
    cli_extend = _split(args.extend_select)
    cli_ignore = _split(args.ignore)
    for flag, values in (
        ("--select", cli_select or []),
        ("--extend-select", cli_extend),
        ("--ignore", cli_ignore),
    ):
        try:
            validate(values)
        except SelectionError as exc:
            raise UsageError(f"{flag}: {exc} (see --list-rules)") from None
    if args.warn_unused_noqa:
        cli_extend.append("LST002")
    file_layer = Layer(file_config.select, file_config.extend_select, file_config.ignore)
    cli_layer = Layer(
        tuple(cli_select) if cli_select else None, tuple(cli_extend), tuple(cli_ignore)
    )
    selection = Selection(layers=(file_layer, cli_layer))

    # command-line globs keep their meaning (matched at any depth); configured ones are
    # anchored at the configuration file's folder
    configured = [] if args.exclude else list(file_config.exclude or ())
    configured += file_config.extend_exclude
    given = [*args.exclude, *args.extend_exclude]
    sources["exclude"] = "the command line" if args.exclude else origin
    exclude = [(p, file_config.root) for p in configured] + [(p, Path.cwd()) for p in given]
    discovery_patterns = (
        *(config_module.discovery_pattern(p, file_config.root) for p in configured),
        *given,
    )

    def pick(name: str, cli_value, file_value, default):
        if cli_value is not None:
            sources[name] = "the command line"
            return cli_value
        if file_value is not None:
            sources[name] = origin
            return file_value
        sources[name] = "the built-in defaults"
        return default

    return Settings(
        paths=list(args.paths),
        config_path=file_config.path,
        root=file_config.root,
        selection=selection,
        layers={
            origin: {
                "select": file_config.select,
                "extend-select": list(file_config.extend_select),
                "ignore": list(file_config.ignore),
            },
            "the command line": {
                "select": cli_select,
                "extend-select": cli_extend,
                "ignore": cli_ignore,
            },
        },
        per_file_ignores=list(file_config.per_file_ignores),
        exclude=exclude,
        discovery_patterns=discovery_patterns,
        force_exclude=pick("force-exclude", args.force_exclude, file_config.force_exclude, False),
        confirm=pick("confirm", args.confirm, file_config.confirm, "auto"),
        confirm_timeout=pick(
            "confirm-timeout",
            args.confirm_timeout,
            file_config.confirm_timeout,
            DEFAULT_CONFIRM_TIMEOUT,
        ),
        repair_timeout=pick(
            "repair-timeout",
            args.repair_timeout,
            file_config.repair_timeout,
            DEFAULT_REPAIR_TIMEOUT,
        ),
        show_refuted=pick("show-refuted", args.show_refuted, file_config.show_refuted, False),
        harness=file_config.harness,
        fix=pick("fix", args.fix, file_config.fix, False),
        unsafe_fixes=pick("unsafe-fixes", args.unsafe_fixes, file_config.unsafe_fixes, False),
        jobs=pick("jobs", args.jobs, file_config.jobs, None),
        # LSTMLINT_NO_CACHE=1 turns the cache off where no option can be passed (CI, tests)
        cache=pick("cache", args.cache, file_config.cache, not os.environ.get("LSTMLINT_NO_CACHE")),
        warn_unused_noqa=selection.enabled("LST002", "unused-noqa"),
        sources=sources,
    )


def _shown(path: Path | None) -> str:
    if path is None:
        return "none"
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _show_settings(settings: Settings, args, out) -> int:
    def value(v) -> str:
        return json.dumps(v)

    lines = [
        f"# lstmlint {__version__}",
        f"config-file = {value(_shown(settings.config_path))}",
        f"root = {value(settings.root.as_posix())}",
        f"paths = {value(settings.paths)}",
        "",
        "# rule selection, applied in this order",
    ]
    for origin, layer in settings.layers.items():
        lines.append(
            f"#   {origin}: select = {value(layer['select'])}, "
            f"extend-select = {value(layer['extend-select'])}, ignore = {value(layer['ignore'])}"
        )
    lines += [
        f"enabled = {value(settings.selection.enabled_codes())}",
        f"per-file-ignores = {value({p: list(c) for p, c in settings.per_file_ignores})}",
        "",
        f"# exclude from {settings.sources['exclude']} (patterns with their folders)",
        f"exclude = {value([f'{root.as_posix()}: {p}' for p, root in settings.exclude])}",
    ]
    for name, attribute in (
        ("force-exclude", "force_exclude"),
        ("confirm", "confirm"),
        ("confirm-timeout", "confirm_timeout"),
        ("repair-timeout", "repair_timeout"),
        ("show-refuted", "show_refuted"),
        ("fix", "fix"),
        ("unsafe-fixes", "unsafe_fixes"),
        ("jobs", "jobs"),
        ("cache", "cache"),
    ):
        lines.append(
            f"{name} = {value(getattr(settings, attribute))}  # from {settings.sources[name]}"
        )
    lines += [
        f"harness = {value(_harness_table(settings.harness))}",
        f"warn-unused-noqa = {value(settings.warn_unused_noqa)}",
        f"format = {value(args.format)}",
        f"output-file = {value(args.output_file)}",
    ]
    out.write("\n".join(lines) + "\n")
    return EXIT_CLEAN


def _harness_table(harness) -> dict:
    """``[tool.lstmlint.harness]`` as it is in force, limits included."""
    return {"timeout": harness.timeout, "memory-mb": harness.memory_mb, **dict(harness.entries)}


def _explicitly_excluded(raw: str, settings: Settings) -> bool:
    from lstmlint.config import path_matches

    path = Path(raw).absolute()
    return any(path_matches(path, pattern, root) for pattern, root in settings.exclude)


def _progress(total: int):
    """A rich progress bar on stderr for long runs on a terminal, else None."""
    if total < PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(file=sys.stderr),
        transient=True,
    )


def _add_noqa(results) -> int:
    from lstmlint import suppression

    lines = files = skipped = 0
    for result in results:
        doc = result.document
        if doc is None or not result.diagnostics:
            continue
        plan = suppression.plan(doc, result.diagnostics)
        skipped += plan.skipped
        if not plan.lines:
            continue
        path = Path(result.path)
        try:
            if doc.is_notebook:
                changed = suppression.add_to_notebook(path, doc, plan)
            else:
                changed = suppression.add_to_python(path, plan)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"lstmlint: error: {result.path}: could not add noqa: {exc}\n")
            continue
        if changed:
            lines += changed
            files += 1
    message = f"Added {lines} noqa directive{'s' if lines != 1 else ''}"
    message += f" to {files} file{'s' if files != 1 else ''}."
    if skipped:
        message += (
            f" {skipped} finding{'s' if skipped != 1 else ''} left alone: no comment can go on "
            "its lines (inside a string or a backslash continuation)."
        )
    sys.stderr.write(message + "\n")
    return lines


def _statistics(results, out, as_json: bool) -> None:
    from collections import Counter

    counts = Counter((d.code, d.name) for r in results for d in r.diagnostics)
    confirmed = Counter(
        d.code
        for r in results
        for d in r.diagnostics
        if d.confirmation and d.confirmation.get("status") == "confirmed"
    )
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    if as_json:
        records = [
            {"code": code, "name": name, "count": count, "confirmed": confirmed[code]}
            for (code, name), count in rows
        ]
        json.dump(records, out, indent=2)
        out.write("\n")
        return
    for (code, name), count in rows:
        out.write(f"{count:>5}  {code}  {name:<36} {confirmed[code]} confirmed\n")
    total = sum(counts.values())
    out.write(f"Found {total} finding{'s' if total != 1 else ''}.\n")


def _hide_refuted(results, settings: Settings) -> dict[str, int]:
    """The number of findings the gradient check refuted per file; they are dropped from the
    results unless they are shown."""
    refuted = {}
    for result in results:
        hidden = [
            d
            for d in result.diagnostics
            if d.confirmation and d.confirmation["status"] == "refuted"
        ]
        refuted[result.path] = len(hidden)
        if not settings.show_refuted:
            result.diagnostics = [d for d in result.diagnostics if d not in hidden]
    return refuted


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _fix_plan(results, targets, settings: Settings) -> list:
    """Fix every file with applicable findings in memory (``fixer.fix_file``); nothing is written."""
    from lstmlint import fixer
    from lstmlint.reporting import fix_applicable
    from lstmlint.runner import _file_selection

    paths = {t.display: t.path for t in targets}
    plans = []
    for result in results:
        path = paths.get(result.path)
        wanted = [d for d in result.diagnostics if fix_applicable(d, settings.unsafe_fixes)]
        if path is None or not wanted:
            continue
        expected = result.document.text if result.document is not None else None
        plans.append(
            fixer.fix_file(
                path,
                result.path,
                result.diagnostics,
                _file_selection(settings, path),
                lambda d: fix_applicable(d, settings.unsafe_fixes),
                expected,
            )
        )
    for plan in plans:
        if plan.error:
            sys.stderr.write(f"lstmlint: error: {plan.display}: not fixed: {plan.error}\n")
    return plans


def _verified_only_note(results, settings: Settings) -> bool:
    """Say why ``--fix`` without ``--unsafe-fixes`` does nothing under ``--no-confirm``."""
    from lstmlint.reporting import fix_applicable

    if settings.unsafe_fixes or settings.confirm != "off":
        return False
    unsafe = sum(1 for r in results for d in r.diagnostics if fix_applicable(d, True))
    if unsafe:
        sys.stderr.write(
            "No fixes applied: --fix applies only fixes a gradient check verified, and "
            f"--no-confirm runs no checks; {_plural(unsafe, 'fix', 'fixes')} can be applied with "
            "--unsafe-fixes.\n"
        )
    return bool(unsafe)


def _show_diff(results, targets, settings: Settings, out, status: int) -> int:
    """``--diff``: what ``--fix`` would change, as unified diffs; nothing is written."""
    _verified_only_note(results, settings)
    plans = [p for p in _fix_plan(results, targets, settings) if p.changed]
    for plan in plans:
        out.write(plan.diff())
    fixed = sum(p.fixed for p in plans)
    sys.stderr.write(
        f"Would fix {_plural(fixed, 'finding')} in {_plural(len(plans), 'file')}.\n"
        if plans
        else "No fixes to apply.\n"
    )
    if status == EXIT_ERROR or any(r.unreadable for r in results):
        return EXIT_ERROR
    return EXIT_FINDINGS if plans else EXIT_CLEAN


def _fix(results, targets, settings: Settings, refuted: dict) -> tuple[list, dict, int]:
    """``--fix``: write the fixed files, check them again (with confirmation, as any run) and
    return the new results, the refuted count and EXIT_ERROR if a file could not be written."""
    from lstmlint import fixer
    from lstmlint.reporting import fix_applicable
    from lstmlint.runner import run

    noted = _verified_only_note(results, settings)
    status = EXIT_CLEAN
    written = []
    for plan in _fix_plan(results, targets, settings):
        if not plan.changed:
            continue
        try:
            fixer.write(plan)
        except OSError as exc:
            sys.stderr.write(
                f"lstmlint: error: {plan.display}: cannot write the fix: {exc.strerror or exc}\n"
            )
            status = EXIT_ERROR
            continue
        except fixer.FixError as exc:
            sys.stderr.write(f"lstmlint: error: {plan.display}: not fixed: {exc}\n")
            status = EXIT_ERROR
            continue
        written.append(plan)
    if written:
        again = {p.display for p in written}
        checked = run([t for t in targets if t.display in again], settings)
        refuted = {**refuted, **_hide_refuted(checked, settings)}
        by_path = {r.path: r for r in checked}
        results = [by_path.get(r.path, r) for r in results]
    fixed = sum(p.fixed for p in written)
    left = sum(len(r.diagnostics) for r in results)
    if fixed:
        sys.stderr.write(
            f"Fixed {_plural(fixed, 'finding')} in {_plural(len(written), 'file')} ({left} left).\n"
        )
    elif not noted:
        hidden = (
            0
            if settings.unsafe_fixes
            else sum(
                1
                for r in results
                for d in r.diagnostics
                if fix_applicable(d, True) and not fix_applicable(d, False)
            )
        )
        hint = (
            f" ({_plural(hidden, 'more fix', 'more fixes')} with --unsafe-fixes)" if hidden else ""
        )
        sys.stderr.write(f"No fixes applied{hint}.\n")
    return results, refuted, status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = sys.stdout
    if args.list_rules:
        return _list_rules(out)
    if args.explain:
        return _explain(args.explain, out)
    try:
        return _run(args, out)
    except UsageError as exc:
        sys.stderr.write(f"lstmlint: error: {exc}\n")
        return EXIT_ERROR
    except BrokenPipeError:  # `lstmlint ... | head`: the reader has gone, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS


def _write_harness_report(path: Path, results: list) -> None:
    from lstmlint.reporting import write_atomic

    records = [
        {"path": _shown(Path(r.path)), **r.harness} for r in results if r.harness is not None
    ]
    try:
        write_atomic(path, (json.dumps(records, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _run(args, out) -> int:
    settings = _resolve(args)
    if args.show_settings:
        return _show_settings(settings, args, out)
    if args.add_noqa and args.write_baseline:
        raise UsageError("--add-noqa and --write-baseline cannot be used together")

    baseline = None
    if args.baseline:
        from lstmlint import baseline as baseline_module

        try:
            baseline = baseline_module.load(Path(args.baseline))
        except baseline_module.BaselineError as exc:
            raise UsageError(str(exc)) from None

    from lstmlint.discovery import Target, discover

    paths = [
        raw
        for raw in settings.paths
        if not (
            settings.force_exclude and Path(raw).is_file() and _explicitly_excluded(raw, settings)
        )
    ]
    status = EXIT_CLEAN
    results = []
    targets = []
    for target in discover(paths, settings.discovery_patterns):
        if not isinstance(target, Target):
            sys.stderr.write(f"lstmlint: error: {target}: no such file or directory\n")
            status = EXIT_ERROR
            continue
        targets.append(target)
    from lstmlint.runner import run

    results = run(targets, settings, _progress(len(targets)))
    refuted = _hide_refuted(results, settings)

    if args.harness_report:
        _write_harness_report(Path(args.harness_report), results)
    if args.diff:
        return _show_diff(results, targets, settings, out, status)
    fix_status = EXIT_CLEAN
    if settings.fix:
        results, refuted, fix_status = _fix(results, targets, settings, refuted)

    needs_fingerprints = bool(
        baseline or args.write_baseline or args.format in ("json", "sarif", "gitlab")
    )
    fingerprints = {}
    if needs_fingerprints:
        from lstmlint import baseline as baseline_module

        fingerprints = baseline_module.Fingerprints().of_results(results)
    baseline_hidden = baseline.filter(results, fingerprints) if baseline is not None else 0
    unreadable = any(r.unreadable for r in results)

    if args.write_baseline:
        try:
            from lstmlint import baseline as baseline_module

            count = baseline_module.write(Path(args.write_baseline), results, fingerprints)
        except OSError as exc:
            raise UsageError(f"cannot write {args.write_baseline}: {exc.strerror or exc}") from None
        sys.stderr.write(
            f"Wrote {count} finding{'s' if count != 1 else ''} to the baseline {args.write_baseline}.\n"
        )
        return EXIT_ERROR if status == EXIT_ERROR or unreadable else EXIT_CLEAN
    if args.add_noqa:
        _add_noqa(results)
        return EXIT_ERROR if status == EXIT_ERROR or unreadable else EXIT_CLEAN

    from lstmlint.reporting import Context, write, write_atomic

    color = {"auto": None, "always": True, "never": False}[args.color]
    if args.output_file and color is None:
        color = False
    context = Context(
        color=color,
        refuted_hidden=0 if settings.show_refuted else sum(refuted.values()),
        baseline_hidden=baseline_hidden,
        fingerprints=fingerprints,
        unsafe_fixes=settings.unsafe_fixes,
    )
    sink = io.StringIO() if args.output_file else out
    if args.statistics:
        _statistics(results, sink, as_json=args.format == "json")
    else:
        write(args.format, results, sink, context)
    if args.output_file:
        try:
            write_atomic(Path(args.output_file), sink.getvalue().encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot write {args.output_file}: {exc.strerror or exc}") from None

    if unreadable or fix_status == EXIT_ERROR:
        return EXIT_ERROR
    # refuted findings are listed with --show-refuted, but a gradient check proved them wrong
    standing = any(
        (d.confirmation or {}).get("status") != "refuted" for r in results for d in r.diagnostics
    )
    if status == EXIT_CLEAN and standing and not args.exit_zero:
        return EXIT_FINDINGS
    return status


if __name__ == "__main__":
    sys.exit(main())

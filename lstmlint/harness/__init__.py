"""Running the user's own forward and backward on tiny data, in a child process.

For each analysed file: reduce it to definitions and constants (``extract``), find the pieces
to run (``plan``), decide whether running them is allowed (``--confirm=auto`` runs only code
that uses nothing but NumPy, math and builtins without I/O; ``exec`` runs it anyway;
``reference`` never), then gradient-check it in a child process with a time and memory limit
(``child``). The outcome updates the findings of the file:

- a finding whose fix is needed for exact gradients (exact with every known fix, not exact with
  every fix but this one) is ``confirmed`` with method ``your-code``;
- a finding is ``refuted`` when the gradients are exact while it stands;
- a gradient error that remains after every known fix is a new finding, LST900, on the
  backward function.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.harness import extract, plan, repaired
from lstmlint.harness.variants import with_fixes
from lstmlint.parse import BLANK

GRADIENT_CODES = ("LST1", "LST2", "LST301")
FIXABLE_CODES = ("LST1", "LST2", "LST301", "LST302", "LST303")
UNEXPLAINED = ("LST900", "unexplained-gradient-error")
METHOD = "your-code"
NOT_EXACT = ("FAIL", "INCONCLUSIVE")
WORSE_BY = 10.0


def run_user_code(results: list, settings: Any) -> None:
    """Check the user's own code of every analysed file in ``results`` (in place)."""
    if settings.confirm not in ("auto", "exec"):
        return
    jobs = [r for r in results if getattr(r, "analysed", False) and not r.unreadable]
    if not jobs:
        return
    from lstmlint.settings import cores

    workers = max(1, min(len(jobs), cores()))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda r: _guarded(r, settings), jobs))
    finally:
        for server in _servers.all:
            server.close()
        _servers.all.clear()


def _guarded(result, settings) -> None:
    try:
        _one_file(result, settings)
    except Exception as exc:  # a harness bug must cost this file's check, never the run
        reason = f"an internal error ({exc.__class__.__name__}: {exc})"
        result.notes.append(f"your code was not checked after {reason}; please report it")
        _record(result, "not-run", reason)


def _record(result, status: str, reason: str | None = None, **more: Any) -> None:
    """How checking this file's own code went, for ``--harness-report``."""
    result.harness = {"status": status, "reason": reason, **more}


def _one_file(result, settings) -> None:
    doc = result.document  # kept by the engine for every analysed file
    if doc is None:
        return
    folder = Path(result.path).absolute().parent
    mode = settings.confirm
    text = doc.text
    # what is judged here is the same in every mode: the child reduces the text again, keeping
    # every import where the mode is exec
    try:
        try:
            reduced = extract.reduce_module(text, folder)
        except SyntaxError:  # run what the analysis read: broken statements blanked
            from lstmlint.parse import parse_document

            text = parse_document(doc).text
            reduced = extract.reduce_module(text, folder)
    except (SyntaxError, ValueError, RecursionError) as exc:
        _record(result, "not-callable", f"its definitions could not be read ({exc})")
        return
    problems = plan.configured(reduced, settings.harness) or plan.find_problems(reduced)
    if not problems:
        if plan.writes_gradients(reduced):
            _record(
                result,
                "not-callable",
                "no loss-and-gradients function, forward/backward pair, layer pair or model "
                "class was recognised; [tool.lstmlint.harness] can name them",
            )
        else:
            _record(result, "no-backward", "no hand-written gradient code")
        return
    entries = [name for problem in problems for name in plan.entry_names(problem)]
    reduced = extract.restrict(reduced, entries)
    siblings = _siblings(reduced, folder)
    unfit = _unfit_siblings(reduced, siblings)
    if unfit:
        reduced = extract.restrict(extract.reduce_module(text, folder, unfit=unfit), entries)
        siblings = _siblings(reduced, folder)
    if mode == "auto" and len(problems) > 1 and _unsafe(reduced, problems, siblings):
        # run the entry points whose own reach is safe; the others are left out
        safe = [
            problem
            for problem in problems
            if not _unsafe(
                extract.restrict(reduced, plan.entry_names(problem)), [problem], siblings
            )
        ]
        if safe:
            problems = safe
            entries = [name for problem in problems for name in plan.entry_names(problem)]
            reduced = extract.restrict(reduced, entries)
    if mode == "auto":
        unsafe = _unsafe(reduced, problems, siblings)
        if unsafe:
            result.notes.append(
                f"your code was not run ({'; '.join(unsafe[:3])}); `--confirm=exec` runs it anyway"
            )
            _annotate(result, f"your code was not run: it uses {unsafe[0]}")
            _record(
                result, "not-run", f"refused by --confirm=auto: it uses {'; '.join(unsafe[:3])}"
            )
            return
    fixable = [d for d in result.diagnostics if d.code.startswith(FIXABLE_CODES) and d.edits]
    all_fixed, complete = with_fixes(text, [e for d in fixable for e in d.edits])
    without = {}
    for index, diag in enumerate(fixable):
        if diag.code.startswith(GRADIENT_CODES):
            others = [e for d in fixable if d is not diag for e in d.edits]
            without[str(index)] = with_fixes(text, others)[0]
    job = {
        "path": str(Path(result.path).absolute()),
        "keep_imports": mode == "exec",
        "memory_mb": settings.harness.memory_mb,
        "siblings": {module: text for module, (text, _) in siblings.items()},
        "unfit": unfit,
        "problems": problems,
        "entries": entries,
        "original": text,
        "all_fixed": all_fixed if fixable and complete else None,
        "without": without if complete else {},
        "time_limit": settings.harness.timeout,
        "repair_budget": settings.repair_timeout
        if settings.selection.enabled(*repaired.REPAIRED)
        else 0,
    }
    answer = _launch(job, settings.harness.timeout)
    if "error" in answer:
        result.transient = result.transient or answer.get("transient", False)
        result.notes.append(f"your code could not be checked: {answer['error']}")
        _annotate(result, answer["error"])
        _record(result, "not-run", answer["error"])
        return
    _mention_stand_ins(answer, reduced, unfit)
    repaired.place(answer["problems"], text, job["all_fixed"])
    for problem, outcome in zip(problems, answer["problems"], strict=True):
        _judge(result, doc, reduced, problem, outcome, fixable, settings)
    originals = [outcome.get("original") or {} for outcome in answer["problems"]]
    for original in originals:
        reason = original.get("reason") or ""
        if BLANK in reason:
            original["reason"] = _blank_needed(doc, text)
        elif text != doc.text:
            original["reason"] = _broken_needed(doc, text, reason) or reason or None
    _say_when_not_run(result, originals)
    _record_outcome(result, problems, originals)


def _mention_stand_ins(answer: dict, reduced, unfit: list[str]) -> None:
    """Every verdict on code that ran with lstmlint's own helpers in place of a missing module's
    (``extract.STAND_IN_HELPERS``) says so, where it says what inputs were used."""
    if not reduced.stand_ins:
        return
    names = ", ".join(f"`{name}`" for name in reduced.stand_ins)
    modules = ", ".join(f"`{module}`" for module in reduced.star_modules)
    note = f"; lstmlint's own {names} standing in for those of {modules}"
    if unfit:
        owners = ", ".join(f"`{module}`'s" for module in unfit)
        note += f" ({owners} own do not take the calls your code makes of them)"
    for outcome in answer["problems"]:
        checks = [outcome.get("original"), outcome.get("all_fixed")]
        checks += list((outcome.get("without") or {}).values())
        for check in checks:
            if check and check.get("how"):
                check["how"] += note


def _blank_needed(doc, text: str) -> str:
    """Why code with an exercise's blank cannot run: the first blank, where the user sees it."""
    number = next(n for n, line in enumerate(text.splitlines(), 1) if BLANK in line)
    cell, line = doc.locate(number)
    where = f"cell {cell}, line {line}" if cell is not None else f"line {line}"
    shown = doc.display_lines[number - 1].strip() if number <= len(doc.display_lines) else ""
    return f"a statement left blank is needed to run it: `{shown}` ({where})"


def _broken_needed(doc, text: str, reason: str) -> str | None:
    """Why code run from what the analysis read fails on a name that only a statement left out
    (it does not parse: ``U = np.zeros((, ))``) assigns: that statement, where the user sees it."""
    missing = re.search(r"(?:local variable|name) '(\w+)'", reason)
    if missing is None:
        return None
    assigns = re.compile(rf"\s*{re.escape(missing.group(1))}\s*(?:,[^=]*)?=[^=]")
    lines = zip(doc.text.split("\n"), text.split("\n"), strict=False)
    for number, (written, read) in enumerate(lines, 1):
        if written != read and assigns.match(written):
            cell, line = doc.locate(number)
            where = f"cell {cell}, line {line}" if cell is not None else f"line {line}"
            shown = doc.display_lines[number - 1].strip()
            return f"a statement that does not parse is needed to run it: `{shown}` ({where})"
    return None


def _record_outcome(result, problems: list[dict], originals: list[dict]) -> None:
    checked = [(p, o) for p, o in zip(problems, originals, strict=True) if o.get("status") == "ok"]
    if not checked:
        reason = next((o["reason"] for o in originals if o.get("reason")), "no input it accepts")
        entries = ", ".join(_entry(p) for p in problems)
        _record(result, "not-callable", reason, entry=entries)
        return
    # a file is checked when one of its entry points is: the others are named with their
    # reasons, so that a model checked through a helper layer alone does not pass unseen
    left = [
        {"entry": _entry(p), "reason": o.get("reason") or "no input it accepts"}
        for p, o in zip(problems, originals, strict=True)
        if o.get("status") != "ok"
    ]
    _record(
        result,
        "checked",
        entry=", ".join(_entry(p) for p, _ in checked),
        inputs="; ".join(dict.fromkeys(o["how"] for _, o in checked)),
        parameters=[
            {"name": name, "error": p["error"], "verdict": p["verdict"]}
            for _, o in checked
            for name, p in o["params"].items()
        ],
        **({"not_checked": left} if left else {}),
    )


def _entry(problem: dict) -> str:
    """The calls a problem makes, as a user would write them."""
    names = plan.entry_names(problem)
    if problem["kind"] == "class" and problem.get("method"):
        return f"{names[0]}(...).{problem['method']}"
    if problem["kind"] == "class":
        forward = problem.get("forward_method", "forward")
        backward = problem.get("backward_method", "backward")
        return f"{names[0]}(...).{forward} / .{backward}"
    values = {*problem.get("params", []), *problem.get("init_args", [])}
    calls = dict.fromkeys(n for n in names if n not in values)
    return " + ".join(f"{n}(...)" for n in calls)


def _say_when_not_run(result, originals: list[dict]) -> None:
    """A file with gradient findings whose code could not be called gets a note saying why, so
    the verdicts visibly rest on the reference models alone."""
    if any(o.get("status") == "ok" for o in originals) or not any(
        d.code.startswith(GRADIENT_CODES) for d in result.diagnostics
    ):
        return
    reason = next((o["reason"] for o in originals if o.get("reason")), "no input it accepts")
    reason = reason if len(reason) <= 120 else reason[:117] + "..."
    result.notes.append(
        f"your code's own gradients were not checked ({reason}); "
        "[tool.lstmlint.harness] can name its pieces"
    )


def _siblings(reduced, folder: Path) -> dict[str, tuple[str, object]]:
    """The sibling modules the child will load, transitively: module -> (text, reduced)."""
    from lstmlint.sources import decode_python, normalise_newlines

    found: dict[str, tuple[str, object]] = {}
    todo = [module for module, _, _ in reduced.siblings]
    while todo:
        module = todo.pop()
        if module in found:
            continue
        path = extract.sibling_file(module, folder)
        try:
            if path is None:
                continue
            text = normalise_newlines(decode_python(path.read_bytes()))
            other = extract.reduce_module(text, folder)
        except (OSError, SyntaxError, ValueError):
            continue
        found[module] = (text, other)
        todo.extend(m for m, _, _ in other.siblings)
    return found


def _unfit_siblings(reduced, siblings: dict[str, tuple[str, object]]) -> list[str]:
    """The star-imported sibling modules whose helper classes the file's calls do not fit
    (``fit.unfit_helpers``)."""
    from lstmlint.harness.fit import unfit_helpers

    return sorted(
        module
        for module, name, _ in reduced.siblings
        if name == "*"
        and module in siblings
        and unfit_helpers(reduced.module, siblings[module][1].module, extract.STAND_IN_HELPERS)
    )


def _unsafe(reduced, problems, siblings) -> list[str]:
    """What the child would run beyond NumPy and math: in the entry points and what they reach,
    in what loading the module runs, and in every sibling module it loads (transitively)."""
    entries = [name for problem in problems for name in plan.entry_names(problem)]
    found = extract.unsafe_uses(reduced, extract.reachable(reduced, entries))
    found += extract.loaded_unsafe(reduced)
    for module, names in _sibling_reach(reduced, siblings).items():
        other = siblings[module][1]
        problems_here = extract.unsafe_uses(other, names)
        found += [f"{p} (in {module})" for p in problems_here + extract.loaded_unsafe(other)]
    return list(dict.fromkeys(found))


def _sibling_reach(reduced, siblings) -> dict[str, set[str]]:
    """Per sibling module, its top-level names the kept code can reach: those imported by
    name and read, everything a star import could bind that is read, every definition of a
    module imported whole (its attributes are read off it), and what those reach in turn."""
    reach: dict[str, set[str]] = {module: set() for module in siblings}
    pending = [reduced]
    while pending:
        module = pending.pop()
        read = extract.names_read(module.tree)
        for imported, name, bound in module.siblings:
            if imported not in siblings or (name != "*" and bound not in read):
                continue
            other = siblings[imported][1]
            wanted = {name} if name not in (None, "*") else read if name == "*" else other.defined
            new = extract.reachable(other, wanted) - reach[imported]
            if new:
                reach[imported] |= new
                kept = [other.defined[n] for n in reach[imported]]
                pending.append(replace(other, tree=ast.Module(body=kept, type_ignores=[])))
    return reach


class _Servers(threading.local):
    """One server process per thread of a run (``server.py``), closed when the run ends."""

    all: ClassVar[list] = []
    server = None


_servers = _Servers()


def _child_env() -> dict[str, str]:
    # one BLAS thread: several files are checked at once, and the arrays are tiny
    return {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",  # the child may write no file at all
    }


def _launch(job: dict, timeout: float) -> dict:
    from lstmlint.child_process import ChildFailed, Server, ask

    try:
        if hasattr(os, "fork"):  # a fork of a process that has NumPy loaded already
            if _servers.server is None:
                _servers.server = Server("lstmlint.harness.server", env=_child_env())
                _servers.all.append(_servers.server)
            reply = _servers.server.ask({"job": job, "timeout": timeout}, timeout)
            if "failed" in reply:
                raise ChildFailed(reply["failed"])
            answer = reply.get("answer")
        else:
            with tempfile.TemporaryDirectory(prefix="lstmlint-run-") as scratch:
                answer = ask("lstmlint.harness.child", job, timeout, cwd=scratch, env=_child_env())
    except ChildFailed as exc:
        return {"error": f"the process running your code {exc}", "transient": True}
    if not isinstance(answer, dict):
        return {
            "error": "the process running your code gave an unexpected answer",
            "transient": True,
        }
    return answer


def _annotate(result, reason: str) -> None:
    """Say why the user's code gave no verdict, on findings that have no confirmation yet."""
    for diag in result.diagnostics:
        confirmation = diag.confirmation or {}
        if diag.code.startswith(GRADIENT_CODES) and confirmation.get("status") == "unconfirmed":
            confirmation["reason"] = f"{confirmation.get('reason')}; {reason}"


def _failing(outcome: dict, verdicts: tuple[str, ...] = ("FAIL",)) -> list[tuple[str, float]]:
    return sorted(
        ((name, p["error"]) for name, p in outcome["params"].items() if p["verdict"] in verdicts),
        key=lambda item: -item[1],
    )


def _passes(outcome: dict | None) -> bool:
    return (
        bool(outcome)
        and outcome["status"] == "ok"
        and all(p["verdict"] == "PASS" for p in outcome["params"].values())
    )


def _inside(doc, diag: Diagnostic, problem: dict) -> bool:
    from lstmlint.engine import _analysed_line

    line = _analysed_line(doc, diag)
    return any(first <= line <= last for first, last in problem["lines"])


def _judge(result, doc, reduced, problem, outcome, fixable, settings) -> None:
    original = outcome.get("original")
    if not original or original["status"] != "ok":
        return
    how = original["how"]
    mine = [
        d
        for d in result.diagnostics
        if d.code.startswith(GRADIENT_CODES) and _inside(doc, d, problem)
    ]
    if _passes(original):
        for diag in mine:
            diag.confirmation = {
                "status": "refuted",
                "method": METHOD,
                "reason": f"your code's gradients are exact as written (inputs: {how})",
                "evidence": [],
            }
        return
    fixed = outcome.get("all_fixed")
    if _passes(fixed):
        without = outcome.get("without", {})
        for index, diag in enumerate(fixable):
            if diag not in mine or str(index) not in without:
                continue
            left = without[str(index)]
            if _passes(left):
                diag.confirmation = {
                    "status": "refuted",
                    "method": METHOD,
                    "reason": "with every other fix applied, your code's gradients are exact "
                    "without this one",
                    "evidence": [],
                }
            elif left["status"] == "ok" and _failing(left, NOT_EXACT):
                diag.confirmation = {
                    "status": "confirmed",
                    "method": METHOD,
                    "reason": None,
                    "evidence": [
                        {
                            "param": name,
                            "error": error,
                            "fixed_error": fixed["params"][name]["error"],
                        }
                        for name, error in _failing(left, NOT_EXACT)
                    ],
                }
        for diag in mine:
            if not diag.edits and diag.code.startswith(GRADIENT_CODES):
                diag.confirmation = {
                    "status": "refuted",
                    "method": METHOD,
                    "reason": "your code's gradients are exact with the other fixes while this stands",
                    "evidence": [],
                }
        return
    if fixed is not None and fixed["status"] == "ok" and _one_wrong_fix(outcome, fixable, mine):
        return
    if fixed is not None and fixed["status"] == "ok" and _fixes_suspect(original, fixed, mine):
        for diag in fixable:
            if diag in mine and diag.confirmation is not None:
                # the fixes, together, did not make this code exact: none is applied unasked
                diag.confirmation["fix_verified"] = False
    if fixable and fixed is None:
        return  # some fixes overlap, so "after every known fix" was not measured
    lacking = [d for d in mine if not d.edits]
    if lacking:
        _confirm_where_better(outcome, fixable, mine)
        # a repair at such a finding's line is its proof and its fix
        repaired.report(result, doc, outcome, settings.selection, lacking)
        return  # a finding without an automatic fix may explain the error
    if fixed is not None and fixed["status"] != "ok":
        return
    # a parameter counts only if it is wrong both as written and with every fix, and the fixes
    # did not make it much worse: an error the fixes made points at a wrong fix, not at a bug
    before = dict(_failing(original, NOT_EXACT))
    last = repaired.report(result, doc, outcome, settings.selection)
    remaining = [
        (name, error)
        for name, error in _failing(last or (fixed if fixed is not None else original))
        if name in before and error <= WORSE_BY * before[name]
    ]
    _report_unexplained(result, doc, reduced, problem, remaining, how, settings)


def _confirm_where_better(outcome: dict, fixable: list[Diagnostic], mine: list[Diagnostic]) -> None:
    """With a finding left that has no automatic fix, the code is never exact; but a gradient
    that is far worse without this fix than with every fix still proves this finding."""
    fixed, without = outcome.get("all_fixed"), outcome.get("without", {})
    if not fixed or fixed["status"] != "ok":
        return
    for index, diag in enumerate(fixable):
        left = without.get(str(index))
        if diag not in mine or not left or left["status"] != "ok":
            continue
        worse = [
            (name, error)
            for name, error in _failing(left)
            if error > WORSE_BY * max(fixed["params"].get(name, {}).get("error", error), 1e-12)
        ]
        if worse:
            unverified = (diag.confirmation or {}).get("fix_verified") is False
            diag.confirmation = {
                "status": "confirmed",
                "method": METHOD,
                "reason": "other gradients stay inexact: a finding without an automatic fix",
                "evidence": [
                    {"param": name, "error": error, "fixed_error": fixed["params"][name]["error"]}
                    for name, error in worse
                ],
            }
            if unverified:  # the fixes together made some gradient worse: none is applied
                diag.confirmation["fix_verified"] = False


def _one_wrong_fix(outcome: dict, fixable: list[Diagnostic], mine: list[Diagnostic]) -> bool:
    """Every fix together leaves the code inexact, but every fix except one makes it exact:
    that one finding is not a bug (its fix breaks correct code), and the others' fixes are
    verified together. False when no single finding is singled out."""
    without = outcome.get("without", {})
    wrong = [i for i, _ in enumerate(fixable) if _passes(without.get(str(i)))]
    if len(wrong) != 1 or fixable[wrong[0]] not in mine:
        return False
    fixable[wrong[0]].confirmation = {
        "status": "refuted",
        "method": METHOD,
        "reason": "with every other fix applied, your code's gradients are exact as this code "
        "stands, and its fix makes them wrong",
        "evidence": [],
    }
    return True


def _fixes_suspect(original: dict, fixed: dict, mine: list[Diagnostic]) -> bool:
    """Whether the fixes, applied together, are to blame for inexact gradients: some gradient
    got much worse with them, or nothing else (a finding without a fix) is left to blame."""
    before = {name: p["error"] for name, p in original["params"].items()}
    worse = any(
        error > WORSE_BY * max(before.get(name, 0.0), 1e-7)
        for name, error in _failing(fixed, NOT_EXACT)
    )
    return worse or not any(not d.edits for d in mine)


def _report_unexplained(result, doc, reduced, problem, remaining, how, settings) -> None:
    from lstmlint.engine import _make, _suppressed
    from lstmlint.registry import all_rules

    code, name = UNEXPLAINED
    if not settings.selection.enabled(code, name) or not remaining:
        return
    explanations = [r for r in all_rules() if r.code.startswith(GRADIENT_CODES)]
    if not all(settings.selection.enabled(r.code, r.name) for r in explanations):
        return  # "no rule explains it" means nothing while some rules were not asked
    node = plan.backward_node(reduced, problem)
    if node is None:
        return
    column = (doc.text.splitlines()[node.lineno - 1].find(node.name) + 1) or 1
    span = Span(node.lineno, column, node.lineno, column + len(node.name))
    listed = ", ".join(f"d{p} ({e:.1e})" for p, e in remaining[:4])
    more = f" and {len(remaining) - 4} more" if len(remaining) > 4 else ""
    message = (
        f"`{problem['backward']}` computes wrong gradients that no rule explains: {listed}{more} "
        "disagree with central differences of your own loss"
    )
    diag = _make(
        doc,
        code,
        name,
        message,
        span,
        Severity.ERROR,
        "check each gradient of this backward against its forward (a missing transpose, "
        "a stale variable, a term left out); `lstmlint.gradcheck` shows the worst entries",
    )
    diag.confirmation = {
        "status": "confirmed",
        "method": METHOD,
        "reason": f"inputs: {how}",
        "evidence": [{"param": p, "error": e, "fixed_error": None} for p, e in remaining],
    }
    if not _suppressed(doc, diag):
        result.diagnostics.append(diag)
        result.diagnostics.sort(key=Diagnostic.sort_key)

"""Parsing with recovery: a syntax error is reported and its statement blanked, so the rest is analysed.

Each chunk (the file, or one notebook cell) is checked with ``ast``. At the first error the
offending line is replaced by ``pass`` (or emptied, or blanked with the block it opens: whichever
lets the parse get further; an assignment with nothing on its right, an exercise's blank, keeps
its targets and gets the placeholder ``BLANK`` as its value); when no replacement moves the error on, the statement began
earlier and the lines above are blanked one by one. The line count never changes, so every
position still points at the user's line. Input that makes Python's own parser give up (too deep
nesting, NUL bytes, unpaired surrogates) is located on its line and treated the same way.
"""

from __future__ import annotations

import io
import re
import threading
import tokenize
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lstmlint.pytree import python_tree
from lstmlint.sources import SourceDocument

MAX_CHECKS = 300  # ast parses spent on repairing one chunk
# characters parsed while repairing one chunk: a big file gets fewer tries (at least 3)
CHECK_BUDGET = 30_000_000
MAX_CST_RETRIES = 5  # statements blanked because libcst, unlike ast, rejects them
_SURROGATE = re.compile("[\ud800-\udfff]")
_CST_POSITION = re.compile(r"error at (\d+):(\d+)")
_LONE_BACKSLASH = re.compile(r"[ \t\f]*\\$")
_EXPRESSION_KEYWORDS = {"not", "and", "or", "if", "else", "lambda", "await", "in", "is"}
_LAYOUT = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
# what an assignment left blank (`f = ` in an exercise template) is given instead of its value,
# so that the analysis can tell the name is assigned there and learn what it holds from its uses
BLANK = "__lstmlint_blank__"
_BLANK_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*(#.*)?$")


@dataclass
class SyntaxProblem:
    line: int  # in the analysed text
    column: int  # 1-based
    message: str


@dataclass
class Parsed:
    text: str  # the text that parsed: the document's text with broken statements blanked
    problems: list[SyntaxProblem]
    module: object | None  # libcst.Module, or None when even the repaired text does not parse
    notes: list[str] = field(default_factory=list)  # statements left out for libcst's sake


@dataclass
class _Error:
    line: int  # 1-based, within the chunk, always a line of the chunk
    column: int
    message: str
    end_line: int  # last line of the offending construct, when known


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _deepest_statement(lines: list[str]) -> tuple[int, int]:
    """(first, last) 1-based lines of the statement most likely to exhaust the parser's stack.

    Nesting comes from brackets, operators and expression keywords (``a+a+...`` and ``----1``
    nest as deeply as ``((((1))))``), so each logical line is scored by their count.
    """
    best, span = -1, (1, 1)
    start, score, depth, deepest = None, 0, 0, 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if tok.type in _LAYOUT or tok.type == tokenize.ENDMARKER:
                if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER) and start is not None:
                    if score + deepest > best:
                        best, span = score + deepest, (start, max(start, tok.start[0]))
                    start = None
                continue
            if start is None:
                start, score, depth, deepest = tok.start[0], 0, 0, 0
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                    deepest = max(deepest, depth)
                elif tok.string in ")]}":
                    depth -= 1
                elif tok.string not in (",", ":", ";", "="):
                    score += 1
            elif tok.type == tokenize.NAME and tok.string in _EXPRESSION_KEYWORDS:
                score += 1
    except (tokenize.TokenError, SyntaxError):
        pass
    if best < 0:  # could not tokenise: the longest line is the best guess
        longest = max(range(len(lines)), key=lambda i: len(lines[i]), default=0)
        span = (longest + 1, longest + 1)
    return span


def _character_error(lines: list[str], message: str) -> _Error:
    """Where a character that Python refuses in source text sits (NUL, unpaired surrogate)."""
    for pattern, what in (
        (re.compile("\x00"), "a NUL byte, which Python source cannot contain"),
        (_SURROGATE, "an unpaired surrogate character, which Python source cannot contain"),
    ):
        for number, line in enumerate(lines, 1):
            found = pattern.search(line)
            if found:
                return _Error(number, found.start() + 1, f"the line contains {what}", number)
    return _Error(1, 1, f"cannot be parsed: {message}", 1)


def _check(lines: list[str]) -> _Error | None:
    """The first error Python's parser finds in the chunk, always placed on one of its lines."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            python_tree("\n".join(lines))
    except SyntaxError as exc:
        message = str(getattr(exc, "msg", "") or exc)
        if exc.lineno is None or "null bytes" in message:
            return _character_error(lines, message)
        line = min(max(exc.lineno, 1), len(lines))
        column = max(1, exc.offset or 1) if line == exc.lineno else 1
        end_line = getattr(exc, "end_lineno", None) or line
        return _Error(line, column, message, min(max(end_line, line), len(lines)))
    except (RecursionError, MemoryError) as exc:
        first, last = _deepest_statement(lines)
        column = len(_indent(lines[first - 1])) + 1
        message = f"too deeply nested for Python's parser ({exc.__class__.__name__})"
        return _Error(first, column, message, last)
    except ValueError as exc:  # NUL bytes (before 3.12), unpaired surrogates
        return _character_error(lines, str(exc))
    return None


def _blank_lines(lines: list[str]) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in lines)


def _block_end(lines: list[str], index: int) -> int:
    """One past the last line of the block that line ``index`` opens (``index + 1`` if none)."""
    width = len(_indent(lines[index]).expandtabs())
    end = index + 1
    scan = index + 1
    while scan < len(lines):
        line = lines[scan]
        if line.strip() and not line.lstrip().startswith("#"):
            if len(_indent(line).expandtabs()) <= width:
                break
            end = scan + 1
        scan += 1
    return end


def _candidates(lines: list[str], index: int, end: int | None) -> list[list[str]]:
    """Ways to blank the statement at ``index``, gentlest first; each keeps the line count."""
    indent = _indent(lines[index])
    found = []

    def blanked(first: int, stop: int, header: str) -> list[str]:
        trial = list(lines)
        trial[first] = header
        for number in range(first + 1, stop):
            trial[number] = ""
        return trial

    blank = _BLANK_ASSIGNMENT.match(lines[index])
    if blank is not None:
        found.append(blanked(index, index + 1, f"{indent}{blank.group(2)} = {BLANK}"))
    if end is not None and end > index + 1:  # the construct Python named spans several lines
        found.append(blanked(index, end, f"{indent}pass"))
    found.append(blanked(index, index + 1, f"{indent}pass"))
    found.append(blanked(index, index + 1, ""))
    block = _block_end(lines, index)
    if block > index + 1:  # a block opener (or a statement continued on indented lines)
        found.append(blanked(index, block, f"{indent}pass"))
        found.append(blanked(index, block, ""))
    return found


def repair_chunk(lines: list[str], offset: int) -> SyntaxProblem | None:
    """Blank broken statements of one chunk in place; return its first syntax error.

    ``offset`` is the number of analysed lines before the chunk, for the reported position.
    """
    if not lines:
        return None
    error = _check(lines)
    if error is None:
        return None
    first = SyntaxProblem(error.line + offset, error.column, error.message)
    size = sum(len(line) + 1 for line in lines)
    limit = max(3, min(MAX_CHECKS, CHECK_BUDGET // size))
    checks = 1
    anchor = -1  # the error line the current repair works on (0-based)
    target = -1  # the line blanked next: the error line, or above it when blanking did not help
    end: int | None = None
    while error is not None and checks < limit:
        if error.line - 1 > anchor:
            anchor = target = error.line - 1
            end = error.end_line
        best: tuple[float, list[str], _Error | None] | None = None
        for trial in _candidates(lines, target, end if target == anchor else None):
            found = _check(trial)
            checks += 1
            reach = float("inf") if found is None else found.line - 1
            if best is None or reach > best[0]:
                best = (reach, trial, found)
            if reach > anchor or checks >= limit:
                break
        assert best is not None
        reach, lines[:], error = best
        if error is not None and reach <= anchor:
            # nothing moved the error on: the statement began earlier, so blank upwards
            target -= 1
            while target > 0 and _blank_lines(lines[target : target + 1]):
                target -= 1
            if target < 0:
                break
    if error is not None:
        _give_up(lines, error)
    return first


def _give_up(lines: list[str], error: _Error) -> None:
    """Keep what precedes the error when the lines from there on can go; else blank everything."""
    cut = error.line - 1
    for _ in range(10):
        trial = lines[:cut] + [""] * (len(lines) - cut)
        if _check(trial) is None:
            lines[:] = trial
            return
        cut -= 1
        while cut > 0 and _blank_lines(lines[cut : cut + 1]):
            cut -= 1
        if cut < 0:
            break
    lines[:] = [""] * len(lines)


def _chunk_of(doc: SourceDocument, line: int) -> tuple[int, int]:
    for first, count in doc.chunks():
        if first <= line < first + count:
            return first, count
    return 1, len(doc.text.split("\n"))


def _parse_cst(text: str):
    """libcst's module for ``text``; an exception (never a Rust panic) when it cannot."""
    import libcst

    try:
        with _parser_nodes_trusted():
            return libcst.parse_module(text)
    except Exception:
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        if type(exc).__name__ == "PanicException":
            raise RuntimeError(f"libcst failed: {exc}") from None
        raise


@contextmanager
def _parser_nodes_trusted() -> Iterator[None]:
    """libcst checks every node as it is built (whitespace, parentheses), which is a tenth of a
    parse; what its parser builds from accepted text is valid by construction, so the check is
    left out for the parse alone."""
    from libcst._nodes.base import CSTNode

    global _trusting, _node_check
    with _trust_lock:  # parses in several threads: the first switches the check off, the last on
        if _trusting == 0:
            _node_check = CSTNode.__dict__.get("__post_init__")
            if _node_check is not None:
                CSTNode.__post_init__ = _unchecked
        _trusting += 1
    try:
        yield
    finally:
        with _trust_lock:
            _trusting -= 1
            if _trusting == 0 and _node_check is not None:
                CSTNode.__post_init__ = _node_check


_trust_lock = threading.Lock()


_trusting = 0  # parses under way with the check left out
_node_check = None  # libcst's own check, while it is left out


def _unchecked(self) -> None:
    return None


def _drop_lone_backslashes(lines: list[str]) -> None:
    """Empty the lines that hold only a line continuation (Python joins them to nothing).

    libcst leaves such a line out of its tree altogether, which would move every later position
    up by one line.
    """
    numbers = [n for n, line in enumerate(lines) if _LONE_BACKSLASH.match(line)]
    if not numbers:
        return
    trial = list(lines)
    for number in numbers:
        trial[number] = ""
    if _check(trial) is None:
        lines[:] = trial


def parse_document(doc: SourceDocument) -> Parsed:
    import libcst

    lines = doc.text.split("\n")
    problems: list[SyntaxProblem] = []
    for first_line, count in doc.chunks():
        chunk = lines[first_line - 1 : first_line - 1 + count]
        problem = repair_chunk(chunk, first_line - 1)
        if problem is not None:
            problems.append(problem)
            lines[first_line - 1 : first_line - 1 + count] = chunk
    _drop_lone_backslashes(lines)
    notes: list[str] = []
    module = None
    for attempt in range(MAX_CST_RETRIES + 1):
        text = "\n".join(lines)
        try:
            module = _parse_cst(text)
            break
        except libcst.ParserSyntaxError as exc:
            line, column, message = exc.raw_line, exc.raw_column + 1, exc.message
            at = _CST_POSITION.search(message)  # raw_line can be the line after the error
            if at:
                line, column = int(at.group(1)), int(at.group(2)) + 1
        except (RecursionError, MemoryError) as exc:
            line, column = 1, 1
            message = f"too deeply nested to analyse ({exc.__class__.__name__})"
        except Exception as exc:  # anything else libcst may raise: report it, never crash
            line, column = 1, 1
            message = f"cannot be analysed ({exc.__class__.__name__}: {exc})"
        # Python accepted the text, libcst does not: leave that statement out and try again
        if (
            attempt == MAX_CST_RETRIES
            or not 1 <= line <= len(lines)
            or lines[line - 1].strip() in ("", "pass")
        ):
            problems.append(SyntaxProblem(max(1, line), max(1, column), message))
            break
        first, count = _chunk_of(doc, line)
        chunk = lines[first - 1 : first - 1 + count]
        for trial in _candidates(chunk, line - first, None):
            if _check(trial) is None:
                lines[first - 1 : first - 1 + count] = trial
                break
        else:
            lines[first - 1 : first - 1 + count] = [""] * count
        cell, local = doc.locate(line)
        where = f"line {local}" if cell is None else f"cell {cell}, line {local}"
        notes.append(f"{where} is left out of the analysis: libcst cannot parse it ({message})")
    return Parsed(text="\n".join(lines), problems=problems, module=module, notes=notes)

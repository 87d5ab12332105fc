"""Parsing with recovery: a syntax error is reported and its statement blanked, so the rest is analysed."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from lstmlint.sources import SourceDocument

MAX_REPAIRS = 200


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


def _block_indents(lines: list[str], index: int) -> set[str]:
    """Indentations that other statements of the chunk use: a ``pass`` there keeps blocks intact."""
    seen = {""}
    for number, line in enumerate(lines):
        if number != index and line.strip():
            seen.add(line[: len(line) - len(line.lstrip())])
    return seen


def _check(text: str) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        err = SyntaxError(f"cannot be parsed: {exc.__class__.__name__}")
        err.lineno, err.offset = 1, 1
        return err
    return None


def repair_chunk(lines: list[str], offset: int) -> SyntaxProblem | None:
    """Blank broken statements of one chunk in place; return its first syntax error."""
    first: SyntaxProblem | None = None
    blanked_up_to = -1
    for _ in range(MAX_REPAIRS):
        err = _check("\n".join(lines))
        if err is None:
            return first
        line = err.lineno or 1
        if first is None:
            message = err.msg if hasattr(err, "msg") else str(err)
            first = SyntaxProblem(
                line=line + offset, column=max(1, err.offset or 1), message=message
            )
        index = min(max(line - 1, 0), len(lines) - 1)
        if index <= blanked_up_to:
            # blanking did not move the error on: the statement started earlier
            index = blanked_up_to - 1
            while index > 0 and not lines[index].strip():
                index -= 1
        if index < 0:
            break
        original = lines[index]
        indent = original[: len(original) - len(original.lstrip())]
        lines[index] = f"{indent}pass" if indent in _block_indents(lines, index) else ""
        blanked_up_to = max(blanked_up_to, index) if index > blanked_up_to else index
    lines[:] = [""] * len(lines)
    return first


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
    text = "\n".join(lines)
    try:
        module = libcst.parse_module(text)
    except libcst.ParserSyntaxError as exc:
        problems.append(
            SyntaxProblem(line=exc.raw_line, column=exc.raw_column + 1, message=exc.message)
        )
        module = None
    except (RecursionError, MemoryError) as exc:
        problems.append(
            SyntaxProblem(
                line=1, column=1, message=f"too deeply nested to analyse ({exc.__class__.__name__})"
            )
        )
        module = None
    return Parsed(text=text, problems=problems, module=module)

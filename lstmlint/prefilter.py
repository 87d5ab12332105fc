"""Cheap looks at a file: can it hold recurrent-network code at all?

Every rule needs a recognised recurrent cell (LSTM, GRU and vanilla RNN cells all use tanh) or
an activation helper, and those are not written without an activation or one of the words
LSTM/GRU/RNN. On a large tree most files are skipped after one scan of their bytes
(``may_hold_rnn_code``); the few that mention such a word get a structural look
(``may_hold_rnn_code_syntax``) before the expensive libcst parse and analysis.

Words are whole identifier words: ``np.tanh``, ``dsigmoid``, ``sigmoid_prime``, ``LSTMCell``
and ``char_rnn`` count, ``arctanh``, ``_tanhsinh`` and ``grumble`` do not.
"""

from __future__ import annotations

import re

from lstmlint.pytree import python_tree

# lowercase substrings that every marker word contains: one fast scan each
_SUBSTRINGS = (b"tanh", b"sigm", b"expit", b"lstm", b"gru", b"rnn")
_ACTIVATION_SUBSTRINGS = (b"tanh", b"sigm", b"expit")

_ACTIVATION_WORDS = frozenset({"tanh", "sigmoid", "sigm", "expit"})
_MARKER_WORDS = _ACTIVATION_WORDS | {"lstm", "gru", "rnn"}
# endings glued to a marker word that still name it: dsigmoid, tanhprime, lstmcell, rnns
_GLUED_SUFFIXES = frozenset(
    {
        "s",
        "d",
        "p",
        "prime",
        "deriv",
        "derivative",
        "grad",
        "der",
        "backward",
        "forward",
        "fwd",
        "bwd",
        "back",
        "cell",
        "cells",
        "layer",
        "act",
        "model",
        "net",
        "step",
        "lm",
    }
)
# a call whose name also has one of these words tests or inverts an activation, it is none
_NOT_AN_ACTIVATION = frozenset(
    {"test", "tests", "check", "assert", "log", "logit", "arc", "inv", "inverse", "hard", "bench"}
)

_IDENT = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(identifier: str) -> list[str]:
    return [w.lower() for part in identifier.split("_") for w in _CAMEL.findall(part)]


def _names_marker(word: str, markers: frozenset[str]) -> bool:
    if word in markers or (word[:1] == "d" and word[1:] in markers):
        return True
    return any(word.startswith(m) and word[len(m) :] in _GLUED_SUFFIXES for m in markers)


def is_marker_identifier(identifier: str) -> bool:
    """An identifier with an activation or LSTM/GRU/RNN word in it."""
    return any(_names_marker(w, _MARKER_WORDS) for w in _words(identifier))


def is_activation_name(identifier: str) -> bool:
    """A name that can call tanh or sigmoid (or its derivative): ``np.tanh``'s ``tanh``, ``dsigmoid``."""
    words = _words(identifier)
    return any(_names_marker(w, _ACTIVATION_WORDS) for w in words) and not any(
        w in _NOT_AN_ACTIVATION for w in words
    )


def _identifiers(data: bytes, low: bytes, substrings: tuple[bytes, ...]):
    """(start, end) of every identifier of ``data`` that contains one of ``substrings``."""
    for needle in substrings:
        position = low.find(needle)
        while position >= 0:
            start = position
            while start > 0 and data[start - 1] in _IDENT:
                start -= 1
            end = position + len(needle)
            while end < len(data) and data[end] in _IDENT:
                end += 1
            yield start, end
            position = low.find(needle, end)


def may_hold_rnn_code(data: bytes) -> bool:
    """Whether the bytes name an activation or LSTM/GRU/RNN anywhere (comments included)."""
    low = data.lower()
    if not any(needle in low for needle in _SUBSTRINGS):
        return False
    return any(
        is_marker_identifier(data[start:end].decode("latin-1"))
        for start, end in _identifiers(data, low, _SUBSTRINGS)
    )


_SHAPES = ("lstm", "gru", "rnn", "backward", "bptt", "backprop")
_SHAPE_BYTES = tuple(shape.encode() for shape in _SHAPES)
_STEP_NAMES = ("cell", "step", "fwd", "bwd", "forward")  # count only with an activation inside
_SHAPED_HEADER = re.compile(
    rb"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+\w*(?:%s)" % b"|".join(_SHAPE_BYTES),
    re.MULTILINE,
)


def _not_a_call_site(before: bytes) -> bool:
    """What precedes a name on its line shows that it is not called there.

    A comment (with no quote before the ``#`` that could open a string holding it), a doctest
    line, LaTeX in a docstring (``\\tanh``), or the name's own ``def``/``class`` header.
    """
    stripped = before.lstrip()
    if stripped.startswith((b">>>", b"...")) or before.endswith(b"\\"):
        return True
    if before.split() in ([b"def"], [b"async", b"def"], [b"class"]):
        return True
    hash_at = before.find(b"#")
    return hash_at >= 0 and b'"' not in before[:hash_at] and b"'" not in before[:hash_at]


def _relevant_lines(text: str) -> tuple[list[int], bool]:
    """The lines (1-based) with an activation call, and whether the text has a definition
    with an LSTM/GRU/RNN/backward name: the only places the structural test can fire."""
    data = text.encode("utf-8", "surrogatepass")
    low = data.lower()
    if _SHAPED_HEADER.search(low):
        return [], True
    starts = []
    for start, end in _identifiers(data, low, _ACTIVATION_SUBSTRINGS):
        after = end
        while after < len(data) and data[after] in b" \t\r\n\\":
            after += 1
        if after >= len(data) or data[after] != ord("("):
            continue
        if not is_activation_name(data[start:end].decode("utf-8", "replace")):
            continue
        line_start = data.rfind(b"\n", 0, start) + 1
        if not _not_a_call_site(data[line_start:start]):
            starts.append(start)
    lines, line, counted = [], 1, 0
    for start in sorted(starts):
        line += data.count(b"\n", counted, start)
        counted = start
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines, False


def _name_of(node) -> str:
    import ast

    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _activation_calls(node):
    import ast

    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and is_activation_name(_name_of(inner.func)):
            yield inner


def _steps_a_counter(loop) -> bool:
    """``while t < T: ... t += 1``: a walk over time, not a loop until convergence."""
    import ast

    test = loop.test
    if not (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)):
        return False
    return any(
        isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == test.left.id
        and isinstance(node.op, ast.Add | ast.Sub)
        for node in ast.walk(loop)
    )


def _carries_state(loop) -> bool:
    """A loop that stores an activation and updates a value it reads: a recurrence over time.

    An activation only passed to a call (``assert_allclose(expit(n), 1.0)``) stores nothing.
    A ``while`` loop that does not step a counter needs a tanh: every recurrent cell has one,
    and a sigmoid-only loop until convergence is a numerical method's fixed-point iteration.
    """
    import ast

    stored: list = []
    appends = False
    assigned: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                assigned.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            if node.value is not None:
                read.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name))
                stored.extend(_activation_calls(node.value))
        elif isinstance(node, ast.Call) and _name_of(node.func) == "append":
            appends = True
            for arg in node.args:
                stored.extend(_activation_calls(arg))
    if not stored:
        return False
    if isinstance(loop, ast.While) and not _steps_a_counter(loop):
        if not any("tanh" in _name_of(call.func).lower() for call in stored):
            return False
    return appends or bool(assigned & read)


def _fires(node) -> bool:
    """The structural test on one statement around a relevant line."""
    import ast

    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        name = node.name.lower()
        if any(shape in name for shape in _SHAPES):
            return True
        if any(step in name for step in _STEP_NAMES) and next(_activation_calls(node), None):
            return True
    elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
        return _carries_state(node)
    return False


def _statements_around(body: list, lines: list[int]):
    """Every statement of ``body``, nested ones included, whose lines hold one of ``lines``."""
    import ast
    from bisect import bisect_left

    for statement in body:
        first, last = statement.lineno, statement.end_lineno or statement.lineno
        index = bisect_left(lines, first)
        if index == len(lines) or lines[index] > last:
            continue
        yield statement
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                yield from _statements_around([child], lines)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                yield from _statements_around(child.body, lines)


class _Indents:
    """The indentation of each line, computed when asked; None for blank and comment lines."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._known: dict[int, int | None] = {}

    def __getitem__(self, row: int) -> int | None:
        if row not in self._known:
            line = self.lines[row]
            code = line.lstrip(" \t")
            self._known[row] = None if not code or code[0] == "#" else len(line) - len(code)
        return self._known[row]


_CONTINUES = ("else", "elif", "except", "finally", ")", "]", "}")
_DEF = re.compile(r"[ \t]*(?:async[ \t]+)?(def|class)[ \t]+(\w+)")


def _headers_above(lines: list[str], indents: _Indents, index: int) -> list[int]:
    """The lines above ``index`` that open the blocks holding it, innermost first.

    Read from the indentation alone: a string or bracket continued on a less indented line can
    fool it, which the parse of the block it delimits then shows.
    """
    current = indents[index]
    found = []
    row = index
    while current and row > 0:
        row -= 1
        indent = indents[row]
        if indent is not None and indent < current:
            current = indent
            found.append(row)
    return found


def _block(lines: list[str], indents: _Indents, first: int) -> tuple[str, int] | None:
    """The statement starting on line ``first`` (0-based), dedented, and its indentation."""
    own = indents[first]
    if own is None:
        return None
    last = first
    for row in range(first + 1, len(lines)):
        indent = indents[row]
        if indent is None:
            continue
        if indent <= own and not lines[row].lstrip().startswith(_CONTINUES):
            break
        last = row
    body = []
    for line in lines[first : last + 1]:
        if line[:own].strip():
            return None  # a line less indented than the block: a continuation we cannot cut
        body.append(line[own:])
    return "\n".join(body), first


def _chunk_fires(lines: list[str], indents: _Indents, rows: list[int]) -> bool | None:
    """The structural test on the innermost function around ``rows`` (0-based lines of
    activation calls with the same enclosing blocks); None when that block does not parse."""

    headers = _headers_above(lines, indents, rows[0])
    kinds = [(row, _DEF.match(lines[row])) for row in headers]
    innermost = next((row for row, match in kinds if match and match.group(1) == "def"), None)
    outer_loop = innermost is not None and any(
        lines[row].lstrip().startswith(("for ", "while ", "async for "))
        for row in headers
        if row < innermost
    )
    first = headers[-1] if headers else rows[0]
    if innermost is not None and not outer_loop:
        first = innermost
    block = _block(lines, indents, first)
    if block is None:
        return None
    text, offset = block
    try:
        tree = python_tree(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    local = [row - offset + 1 for row in rows]
    calls = [
        call
        for call in _activation_calls(tree)
        if any(call.lineno <= line <= (call.end_lineno or call.lineno) for line in local)
    ]
    if not calls:
        return False  # the names were in strings
    names = [match.group(2).lower() for _, match in kinds if match]
    if any(step in name for name in names for step in _STEP_NAMES):
        return True
    return any(_fires(node) for node in _statements_around(tree.body, local))


def may_hold_rnn_code_syntax(text: str) -> bool:
    """A second, structural look with ``ast`` (much cheaper than a libcst parse).

    Recurrent code stores an activation inside a loop that updates a state (the walk over
    time), or defines an LSTM/GRU/RNN, a backward pass, or a step/cell/forward function that
    calls an activation. Code that does none of these (a test calling ``np.tanh`` in a loop
    over cases, a module of activation helpers) is not analysed further; the helpers are still
    read when a recurrent file imports them. A file that Python cannot parse but that has an
    activation call or such a definition is let through, so that its syntax error is reported.

    Only the function around each activation call is parsed into a tree; the whole file's
    syntax is checked by building its symbol table, at half the cost of a tree. When such a
    block cannot be cut out cleanly, the whole file is parsed instead.
    """
    return _structural(text)


def _structural(text: str, whole_file: bool = False) -> bool:
    import symtable
    import warnings

    rows, shaped = _relevant_lines(text)
    if shaped:
        return True
    if not rows:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if whole_file:
                tree = python_tree(text)
                return any(_fires(node) for node in _statements_around(tree.body, rows))
            # the symbol table needs the whole parse but neither Python objects nor bytecode
            symtable.symtable(text, "<prefilter>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return True
    lines = text.split("\n")
    indents = _Indents(lines)
    groups: dict[tuple[int, ...], list[int]] = {}
    for line in rows:
        groups.setdefault(tuple(_headers_above(lines, indents, line - 1)), []).append(line - 1)
    fired = [_chunk_fires(lines, indents, group) for group in groups.values()]
    if any(fired):
        return True
    return None in fired and _structural(text, whole_file=True)

"""Property tests: no input makes the readers, the parser or the analysis raise.

Every run tests the same examples (derandomised, no example database), so the suite stays
deterministic. For a longer, random fuzzing run:

    LSTMLINT_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import ast
import json
import os
import warnings

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lstmlint import notebook, sources  # noqa: E402
from lstmlint.engine import check_file, lint_document  # noqa: E402
from lstmlint.parse import parse_document  # noqa: E402
from lstmlint.registry import READ_ERROR, SYNTAX_ERROR, all_rules  # noqa: E402
from lstmlint.selection import Selection  # noqa: E402
from lstmlint.sources import SourceDocument, UnreadableFile  # noqa: E402

LONG = int(os.environ.get("LSTMLINT_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int):
    return settings(
        max_examples=LONG or examples,
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


SELECTION = Selection()
KNOWN_CODES = {READ_ERROR[0], SYNTAX_ERROR[0]} | {rule.code for rule in all_rules()}


def assert_document(doc: SourceDocument) -> None:
    """What every reader promises about the document it returns."""
    assert "\r" not in doc.text
    lines = doc.text.split("\n")
    if doc.cells is None:
        assert doc.display_lines == lines
        return
    assert len(doc.display_lines) == sum(cell.line_count for cell in doc.cells)
    expected_first = 1
    for cell in doc.cells:  # contiguous spans, in order, covering the analysed text
        assert cell.first_line == expected_first and cell.line_count >= 1
        expected_first += cell.line_count
    if doc.cells:
        assert len(lines) == expected_first  # the joined text ends with one newline
        for number in range(1, len(lines)):
            cell_index, local = doc.locate(number)
            assert cell_index is not None and local >= 1


def assert_clean_findings(doc: SourceDocument, found: list) -> None:
    count = len(doc.text.split("\n"))
    for diag in found:
        assert diag.code in KNOWN_CODES
        assert diag.span.line >= 1 and diag.span.column >= 1
        if doc.cells is None:
            assert diag.span.line <= count
        else:
            assert diag.cell in {cell.index for cell in doc.cells}


# --- the notebook reader ----------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
code_lines = st.sampled_from(
    [
        "import numpy as np\n",
        "h = np.tanh(x)\n",
        "for t in range(T):\n",
        "    h = np.tanh(W @ h + x[t])\n",
        "%matplotlib inline\n",
        "!pip install numpy\n",
        "%%time\n",
        "%%bash\n",
        "np.tanh?\n",
        "x = !ls\n",
        "z = \n",
        "def f(:\n",
        "\t\tindented\n",
        "'''\n",
        "",
        "\n",
        "\r\n",
        "\u2028",
        "\x00",
        "\ud800",
    ]
)
sources_ = st.one_of(
    st.lists(code_lines | st.text(max_size=15), max_size=6),
    st.lists(code_lines, max_size=6).map("".join),
    json_values,
)
cells = st.fixed_dictionaries(
    {
        "cell_type": st.sampled_from(["code", "markdown", "raw", "heading", 3, None]),
        "source": sources_,
    },
    optional={"input": sources_, "metadata": json_values, "outputs": json_values},
)
notebooks = st.one_of(
    st.fixed_dictionaries(
        {"cells": st.lists(cells | json_values, max_size=5)},
        optional={
            "metadata": st.fixed_dictionaries(
                {},
                optional={
                    "language_info": st.fixed_dictionaries(
                        {"name": st.sampled_from(["python", "Python 3", "R", "", 5])}
                    ),
                    "kernelspec": json_values,
                },
            )
            | json_values,
            "nbformat": json_values,
        },
    ),
    st.fixed_dictionaries(
        {
            "worksheets": st.lists(
                st.fixed_dictionaries({"cells": st.lists(cells, max_size=4) | json_values})
                | json_values,
                max_size=3,
            )
        }
    ),
    json_values,
)


@fuzz(200)
@given(notebooks)
def test_notebook_reader_takes_any_json(nb) -> None:
    data = json.dumps(nb).encode("utf-8")
    try:
        doc = notebook.read_notebook(data, "fuzz.ipynb")
    except UnreadableFile as exc:
        assert str(exc)
        return
    assert_document(doc)


@fuzz(150)
@given(st.binary(max_size=200) | notebooks.map(lambda nb: json.dumps(nb).encode()[:-3]))
def test_notebook_reader_takes_any_bytes(data: bytes) -> None:
    try:
        doc = notebook.read_notebook(data, "fuzz.ipynb")
    except UnreadableFile:
        return
    assert_document(doc)


# --- the file reader --------------------------------------------------------------------------

cookies = st.sampled_from(
    [
        b"",
        b"\xef\xbb\xbf",
        b"# -*- coding: latin-1 -*-\n",
        b"# coding: utf-8\n",
        b"# coding=ascii\n",
        b"# vim: set fileencoding=cp1252 :\n",
        b"#!/usr/bin/env python\n# coding: euc-jp\n",
        b"# coding: utf-16\n",
        b"# coding: rot13\n",
        b"# coding: klingon\n",
        b"\xef\xbb\xbf# coding: latin-1\n",
    ]
)
source_bytes = st.tuples(
    cookies,
    st.lists(
        st.sampled_from(
            [b"h = np.tanh(x)", b"caf\xe9", b"\xc3\xa9", b"\r\n", b"\r", b"\n", b"\x00"]
        )
        | st.binary(max_size=12),
        max_size=10,
    ),
).map(lambda parts: parts[0] + b"".join(parts[1]))


@fuzz(200)
@given(source_bytes | st.binary(max_size=300))
def test_decoding_any_bytes(data: bytes) -> None:
    try:
        text = sources.decode_python(data)
    except UnreadableFile as exc:
        assert str(exc)
        return
    assert not text.startswith("\ufeff")


@fuzz(100)
@given(source_bytes, st.sampled_from([".py", ".ipynb"]))
def test_reading_any_file(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("read") / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        doc = sources.read_document(path, path.name)
    except UnreadableFile:
        return
    assert_document(doc)


# --- the parser with recovery -----------------------------------------------------------------

fragments = st.sampled_from(
    [
        "import numpy as np",
        "def lstm_step(x, h, c):",
        "def backward(cache):",
        "class RNN:",
        "for t in range(T):",
        "for t in reversed(range(T)):",
        "while t > 0:",
        "if x:",
        "elif y:",
        "else:",
        "try:",
        "except ValueError, e:",
        "finally:",
        "with open(f) as g:",
        "h = np.tanh(",
        "h = np.tanh(x) * o",
        "c = f * c + i * g",
        "x = [1, 2",
        "]",
        ")",
        "}",
        "z = ",
        "return h",
        "print 'x'",
        "'''",
        '"""doc',
        "lambda: (",
        "@decorator",
        "pass",
        "x = 1 \\",
        "# comment",
        "x = 1 if",
        "async def g():",
        "await x",
        "yield h",
        "match x:",
        "case [1, *rest]:",
        "f'{x'",
        "hs[t-1] = hs[t] +",
        "dh = dh_next + W.T @ dz",
        "global x",
        "del",
        ":",
        "x = (" * 30,
        "-" * 50 + "x",
    ]
)
indents = st.sampled_from(["", "    ", "        ", "\t", "  ", "            ", "\x0c"])
python_lines = st.tuples(indents, fragments | st.text(max_size=12)).map("".join)
python_texts = st.lists(python_lines, max_size=25).map("\n".join)


def _valid(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@fuzz(200)
@given(python_texts)
def test_parser_recovers_from_anything(text: str) -> None:
    text = sources.normalise_newlines(text)
    doc = SourceDocument(path="fuzz.py", text=text, display_lines=text.split("\n"))
    parsed = parse_document(doc)
    repaired = parsed.text.split("\n")
    assert len(repaired) == len(doc.text.split("\n"))  # positions keep pointing at the user's lines
    for problem in parsed.problems:
        assert 1 <= problem.line <= len(repaired) and problem.column >= 1
    if _valid(text):
        assert parsed.problems == [] or parsed.notes  # only libcst can object to valid code
    if not parsed.problems and not parsed.notes:
        assert parsed.text == text
    if parsed.module is not None:
        # libcst round-trips the text line for line, except the comment-only lines at the end
        # and the indentation of a line with a form feed (which resets Python's indentation)
        def same(code: str) -> list[str]:
            lines = [
                line.lstrip(" \t\x0c") if "\x0c" in line else line for line in code.split("\n")
            ]
            while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
                lines.pop()
            return lines

        assert same(parsed.module.code) == same(parsed.text)
        if not parsed.notes:
            assert _valid(parsed.text)


@fuzz(150)
@given(st.lists(python_texts, min_size=1, max_size=4))
def test_notebook_cells_are_repaired_one_by_one(cell_texts: list[str]) -> None:
    nb = {
        "cells": [{"cell_type": "code", "source": text} for text in cell_texts],
        "metadata": {},
    }
    doc = notebook.read_notebook(json.dumps(nb).encode(), "fuzz.ipynb")
    parsed = parse_document(doc)
    assert len(parsed.text.split("\n")) == len(doc.text.split("\n"))
    assert len(parsed.problems) <= len(cell_texts) + 1
    found = lint_document(doc, SELECTION)
    assert_clean_findings(doc, found)


# --- the whole analysis -----------------------------------------------------------------------

statements = st.sampled_from(
    [
        "h = np.tanh(np.dot(Wxh, x) + np.dot(Whh, h) + bh)",
        "h = np.tanh(Wx @ xs[t] + Wh @ hs[t-1] + b)",
        "hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]))",
        "i = sigmoid(z[:H])",
        "f = sigmoid(z[H:2*H])",
        "o = sigmoid(z[2*H:3*H])",
        "g = np.tanh(z[3*H:])",
        "c = f * c_prev + i * g",
        "cs[t] = f * cs[t-1] + i * g",
        "h = o * np.tanh(c)",
        "z = np.dot(W, np.concatenate([h, x])) + b",
        "z = np.vstack((h_prev, x))",
        "ys[t] = np.dot(Why, hs[t]) + by",
        "ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))",
        "loss += -np.log(ps[t][targets[t], 0])",
        "dy = np.copy(ps[t])",
        "dy[targets[t]] -= 1",
        "dWhy += np.dot(dy, hs[t].T)",
        "dh = np.dot(Why.T, dy) + dhnext",
        "dhraw = (1 - hs[t] * hs[t]) * dh",
        "dhraw = (1 - h ** 2) * dh",
        "do = dh * np.tanh(c)",
        "dc = dc_next + dh * o * (1 - np.tanh(c) ** 2)",
        "di = dc * g * i * (1 - i)",
        "df = dc * cs[t-1] * f * (1 - f)",
        "dg = dc * i * (1 - g ** 2)",
        "dWxh += np.dot(dhraw, xs[t].T)",
        "dWhh += np.dot(dhraw, hs[t-1].T)",
        "dhnext = np.dot(Whh.T, dhraw)",
        "dc_next = f * dc",
        "for dparam in [dWxh, dWhh, dWhy]:\n    np.clip(dparam, -5, 5, out=dparam)",
        "param -= learning_rate * dparam",
        "hs, cs = {}, {}",
        "hs[-1] = np.copy(hprev)",
        "h, c = lstm_step(x, h, c)",
        "cache = (i, f, o, g, c, h)",
        "i, f, o, g, c, h = cache",
        "return h, c",
        "return loss, dWxh, dWhh, dWhy, hs[len(inputs)-1]",
        "x = x",
        "self.h = np.tanh(self.W @ x)",
        "t = t - 1",
        "pass",
    ]
)
headers = st.sampled_from(
    [
        "for t in range(len(inputs)):",
        "for t in reversed(range(len(inputs))):",
        "for t in range(T - 1, -1, -1):",
        "for x in inputs:",
        "while t >= 0:",
        "if t > 0:",
        "with np.errstate(all='ignore'):",
    ]
)


@st.composite
def programs(draw) -> str:
    lines = ["import numpy as np", "", "def sigmoid(x):", "    return 1 / (1 + np.exp(-x))", ""]
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(["lstm_forward", "rnn_step", "backward", "lossFun", "f"]))
        lines.append(f"def {name}(inputs, targets, hprev, W, b):")
        body: list[str] = []
        for _ in range(draw(st.integers(1, 8))):
            if draw(st.booleans()):
                body.append(draw(headers))
                body.extend(
                    "    " + s
                    for s in "\n".join(draw(st.lists(statements, min_size=1, max_size=5))).split(
                        "\n"
                    )
                )
            else:
                body.extend(draw(statements).split("\n"))
        lines.extend("    " + line for line in body)
        lines.append("")
    return "\n".join(lines) + "\n"


@fuzz(100)
@given(programs())
def test_analysis_of_random_lstm_like_programs(program: str) -> None:
    doc = SourceDocument(path="fuzz.py", text=program, display_lines=program.split("\n"))
    notes: list[str] = []
    found = lint_document(doc, SELECTION, None, notes)
    assert_clean_findings(doc, found)
    assert not [note for note in notes if "internal error" in note], notes


@fuzz(60)
@given(programs(), st.lists(st.tuples(st.integers(0, 400), python_lines), max_size=3))
def test_check_file_on_damaged_programs(tmp_path_factory, program: str, damage) -> None:
    """A program with lines overwritten by arbitrary fragments: findings or LST000, no exception."""
    lines = program.split("\n")
    for position, line in damage:
        lines[position % len(lines)] = line
    path = tmp_path_factory.mktemp("check") / "model.py"
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8", newline="")
    result = check_file(path, "model.py", SELECTION)
    assert result.unreadable == ("\x00" in text)  # NUL bytes: refused as binary (LST001)
    if result.document is not None:
        assert_clean_findings(result.document, result.diagnostics)
    assert not [note for note in result.notes if "internal error" in note], result.notes


def test_reference_inputs_still_analysed() -> None:
    """The generators above are not vacuous: a generated-style program does reach the rules."""
    program = (
        "import numpy as np\n\n"
        "def lossFun(inputs, targets, hprev, W, b):\n"
        "    hs = {}\n"
        "    hs[-1] = np.copy(hprev)\n"
        "    for t in range(len(inputs)):\n"
        "        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t-1]))\n"
        "    dhnext = np.zeros_like(hs[0])\n"
        "    for t in reversed(range(len(inputs))):\n"
        "        dh = np.dot(Why.T, dy) + dhnext\n"
        "        dhraw = (1 - hs[t] * hs[t]) * dh\n"
        "        dWhh += np.dot(dhraw, hs[t].T)\n"
        "        dhnext = np.dot(Whh.T, dhraw)\n"
        "    return dWhh\n"
    )
    doc = SourceDocument(path="ref.py", text=program, display_lines=program.split("\n"))
    assert any(d.code.startswith("LST1") for d in lint_document(doc, SELECTION))

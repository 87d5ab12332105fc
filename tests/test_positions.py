"""Spans found from one top-level statement at a time equal libcst's whole-module positions
(as its metadata wrapper resolves them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from lstmlint.analysis.names import walk
from lstmlint.analysis.positions import Positions
from lstmlint.parse import parse_document
from lstmlint.sources import read_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = ["reviewed/lstm_scratch.py", "reviewed/lstm_scratch.ipynb", "cs231n/lstm_layers_buggy.py"]


def _compare(module, text: str) -> Positions:
    """Every node's span equals libcst's position from the whole module; the Positions used."""
    found = Positions(module, text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    compared = 0
    for node in (n for statement in module.body for n in walk(statement)):
        whole = expected.get(node)
        if whole is None:
            continue
        span = found.span(node)
        assert (span.line, span.column, span.end_line, span.end_column) == (
            whole.start.line,
            whole.start.column + 1,
            whole.end.line,
            whole.end.column + 1,
        ), node
        compared += 1
        line = found._line_of.get(id(node))
        if line is not None:  # found from the line alone, not from its whole function
            assert found._in_piece(line, node) is not None, node
    assert compared > 0
    return found


@pytest.mark.parametrize("name", CASES)
def test_spans_equal_module_positions(name: str) -> None:
    parsed = parse_document(read_document(FIXTURES / name, name))
    found = _compare(parsed.module, parsed.text)
    assert "_whole" not in found.__dict__  # every span came from a piece of the module


def test_text_that_does_not_pair_up_falls_back_to_the_whole_module() -> None:
    import libcst as cst

    module = cst.parse_module("x = 1\n\ndef f():\n    return x\n")
    found = Positions(module, "something else")  # Python's parser no longer pairs up
    assert found.span(module.body[1]).line == 3
    assert "_whole" in found.__dict__


AWKWARD = '''#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Module docstring
over lines."""
import numpy as np; import math  # two on a line


@staticmethod
@decorate(
    1,
)
def f(a,
      b):  # comment
    text = """
    not code: def g(): pass
    """
    return a + \\
        b
    # a trailing comment, indented


# a comment between statements
class Cell:
    x = 1

    def step(self, h):
        return np.tanh(h)
if True: y = 2
else:
    y = 3
for t in reversed(range(3)): pass
'''


def test_awkward_layout_spans_equal_module_positions() -> None:
    import libcst as cst

    found = _compare(cst.parse_module(AWKWARD), AWKWARD)
    assert "_whole" not in found.__dict__


def test_continuation_lines_and_tabs_inside_blocks() -> None:
    import libcst as cst

    text = (
        "class A:\n"
        "\tdef f(self, a):\n"
        "\t\tx = foo(a,\n"
        "\t\t        a)  # aligned\n"
        "\t\ty = [\n"
        "\t\t\t1,\n"
        "\t\t]\n"
        "\t\tz = a + \\\n"
        "\t\t\t1\n"
        "\t\tif a: w = 1\n"
        "\t\treturn x\n"
    )
    found = _compare(cst.parse_module(text), text)
    assert "_whole" not in found.__dict__

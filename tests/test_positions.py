"""Spans found from one top-level statement at a time equal libcst's whole-module positions
(as its metadata wrapper resolves them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from lstmlint.analysis.model import RnnModel
from lstmlint.analysis.names import walk
from lstmlint.parse import parse_document
from lstmlint.sources import read_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = ["reviewed/lstm_scratch.py", "reviewed/lstm_scratch.ipynb", "cs231n/lstm_layers_buggy.py"]


@pytest.mark.parametrize("name", CASES)
def test_statement_spans_equal_module_positions(name: str) -> None:
    path = FIXTURES / name
    parsed = parse_document(read_document(path, name))
    model = RnnModel(parsed.module, text=parsed.text)
    positions = MetadataWrapper(parsed.module, unsafe_skip_copy=True).resolve(PositionProvider)
    compared = 0
    for node in walk(model.module):
        whole = positions.get(node)
        if whole is None or id(node) not in model._statement_of:
            continue
        span = model.span(node)
        assert (span.line, span.column, span.end_line, span.end_column) == (
            whole.start.line,
            whole.start.column + 1,
            whole.end.line,
            whole.end.column + 1,
        )
        compared += 1
    assert compared > 1000
    assert "_module_positions" not in model.__dict__  # every span came from one statement


def test_text_that_does_not_add_up_falls_back_to_the_whole_module() -> None:
    import libcst as cst

    model = RnnModel(cst.parse_module("x = 1\n\ndef f():\n    return x\n"))
    model.__dict__["code"] = "something else"  # Python's parser no longer pairs up with libcst
    assert model._statement_lines is None
    node = model.module.body[1]
    assert model.span(node).line == 3


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

    module = cst.parse_module(AWKWARD)
    model = RnnModel(module, text=AWKWARD)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert model._statement_lines is not None
    for node in walk(module):
        whole = positions.get(node)
        if whole is None or id(node) not in model._statement_of:
            continue
        span = model.span(node)
        assert (span.line, span.column, span.end_line, span.end_column) == (
            whole.start.line,
            whole.start.column + 1,
            whole.end.line,
            whole.end.column + 1,
        )
    assert "_module_positions" not in model.__dict__

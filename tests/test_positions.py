"""Spans found from one top-level statement at a time equal libcst's whole-module positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstmlint.analysis.model import RnnModel
from lstmlint.analysis.names import walk
from lstmlint.parse import parse_document
from lstmlint.sources import read_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = ["reviewed/lstm_scratch.py", "reviewed/lstm_scratch.ipynb", "cs231n/lstm_layers_buggy.py"]


@pytest.mark.parametrize("name", CASES)
def test_statement_spans_equal_module_positions(name: str) -> None:
    path = FIXTURES / name
    model = RnnModel(parse_document(read_document(path, name)).module)
    compared = 0
    for node in walk(model.module):
        whole = model._positions.get(node)
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


def test_text_that_does_not_add_up_falls_back_to_the_whole_module() -> None:
    import libcst as cst

    model = RnnModel(cst.parse_module("x = 1\n\ndef f():\n    return x\n"))
    model.__dict__["code"] = "something else"  # the pieces no longer add up to the text
    assert model._statement_starts is None
    node = model.module.body[1]
    assert model.span(node).line == 3

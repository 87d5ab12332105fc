"""Each rule's embedded examples: invalid ones are reported on their ``# bug`` lines, valid ones
never; an invalid example with ``fixed`` becomes exactly that code when its findings' edits are
applied, and is no longer reported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lstmlint.edits import apply_groups
from lstmlint.engine import lint_document
from lstmlint.registry import all_rules
from lstmlint.selection import Selection
from lstmlint.sources import SourceDocument

CASES = [
    (rule, index)
    for rule in all_rules()
    if not rule.dynamic  # their invalid examples are run in test_harness.py
    for index in range(len(rule.invalid))
]
VALID = [(rule, index) for rule in all_rules() for index in range(len(rule.valid))]


def _lint(tmp_path: Path, code: str, files: dict[str, str], rule) -> list:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "example.py"
    path.write_text(code)
    doc = SourceDocument(path=str(path), text=code, display_lines=code.split("\n"))
    notes: list[str] = []
    found = lint_document(doc, Selection(select=(rule.code,)), path, notes)
    # a rule that fails inside is skipped on that file: silent, but not because it judged
    assert not [n for n in notes if "internal error" in n], notes
    return found


def test_every_rule_has_examples_and_docs() -> None:
    for rule in all_rules():
        assert rule.invalid and rule.valid, rule.code
        for heading in ("What it finds", "Example", "Fix"):
            assert heading in rule.doc, f"{rule.code} doc lacks {heading!r}"
        for example in rule.invalid:
            assert example.lines, f"{rule.code}: an invalid example marks no '# bug' line"


@pytest.mark.parametrize(("rule", "index"), CASES, ids=[f"{r.code}-invalid-{i}" for r, i in CASES])
def test_invalid_examples(tmp_path: Path, rule, index: int) -> None:
    example = rule.invalid[index]
    found = _lint(tmp_path, example.code, example.files, rule)
    assert sorted({d.line for d in found}) == sorted(set(example.lines))
    assert all(d.code == rule.code and d.fix for d in found)


@pytest.mark.parametrize(("rule", "index"), CASES, ids=[f"{r.code}-fix-{i}" for r, i in CASES])
def test_invalid_examples_fix(tmp_path: Path, rule, index: int) -> None:
    example = rule.invalid[index]
    found = _lint(tmp_path, example.code, example.files, rule)
    if example.fixed is None:
        assert not any(d.edits for d in found), "an example without `fixed` must have no edits"
        return
    assert all(d.edits for d in found)
    applied = apply_groups(example.code, [d.edits for d in found])
    assert len(applied.groups) == len(found), "the example's fixes overlap"
    assert applied.text == example.fixed
    ast.parse(applied.text)
    assert _lint(tmp_path, applied.text, example.files, rule) == []


@pytest.mark.parametrize(("rule", "index"), VALID, ids=[f"{r.code}-valid-{i}" for r, i in VALID])
def test_valid_examples(tmp_path: Path, rule, index: int) -> None:
    example = rule.valid[index]
    assert _lint(tmp_path, example.code, example.files, rule) == []

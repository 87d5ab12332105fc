"""The byte prefilter never skips a file that lstmlint can report on."""

from __future__ import annotations

from pathlib import Path

from lstmlint.prefilter import may_hold_rnn_code
from lstmlint.registry import all_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_every_fixture_passes_the_prefilter() -> None:
    for path in FIXTURES.rglob("*"):
        if path.suffix in (".py", ".ipynb") and "reviewed/data.py" not in path.as_posix():
            assert may_hold_rnn_code(path.read_bytes()), path


def test_every_rule_example_passes_the_prefilter() -> None:
    for rule in all_rules():
        for example in rule.invalid:
            assert may_hold_rnn_code(example.code.encode()), rule.code


def test_plain_code_is_skipped() -> None:
    assert not may_hold_rnn_code(b"import os\n\ndef main():\n    print(os.getcwd())\n")

"""The byte prefilter never skips a file that lstmlint can report on."""

from __future__ import annotations

from pathlib import Path

from lstmlint.prefilter import may_hold_rnn_code, may_hold_rnn_code_syntax
from lstmlint.registry import all_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_every_fixture_passes_the_prefilter() -> None:
    for path in FIXTURES.rglob("*"):
        if path.suffix in (".py", ".ipynb") and "reviewed/data.py" not in path.as_posix():
            assert may_hold_rnn_code(path.read_bytes()), path


def test_every_fixture_passes_the_structural_prefilter() -> None:
    for path in FIXTURES.rglob("*.py"):
        if path.name not in ("data.py", "utils.py"):
            assert may_hold_rnn_code_syntax(path.read_text()), path


def test_every_rule_example_passes_the_prefilter() -> None:
    for rule in all_rules():
        for example in rule.invalid:
            assert may_hold_rnn_code(example.code.encode()), rule.code
            assert may_hold_rnn_code_syntax(example.code), rule.code


def test_structural_prefilter_skips_activation_use_outside_loops_and_keeps_broken_files() -> None:
    assert not may_hold_rnn_code_syntax(
        "import numpy as np\n\ndef test_values():\n    assert np.tanh(0) == 0\n"
    )
    assert may_hold_rnn_code_syntax("def lstm_step(:\n")


def test_plain_code_is_skipped() -> None:
    assert not may_hold_rnn_code(b"import os\n\ndef main():\n    print(os.getcwd())\n")

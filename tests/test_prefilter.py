"""The prefilters never skip a file that lstmlint can report on, and skip look-alikes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstmlint import prefilter
from lstmlint.engine import check_file, lint_document
from lstmlint.prefilter import (
    is_activation_name,
    is_marker_identifier,
    may_hold_rnn_code,
    may_hold_rnn_code_syntax,
)
from lstmlint.registry import all_rules
from lstmlint.selection import Selection
from lstmlint.sources import read_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _examples() -> list[tuple[str, str]]:
    found = []
    for rule in all_rules():
        for kind, examples in (("invalid", rule.invalid), ("valid", rule.valid)):
            for index, example in enumerate(examples):
                found.append((f"{rule.code}-{kind}-{index}", example.code))
    return found


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


def test_nothing_the_full_analysis_reports_is_skipped(tmp_path: Path) -> None:
    """Every fixture and every rule example (valid ones too), analysed without the prefilters:
    each one with findings passes them."""
    selection = Selection(select=("ALL",))
    cases = [(p.relative_to(FIXTURES).as_posix(), p) for p in sorted(FIXTURES.rglob("*.py"))]
    for name, code in _examples():
        path = tmp_path / f"{name}.py"
        path.write_text(code)
        cases.append((name, path))
    flagged = 0
    for name, path in cases:
        document = read_document(path, name)
        if not lint_document(document, selection, path):
            continue
        flagged += 1
        assert may_hold_rnn_code(path.read_bytes()), name
        assert document.is_notebook or may_hold_rnn_code_syntax(document.text), name
    invalid = sum(len(rule.invalid) for rule in all_rules())
    assert flagged >= invalid  # the buggy programs were among them, not just clean ones


def test_a_file_that_passes_is_analysed_as_without_the_prefilter() -> None:
    selection = Selection(select=("ALL",))
    path = FIXTURES / "reviewed" / "lstm_scratch.py"
    unfiltered = lint_document(read_document(path, "x.py"), selection, path)
    filtered = check_file(path, "x.py", selection).diagnostics
    assert unfiltered and [d.to_dict() for d in filtered] == [d.to_dict() for d in unfiltered]


def test_the_block_by_block_look_agrees_with_the_whole_file_look() -> None:
    texts = [p.read_text() for p in sorted(FIXTURES.rglob("*.py"))]
    texts += [code for _, code in _examples()]
    texts += [text for text, _ in LOOKALIKES + RECURRENT]
    for text in texts:
        assert prefilter._structural(text) == prefilter._structural(text, whole_file=True), text


@pytest.mark.parametrize(
    ("identifier", "marker", "activation"),
    [
        ("tanh", True, True),
        ("dtanh", True, True),
        ("sigmoid_prime", True, True),
        ("dsigmoid", True, True),
        ("sigmoidGrad", True, True),
        ("expit", True, True),
        ("der_expit", True, True),
        ("sigm", True, True),
        ("LSTMCell", True, False),
        ("char_rnn", True, False),
        ("GRU", True, False),
        ("lstms", True, False),
        ("arctanh", False, False),
        ("atanh", False, False),
        ("_tanhsinh", False, False),
        ("tanhm", False, False),
        ("grumble", False, False),
        ("test_tanh", True, False),
        ("check_expit_out", True, False),
        ("log_expit", True, False),
        ("hard_sigmoid", True, False),
    ],
)
def test_marker_words(identifier: str, marker: bool, activation: bool) -> None:
    assert is_marker_identifier(identifier) is marker
    assert is_activation_name(identifier) is activation


def test_plain_code_is_skipped() -> None:
    assert not may_hold_rnn_code(b"import os\n\ndef main():\n    print(os.getcwd())\n")
    assert not may_hold_rnn_code(b"from scipy.integrate import _tanhsinh\nx = np.arctanh(y)\n")
    assert may_hold_rnn_code(b"# a GRU, written out\n")


# (text, why it is no recurrent code)
LOOKALIKES = [
    (
        "import numpy as np\n\ndef test_values():\n    assert np.tanh(0) == 0\n",
        "an activation outside any loop",
    ),
    (
        "from scipy.special import expit\n"
        "def test_large():\n"
        "    for dtype in (np.float32, np.float64):\n"
        "        for n in (88, 89):\n"
        "            n = np.array(n, dtype=dtype)\n"
        "            assert_allclose(expit(n), 1.0)\n",
        "an activation only passed to an assertion",
    ),
    (
        "import scipy.special as sc\n"
        "def fit(data, scale):\n"
        "    residual = 1.0\n"
        "    while residual > 1e-9:\n"
        "        term = data * sc.expit(-data / scale)\n"
        "        new = 2 * term.sum()\n"
        "        residual = abs(scale - new)\n"
        "        scale = new\n"
        "    return scale\n",
        "a sigmoid-only iteration until convergence",
    ),
    (
        "def f(a, b):\n    for i in range(4):\n        r = _tanhsinh(f, a, b, maxlevel=i)\n"
        "        last = r\n",
        "a function whose name merely contains tanh",
    ),
    (
        'def doc():\n    """\n    >>> for t in range(3):\n    ...     h = np.tanh(h)\n    """\n',
        "a doctest",
    ),
    (
        "def note(h):\n    for t in range(3):\n        h = h + 1  # h = np.tanh(h)\n    return h\n",
        "an activation in a comment",
    ),
    (
        'def label(h):\n    for t in range(3):\n        h = h + len("np.tanh(h)")\n    return h\n',
        "an activation in a string",
    ),
]

# (text, what makes it recurrent)
RECURRENT = [
    (
        "import numpy as np\nfor t in range(T):\n    h = np.tanh(W @ h + U @ x[t])\n",
        "a module-level time loop",
    ),
    (
        "def run(xs, h):\n    while True:\n        h = np.tanh(W @ h + xs.pop())\n",
        "a tanh in a loop without a counter",
    ),
    (
        "def run(xs, c):\n    t = 0\n    while t < T:\n        f = sigmoid(W @ xs[t])\n"
        "        c = f * c\n        t += 1\n",
        "a sigmoid in a counted while loop",
    ),
    (
        "def run(xs):\n    hs = [h0]\n    for x in xs:\n        hs.append(np.tanh(W @ hs[-1] + x))\n",
        "an activation appended to a history",
    ),
    (
        "class Model:\n"
        '    """A model.\n\nIts docstring has lines at the margin.\n"""\n'
        "    def forward(self,\n                x):\n"
        "        return sigmoid(self.W @ x)\n",
        "a forward method with an activation (after a docstring the block cutter cannot cut)",
    ),
    (
        "def train(\n    xs,\n    h,\n):\n    for x in xs:\n        h = np.tanh(W @ h + x)\n"
        "    return h\n",
        "a time loop under a signature spread over lines",
    ),
    (
        "def outer(xs, h):\n    for x in xs:\n        def step(v):\n            return np.tanh(v)\n"
        "        h = step(W @ h + x)\n",
        "an activation in a step function defined in the loop",
    ),
    ("class LSTMCell:\n    pass\n", "a definition named after a recurrent cell"),
    ("import numpy as np\nh = np.tanh(\n", "a syntax error near an activation"),
    (
        "import numpy as np\nh = np.tanh(1)\nx = (\n",
        "a syntax error elsewhere in a file with an activation",
    ),
]


@pytest.mark.parametrize(("text", "why"), LOOKALIKES, ids=[why for _, why in LOOKALIKES])
def test_structural_prefilter_skips_lookalikes(text: str, why: str) -> None:
    assert not may_hold_rnn_code_syntax(text), why


@pytest.mark.parametrize(("text", "why"), RECURRENT, ids=[why for _, why in RECURRENT])
def test_structural_prefilter_keeps_recurrent_code(text: str, why: str) -> None:
    assert may_hold_rnn_code_syntax(text), why


def test_notebook_bytes_pass_when_a_cell_mentions_an_activation() -> None:
    notebook = {
        "cells": [{"cell_type": "code", "source": ["h = np.tanh(W @ h)\n"], "metadata": {}}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    assert may_hold_rnn_code(json.dumps(notebook).encode())

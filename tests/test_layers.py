"""Activation layer objects: which classes apply sigmoid or tanh, and where they keep it."""

from pathlib import Path

import libcst as cst
from lstmlint.rules._programs import LAYER_OBJECTS, swap

from lstmlint.analysis.helpers import ModuleContext, ModuleLoader
from lstmlint.engine import lint_document
from lstmlint.selection import Selection
from lstmlint.sources import SourceDocument

LAYERS = """
import numpy as np


class Sigm:
    def forward(self, M):
        s = np.clip(1 / (1 + np.exp(-M)), 1e-7, 1 - 1e-7)
        self.output = s
        self.inputs = M


class Squash:
    def __call__(self, z):
        self.a = np.tanh(z)
        return self.a


class ReLU:
    def forward(self, z):
        self.output = np.maximum(0, z)


class Dense:
    def __init__(self, n):
        self.w = np.ones(n)

    def forward(self, x, h):
        self.output = np.tanh(x + h)


class SigmoidGrad:
    def forward(self, y):
        self.output = y * (1 - y)
"""


def _classes(text: str) -> dict:
    return ModuleContext(cst.parse_module(text), Path("m.py"), ModuleLoader()).activation_classes


def test_a_layer_is_known_by_what_its_method_computes():
    found = _classes(LAYERS)
    assert sorted(found) == ["Sigm", "Squash"]
    assert (found["Sigm"].act, found["Sigm"].method, found["Sigm"].outputs) == (
        "sigmoid",
        "forward",
        frozenset({"output"}),
    )
    assert not found["Sigm"].returns
    assert (found["Squash"].act, found["Squash"].method, found["Squash"].returns) == (
        "tanh",
        "__call__",
        True,
    )
    assert found["Squash"].outputs == frozenset({"a"})


def _offset_lines(tmp_path: Path, code: str) -> list[int]:
    path = tmp_path / "layers.py"
    path.write_text(code)
    doc = SourceDocument(path=str(path), text=code, display_lines=code.split("\n"))
    return [d.span.line for d in lint_document(doc, Selection(select=("LST101",)), path)]


def test_a_layer_applied_by_calling_it_names_the_states(tmp_path):
    called = swap(
        swap(
            swap(
                LAYER_OBJECTS,
                "        self.output = np.tanh(z)\n",
                "        self.output = np.tanh(z)\n        return self.output\n",
            ),
            "    def forward(self, z):\n        self.output = np.tanh(z)",
            "    def __call__(self, z):\n        self.output = np.tanh(z)",
        ),
        "            self.squash[t].forward(c)\n"
        "            h = self.out[t].output * self.squash[t].output",
        "            h = self.out[t].output * self.squash[t](c)",
    )
    called = called.replace("self.cand[t].forward(", "self.cand[t](")
    assert _offset_lines(tmp_path, called) == []
    buggy = swap(
        called, "np.vstack((self.hs[t], self.xs[t]))", "np.vstack((self.hs[t - 1], self.xs[t]))"
    )
    line = buggy.split("\n").index("            z = np.vstack((self.hs[t - 1], self.xs[t]))") + 1
    assert _offset_lines(tmp_path, buggy) == [line]

"""Inputs read from the file's own calls (a notebook's demonstration cell), and the helpers of
a missing course module that lstmlint stands in for."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run

from lstmlint.harness import callsite
from lstmlint.harness.child import _load

PROGRAM = """\
import numpy as np
from rnn_utils import *


def rnn_cell_forward(xt, a_prev, parameters):
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    Wya = parameters["Wya"]
    ba = parameters["ba"]
    by = parameters["by"]
    a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba)
    yt_pred = softmax(np.dot(Wya, a_next) + by)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, yt_pred, cache


def rnn_cell_backward(da_next, cache):
    (a_next, a_prev, xt, parameters) = cache
    Wax = parameters["Wax"]
    Waa = parameters["Waa"]
    dtanh = (1 - a_next**2) * da_next
    dxt = np.dot(Wax.T, dtanh)
    dWax = np.dot(dtanh, xt.T)
    da_prev = np.dot(Waa.T, dtanh)
    dWaa = np.dot(dtanh, a_prev.T)
    dba = np.sum(dtanh, axis=1, keepdims=True)
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


np.random.seed(1)
xt_tmp = np.random.randn(3, 10)
a_prev_tmp = np.random.randn(5, 10)
parameters_tmp = {}
parameters_tmp["Waa"] = np.random.randn(5, 5)
parameters_tmp["Wax"] = np.random.randn(5, 3)
parameters_tmp["Wya"] = np.random.randn(2, 5)
parameters_tmp["ba"] = np.random.randn(5, 1)
parameters_tmp["by"] = np.random.randn(2, 1)
a_next_tmp, yt_pred_tmp, cache_tmp = rnn_cell_forward(xt_tmp, a_prev_tmp, parameters_tmp)
print("a_next[4] = ", a_next_tmp[4])
gradients_tmp = rnn_cell_backward(np.random.randn(5, 10), cache_tmp)
"""
FIXED = "np.dot(Waa.T, dtanh)"


def _report(capsys, tmp_path: Path, text: str, *args: str) -> tuple[dict, str]:
    path = tmp_path / "cells.py"
    path.write_text(text)
    report = tmp_path / "report.json"
    _, out, _ = run(capsys, "--harness-report", str(report), *args, str(path))
    return json.loads(report.read_text())[0], " ".join(out.split())


def test_a_layer_is_called_with_the_arguments_of_its_own_demonstration(
    tmp_path: Path, capsys
) -> None:
    record, out = _report(capsys, tmp_path, PROGRAM)
    assert record["status"] == "checked"
    assert "its own call of rnn_cell_forward (line 39)" in record["inputs"]
    # the helper of the missing module is lstmlint's, and the verdict says so
    assert "lstmlint's own `softmax` standing in for those of `rnn_utils`" in record["inputs"]
    verdicts = {p["name"]: p["verdict"] for p in record["parameters"]}
    assert verdicts == dict.fromkeys(["xt", "a_prev", "Wax", "Waa", "ba"], "PASS")
    assert "LST900" not in out


def test_a_wrong_gradient_is_found_with_those_arguments(tmp_path: Path, capsys) -> None:
    buggy = PROGRAM.replace(FIXED, "np.dot(Waa, dtanh)")
    record, out = _report(capsys, tmp_path, buggy)
    assert {p["name"] for p in record["parameters"] if p["verdict"] == "FAIL"} == {"a_prev"}
    # the rule that reads the missing transpose is proved by the file's own call
    assert "LST209" in out and "confirmed on your code" in out
    assert "LST900" not in out and "LST901" not in out
    # without that rule, the missing transpose is found by repairing it, at its line
    record, out = _report(capsys, tmp_path, buggy, "--ignore", "LST209")
    assert "LST901" in out and "`Waa` -> `Waa.T` makes the gradients of a_prev exact" in out
    assert "confirmed on your code" in out and "LST900" not in out


def test_without_a_demonstration_no_sizes_are_known(tmp_path: Path, capsys) -> None:
    cut = PROGRAM.index("np.random.seed(1)")
    record, _ = _report(capsys, tmp_path, PROGRAM[:cut])
    assert record["status"] == "not-callable"
    assert "no shape known" in record["reason"]


PAYLOADS = [
    "open('marker', 'w')",
    "x = open('marker', 'w')",
    "x = __import__('os')",
    "x = np.load('marker')",
    "x = np.random.__dict__",
    "x = np.zeros(3).tofile('marker')",
    "x = [open('marker', 'w') for _ in range(1)]",
    "x = (lambda: open('marker', 'w'))()",
    "x = getattr(np, 'save')",
    "np.save('marker', np.zeros(1))",
    "x = _secret",
    "import os",
    "x = np.lib.npyio.save",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_only_statements_that_make_arrays_are_taken(payload: str) -> None:
    text = (
        f"import numpy as np\ndef f(a):\n    return a\na = np.random.randn(2, 3)\n{payload}\nf(a)\n"
    )
    site = callsite.find(ast.parse(text), "f")
    assert site is not None and site["statements"] == "a = np.random.randn(2, 3)"
    args, _ = callsite.arguments(site)
    assert args[0].shape == (2, 3)
    # a site whose text was changed after it was read is checked again before it runs
    tampered = {**site, "statements": site["statements"] + "\n" + payload}
    with pytest.raises(ValueError, match="may not run"):
        callsite.arguments(tampered)


def test_an_argument_must_be_a_name_or_a_literal() -> None:
    text = "import numpy as np\ndef f(a):\n    return a\nf(open('marker'))\n"
    assert callsite.find(ast.parse(text), "f") is None
    site = {"statements": "", "aliases": ["np"], "args": ["open('marker')"], "kwargs": {}}
    with pytest.raises(ValueError, match="not a name or a literal"):
        callsite.arguments(site)


def test_a_top_level_value_that_fails_is_left_unbound() -> None:
    tree = ast.parse(
        "import numpy as np\nd = {}\nv = f(d['W'])\ndef f(x):\n    return x\nw = np.ones(2)\n"
    )
    namespace: dict = {}
    _load(tree, "<test>", namespace)
    assert "v" not in namespace and callable(namespace["f"]) and np.all(namespace["w"] == 1)


def _allowed(statement: str, aliases: frozenset[str] = frozenset({"np"})) -> bool:
    return callsite.allowed(ast.parse(statement).body[0], set(aliases))


# each of these makes arrays, and so may run to rebuild a call's arguments
TAKEN = [
    "np.random.seed(1)",
    "x = np.random.randn(2, 3)",
    "x = np.zeros((2, 3), dtype=float)",
    "x = np.reshape(np.arange(6), (2, 3))",
    "x = np.eye(2).T",
    "x = 2 * np.ones(a.shape) - 1",
    "x = -a[0][1:2]",
    "x, y = a, np.zeros(2)",
    "[x, y] = [a, 1.5]",
    "d['W'] = np.full((2, 2), 3)",
    "d = {'W': a, 'b': (1, 2)}",
    "x = np.random",
    "x = np.zeros",
]
# each of these does something else, or could: it must never run
REFUSED = [
    "np.zeros",  # a bare expression that is not a call
    "x = np(3)",  # the module itself called
    "x = np.sum(a)",  # NumPy, but not a constructor
    "x = np.linalg.inv(a)",
    "x = np.random.random.randn(2)",
    "x = np.dtype.randn(2)",  # a constructor's name reached through another attribute
    "x = a.reshape(2, 3)",  # a method: `a` may be anything the file bound
    "x = np.zeros(3).reshape(3, 1)",
    "x = np.zeros(**d)",
    "x = a.dtype",
    "x = a.random",
    "x = np.ma",  # a submodule other than random
    "x = np.dtype",
    "x = np.random.__class__",
    "x = _a",
    "x = np.zeros(_n)",
    "_x = np.zeros(2)",
    "x, _y = a, a",
    "x.W = np.zeros(2)",
    "d[k] = np.zeros(2)",
    "d['a']['b'] = np.zeros(2)",
    "*x, y = a",
    "x: int = 3",
    "x += 1",
    "x = {a for a in b}",
    "x = {1, 2}",
    "x = a if b else c",
    "x = a < b",
    "x = a and b",
    "x = f'{a}'",
    "x = (y := 3)",
    "print(a)",
    "for i in a:\n    x = i",
    "def f():\n    pass",
]


@pytest.mark.parametrize("statement", TAKEN)
def test_array_constructors_literals_and_displays_are_taken(statement: str) -> None:
    assert _allowed(statement)


@pytest.mark.parametrize("statement", REFUSED)
def test_anything_else_is_refused(statement: str) -> None:
    assert not _allowed(statement)


def test_only_names_bound_to_numpy_are_its_aliases() -> None:
    assert _allowed("x = numpy.zeros(2)", frozenset({"numpy"}))
    assert not _allowed("x = np.zeros(2)", frozenset({"numpy"}))
    tree = ast.parse("import numpy as np, os as xp\nimport numpy\nfrom numpy import zeros\n")
    assert callsite.numpy_aliases(tree) == {"np", "numpy"}


def _site(text: str, function: str = "f") -> dict | None:
    return callsite.find(ast.parse("import numpy as np\n" + text), function)


def test_the_first_call_with_plain_arguments_is_the_site() -> None:
    text = (
        "a = np.ones(2)\n"
        "f(*a)\n"  # skipped: starred, keyword-splatted or computed arguments
        "f(**a)\n"
        "f(a, b=a.T)\n"
        "g(a)\n"  # another function
        "m.f(a)\n"  # a method of that name
        "b = np.zeros(3)\n"
        "r = f(a, 2, b=b, c='s')\n"
        "f(b)\n"
    )
    site = _site(text)
    assert site == {
        "statements": "a = np.ones(2)\nb = np.zeros(3)",
        "aliases": ["np"],
        "args": ["a", "2"],
        "kwargs": {"b": "b", "c": "'s'"},
        "line": 9,
    }
    args, kwargs = callsite.arguments(site)
    assert args[0].tolist() == [1.0, 1.0] and args[1] == 2
    assert kwargs["b"].tolist() == [0.0, 0.0, 0.0] and kwargs["c"] == "s"


def test_no_site_without_numpy_or_a_call() -> None:
    assert callsite.find(ast.parse("a = 1\nf(a)\n"), "f") is None
    assert _site("a = np.ones(2)\nx = f\nf += a\n") is None
    assert _site("f(np.ones(2))\n") is None


def test_only_the_first_statements_of_a_module_are_read() -> None:
    padding = "x = 1\n" * (callsite.MAX_STATEMENTS - 2)  # the import is the first statement
    assert _site(padding + "f(x)\n") is not None
    assert _site(padding + "x = 2\nf(x)\n") is None


def test_a_name_the_statements_did_not_bind_is_not_a_builtin() -> None:
    # `x = open` is only a name, and is taken; it must not find Python's open where it runs
    site = _site("x = open\nf(x)\n")
    assert site is not None and site["statements"] == "x = open"
    with pytest.raises(NameError):
        callsite.arguments(site)
    with pytest.raises(NameError):
        callsite.arguments({**site, "statements": "", "args": ["len"]})


def test_a_refusal_quotes_the_start_of_what_was_refused() -> None:
    long = "x = open('" + "m" * 80 + "')"
    site = {"statements": long, "aliases": ["np"], "args": [], "kwargs": {}}
    with pytest.raises(ValueError, match=r"^a statement that may not run: x = open\('m{50}$"):
        callsite.arguments(site)
    site = {"statements": "", "aliases": ["np"], "args": [long[4:]], "kwargs": {}}
    with pytest.raises(ValueError, match=r"^an argument that is not a name or a literal: .{60}$"):
        callsite.arguments(site)


def _innermost_file(error: pytest.ExceptionInfo) -> str:
    return error.traceback[-1].frame.code.raw.co_filename


def test_what_fails_where_the_site_runs_is_placed_at_the_call_site() -> None:
    site = {"statements": "x = y", "aliases": ["np"], "args": [], "kwargs": {}}
    with pytest.raises(NameError) as statement:
        callsite.arguments(site)
    assert _innermost_file(statement) == "<call site>"
    with pytest.raises(NameError) as argument:
        callsite.arguments({**site, "statements": "", "args": ["y"]})
    assert _innermost_file(argument) == "<call site>"

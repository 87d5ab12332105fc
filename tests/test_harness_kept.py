"""What of a user's file is kept to run (``extract.restrict``, the stand-in helpers, the names
a definition reads), and how the child loads it and judges a gradient (``child._load``,
``_at_spread_values``, ``_verdict``): called directly, in this process."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lstmlint.gradcheck import Verdict
from lstmlint.harness import child, extract


def _kept_names(reduced: extract.Reduced) -> list[str]:
    assert reduced.tree is not None
    return [getattr(s, "name", None) or ast.unparse(s) for s in reduced.tree.body]


# --- the helpers lstmlint stands in for those of a missing star-imported module


def test_the_helpers_a_missing_star_import_would_bind_are_lstmlint_s_own() -> None:
    text = "from rnn_utils import *\n\ndef f(x):\n    return softmax(sigmoid(x))\n"
    reduced = extract.reduce_module(text)
    assert reduced.stand_ins == ["sigmoid", "softmax"]  # only those read, in order
    assert reduced.tree is not None
    first, *definitions, user = reduced.tree.body
    assert ast.unparse(first) == "import numpy as lstmlint_numpy"
    assert "lstmlint_numpy" in reduced.safe_aliases
    assert [d.name for d in definitions] == ["sigmoid", "softmax"]  # type: ignore[attr-defined]
    assert reduced.defined["sigmoid"] is definitions[0] and user.name == "f"  # type: ignore[attr-defined]
    namespace: dict = {}
    child._load(reduced.tree, "<test>", namespace)
    assert namespace["f"](np.zeros((2, 1))).tolist() == [[0.5], [0.5]]


def test_no_helper_stands_in_where_the_file_or_an_allowed_module_binds_it() -> None:
    own = "from rnn_utils import *\n\ndef sigmoid(x):\n    return x\n\ndef f(x):\n    return sigmoid(x)\n"
    unread = "from rnn_utils import *\n\ndef f(x):\n    return x\n"
    # a star import of an allowed module may bind it: any one of them is enough
    allowed = (
        "from scipy.special import *\nfrom rnn_utils import *\n\ndef f(x):\n    return softmax(x)\n"
    )
    for text in (own, unread, allowed):
        reduced = extract.reduce_module(text)
        assert reduced.stand_ins == [] and "lstmlint_numpy" not in reduced.safe_aliases
        assert "lstmlint_numpy" not in ast.unparse(reduced.tree)  # type: ignore[arg-type]
    assert "sigmoid" not in extract.reduce_module(unread).defined


# --- a function attached to a class at the top level (`RNN.bptt = bptt`)


def test_a_function_attached_to_a_class_at_the_top_level_is_its_method() -> None:
    text = (
        "class RNN:\n"
        "    size = 3\n\n"
        "    def bptt(self, x):\n        return 0\n\n"
        "    def other(self):\n        return 1\n\n"
        "def bptt(self, x):\n    return x + 1\n\n"
        "RNN.bptt = bptt\n\n"
        "def after(x):\n    return RNN().bptt(x)\n"
    )
    reduced = extract.reduce_module(text)
    owner = reduced.defined["RNN"]
    assert [getattr(m, "name", None) for m in owner.body] == [None, "other", "bptt"]  # type: ignore[attr-defined]
    assert "RNN.bptt = bptt" not in reduced.text  # blanked, as every statement not run
    namespace: dict = {}
    child._load(reduced.tree, "<test>", namespace)  # type: ignore[arg-type]
    assert namespace["RNN"]().bptt(1) == 2 and namespace["RNN"]().other() == 1
    assert namespace["bptt"](None, 1) == 2  # still a function of its own
    assert namespace["after"](1) == 2  # what follows is read as before


@pytest.mark.parametrize(
    "statement",
    [
        "RNN.extra = RNN.more = helper",  # two targets
        "RNN.extra = 3",  # not a function
        "RNN.extra = missing",  # nothing the file defines
        "extra = helper",  # not an attribute
        "RNN.inner.extra = helper",  # not an attribute of a top-level name
        "value.extra = helper",  # not a class
    ],
)
def test_only_a_defined_function_assigned_to_a_class_attribute_becomes_a_method(
    statement: str,
) -> None:
    text = (
        "class RNN:\n    def other(self):\n        return 1\n\n"
        "def helper(self):\n    return 2\n\n"
        "value = 5\n"
        f"{statement}\n"
    )
    reduced = extract.reduce_module(text + "first = second = 3\nsize: int = 4\n")
    assert [getattr(m, "name", None) for m in reduced.defined["RNN"].body] == ["other"]  # type: ignore[attr-defined]
    assert {"RNN", "helper"} <= set(_kept_names(reduced))
    assert {"first", "second", "size"} <= set(reduced.defined)  # other assignments as before
    if statement.startswith(("RNN.", "value.")):
        assert statement not in reduced.text  # blanked, as every statement not run


# --- a size computed from data read at the top, which a small stand-in may replace


@pytest.mark.parametrize(
    ("code", "size"),
    [
        ("len(chars)", True),
        ("data.shape[0]", True),
        ("len(chars) + 1", True),
        ("2 * len(chars)", True),
        ("len(chars) * 0.5", True),
        ("0.5 * len(chars)", True),
        ("len(a) // len(b)", True),
        ("(len(a), data.shape[1])", True),
        ("3", True),
        ("chars + 1", False),
        ("1 + chars", False),
        ("np.load(f) + 1", False),
        ("3.5", False),
        ("data.shape", False),
        ("data[0]", False),
        ("count(chars)", False),
        ("text.len(chars)", False),
        ("(len(a), b)", False),
    ],
)
def test_a_size_is_a_length_a_shape_or_arithmetic_of_them(code: str, size: bool) -> None:
    assert extract._a_size(ast.parse(code, mode="eval").body) is size


def test_a_stand_in_size_runs() -> None:
    text = "data = open('input.txt').read()\nV = len(data)\nW = [0] * V\n"
    namespace: dict = {}
    child._load(extract.reduce_module(text).tree, "<test>", namespace)  # type: ignore[arg-type]
    assert namespace["V"] == extract.STAND_IN_SIZE and len(namespace["W"]) == namespace["V"]


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        ("squares = [i * i for i in range(3)]", True),
        ("pairs = {k: v for k, v in zip('ab', (1, 2))}", True),
        ("step = lambda v: v + 1", True),
        ("bad = [j for i in range(3)]", False),
        ("other = lambda v: w", False),
        ("size = (n := 4)", False),  # binds a name no statement shows
        ("data = (f := open('input.txt')).read()", False),
        ("width = np.shape(np.zeros(3))", True),
        ("hidden = np._core", False),  # a private attribute
        ("table = np.load", False),  # NumPy's file functions
        ("where = np.os", False),  # a module reached through another
    ],
)
def test_a_top_level_value_is_kept_only_when_it_reads_nothing_unknown(
    code: str, kept: bool
) -> None:
    name = code.split(" =")[0]
    assert (name in extract.reduce_module(f"import numpy as np\n{code}\n").defined) is kept


def test_a_sibling_module_is_a_file_or_a_package_beside_the_file_or_levels_up(
    tmp_path: Path,
) -> None:
    inner = tmp_path / "top" / "course" / "week1" / "day1"
    inner.mkdir(parents=True)
    (tmp_path / "top" / "course" / "utils.py").write_text("")
    (tmp_path / "far.py").write_text("")
    (inner / "helpers").mkdir()
    (inner / "helpers" / "__init__.py").write_text("")
    (inner / "rnn_utils.py").write_text("")
    assert extract.sibling_file("rnn_utils", inner) == inner / "rnn_utils.py"  # import rnn_utils
    assert extract.sibling_file(".rnn_utils", inner) == inner / "rnn_utils.py"  # from .rnn_utils
    assert extract.sibling_file("helpers", inner) == inner / "helpers" / "__init__.py"
    assert extract.sibling_file("...utils", inner) == tmp_path / "top" / "course" / "utils.py"
    # an absolute import is also found in a folder above, as a script run from there finds it
    assert extract.sibling_file("utils", inner) == tmp_path / "top" / "course" / "utils.py"
    assert extract.sibling_file("far", inner) is None  # more than three folders up
    assert extract.sibling_file(".utils", inner) is None
    assert extract.sibling_file("..rnn_utils", inner) is None
    assert extract.sibling_file("numpy", inner) is None
    assert extract.sibling_file("rnn_utils", None) is None


# --- what a definition may read from the module


def _read(code: str) -> set[str]:
    return extract._globals_read(ast.parse(code).body[0])


def test_a_function_reads_the_names_it_does_not_bind_and_what_runs_when_it_is_defined() -> None:
    code = (
        "@deco(D)\n"
        "def f(x, *args, y=Y, **kw) -> R:\n"
        "    z = x + G\n"
        "    del w\n"
        "    return z + w + args + kw + H\n"
    )
    assert _read(code) == {"deco", "D", "Y", "R", "G", "H"}
    # a default named like an argument is still read from the module
    assert _read("def f(x=x):\n    return x\n") == {"x"}
    assert _read("async def f(a):\n    return a + B\n") == {"B"}


def test_a_class_reads_its_methods_free_names_and_the_rest_of_its_body() -> None:
    code = (
        "@deco\n"
        "class C(Base, metaclass=Meta):\n"
        "    size = N\n"
        "    def f(self, x):\n"
        "        h = x\n"
        "        return h + G\n"
    )
    assert _read(code) == {"deco", "Base", "Meta", "N", "G"}
    assert _read("x = a + b\n") == {"a", "b"}


# --- what the entry points reach, and nothing else


MODULE = """\
import numpy as np
from rnn_utils import *

SIZE = 3
UNUSED = np.zeros(2)
A, B = 1, 2


def f(x):
    return g(x) * SIZE + B


def g(x):
    return sigmoid(x)


def h(x):
    return open("data")


class Model:
    scale = SIZE

    def forward(self, x):
        return self.step(x)

    def step(self, x):
        return x * self.scale

    def backward(self, d):
        return h(d)

    def fit(self):
        return Net()


class Net:
    pass
"""


def test_only_what_the_entries_reach_is_kept_and_the_rest_of_the_reduction_stays() -> None:
    reduced = extract.reduce_module(MODULE)
    kept = extract.restrict(reduced, iter(["f"]))  # any iterable, read more than once
    # `A, B = 1, 2` runs for B; only B is defined for what it reaches
    assert set(kept.defined) == {"f", "g", "SIZE", "B", "sigmoid"}
    assert _kept_names(kept) == [
        "import numpy as lstmlint_numpy",
        "sigmoid",
        "import numpy as np",
        "SIZE = 3",
        "A, B = (1, 2)",
        "f",
        "g",
    ]
    for field in (
        "text",
        "siblings",
        "safe_aliases",
        "other_imports",
        "stand_ins",
        "star_modules",
        "module",
    ):
        assert getattr(kept, field) == getattr(reduced, field), field
    assert kept.module is reduced.module


def test_of_a_class_only_the_methods_an_entry_calls_are_kept() -> None:
    reduced = extract.reduce_module(MODULE)
    kept = extract.restrict(reduced, ["Model.forward"])
    assert set(kept.defined) == {"Model", "SIZE"}  # not h, which backward calls, nor Net
    model = kept.defined["Model"]
    assert isinstance(model, ast.ClassDef)
    assert [ast.unparse(s).split("(")[0] for s in model.body] == [
        "scale = SIZE",
        "def forward",
        "def step",
    ]
    assert kept.tree is not None and kept.tree.body[-1] is model
    assert reduced.defined["Model"] is not model and len(reduced.defined["Model"].body) == 5  # type: ignore[attr-defined]
    # every method named, of either entry
    both = extract.restrict(reduced, ["Model.backward", "Model.fit"])
    assert set(both.defined) == {"Model", "SIZE", "h", "Net"}
    # `f.x`: no class to prune; f is kept whole
    assert extract.restrict(reduced, ["f.x"]).defined["f"] is reduced.defined["f"]


def test_a_module_with_nothing_kept_to_run_restricts_to_nothing() -> None:
    reduced = extract.Reduced(text="", defined={}, tree=None)
    assert extract.restrict(reduced, ["f"]).tree.body == []  # type: ignore[union-attr]


def test_a_class_keeps_its_name_bases_decorators_and_place() -> None:
    code = "@dec\nclass M(Base, metaclass=Meta):\n    def a(self):\n        return self.b()\n    async def b(self):\n        return 1\n    def c(self):\n        return M.a\n"
    node = ast.parse(code).body[0]
    assert isinstance(node, ast.ClassDef)
    kept = extract._with_methods(node, {"a", "missing"})
    assert [m.name for m in kept.body] == ["a", "b"]  # type: ignore[attr-defined]
    assert ast.unparse(kept).splitlines()[:2] == ["@dec", "class M(Base, metaclass=Meta):"]
    assert (kept.lineno, kept.end_lineno) == (node.lineno, node.end_lineno)
    assert [m.name for m in extract._with_methods(node, {"c"}).body] == ["a", "b", "c"]  # type: ignore[attr-defined]
    empty = extract._with_methods(node, set())
    assert len(empty.body) == 1 and isinstance(empty.body[0], ast.Pass)


def test_a_class_whose_methods_called_are_all_inherited_still_loads(tmp_path: Path) -> None:
    # Model keeps none of its own methods: the `pass` in their place must compile
    main = tmp_path / "main.py"
    main.write_text(
        "class Base:\n    def forward(self, x):\n        return 2 * x\n\n\n"
        "class Model(Base):\n    def helper(self, x):\n        return x\n"
    )
    job = {"path": str(main), "keep_imports": False, "siblings": {}, "entries": ["Model.forward"]}
    namespace = child.Loader(job).main(main.read_text())
    assert namespace["Model"]().forward(3) == 6


def test_every_method_reached_is_kept_whatever_order_they_are_met_in() -> None:
    # d is met first and reaches c again: a name met twice must not end the search (b)
    code = (
        "class M:\n"
        "    def a(self):\n        self.b()\n        self.c()\n        return self.d()\n"
        "    def b(self):\n        return 1\n"
        "    def c(self):\n        return 2\n"
        "    def d(self):\n        return self.c()\n"
        "    def e(self):\n        return 3\n"
    )
    node = ast.parse(code).body[0]
    assert isinstance(node, ast.ClassDef)
    kept = extract._with_methods(node, {"a"})
    assert [m.name for m in kept.body] == ["a", "b", "c", "d"]  # type: ignore[attr-defined]


# --- loading the kept statements


def test_a_failing_value_is_left_unbound_but_a_failing_import_is_not() -> None:
    tree = ast.parse("x: int = 1 / 0\ny = 2\ndef f():\n    raise ValueError\n")
    namespace: dict = {}
    child._load(tree, "<the file>", namespace)
    assert "x" not in namespace and namespace["y"] == 2
    assert namespace["f"].__code__.co_filename == "<the file>"
    with pytest.raises(ModuleNotFoundError):
        child._load(ast.parse("import lstmlint_no_such_module\n"), "<the file>", {})
    with pytest.raises(MemoryError):
        child._load(ast.parse("x: int = f()\n"), "<the file>", {"f": _raise_memory})


def _raise_memory() -> None:
    raise MemoryError


# --- the second gradient check, at spread values


@dataclass
class _Result:
    max_rel_error: float
    verdict: Verdict

    @property
    def norm_rel_error(self) -> float:  # the whole gradient's distance: a stand-in value
        return self.max_rel_error / 3


def _verdict(first: _Result, spread: _Result | None) -> dict:
    """``child._verdict``, its distance checked to be that of the result its error is."""
    found = child._verdict(first, spread)
    assert found.pop("distance") == found["error"] / 3
    return found


@pytest.mark.parametrize(
    ("first", "spread", "expected"),
    [
        (_Result(1e-9, Verdict.PASS), None, {"error": 1e-9, "verdict": "PASS"}),
        (
            _Result(1e-9, Verdict.PASS),
            _Result(1e-8, Verdict.PASS),
            {"error": 1e-9, "verdict": "PASS"},
        ),
        (
            _Result(1e-9, Verdict.PASS),
            _Result(0.3, Verdict.FAIL),
            {"error": 0.3, "verdict": "INCONCLUSIVE"},
        ),
        (
            _Result(1e-9, Verdict.PASS),
            _Result(1e-4, Verdict.INCONCLUSIVE),
            {"error": 1e-4, "verdict": "INCONCLUSIVE"},
        ),
        # never FAIL from the spread alone, nor a FAIL made better by it
        (
            _Result(0.2, Verdict.FAIL),
            _Result(1e-9, Verdict.PASS),
            {"error": 0.2, "verdict": "FAIL"},
        ),
        (_Result(0.2, Verdict.FAIL), _Result(0.5, Verdict.FAIL), {"error": 0.2, "verdict": "FAIL"}),
        (
            _Result(1e-4, Verdict.INCONCLUSIVE),
            _Result(0.5, Verdict.FAIL),
            {"error": 1e-4, "verdict": "INCONCLUSIVE"},
        ),
    ],
)
def test_a_gradient_exact_only_at_its_own_values_is_inconclusive(
    first: _Result, spread: _Result | None, expected: dict
) -> None:
    assert _verdict(first, spread) == expected


@pytest.mark.parametrize(
    ("first", "spread", "expected"),
    [
        # a loss near zero made of values near one: exact gradients land just above 1e-7
        (_Result(1.1e-7, Verdict.INCONCLUSIVE), None, {"error": 1.1e-7, "verdict": "PASS"}),
        (
            _Result(1e-9, Verdict.PASS),
            _Result(4e-7, Verdict.INCONCLUSIVE),
            {"error": 1e-9, "verdict": "PASS"},
        ),
        (
            _Result(3e-7, Verdict.INCONCLUSIVE),
            _Result(0.2, Verdict.FAIL),
            {"error": 0.2, "verdict": "INCONCLUSIVE"},
        ),
        # beyond that, or not finite, it stays inconclusive
        (
            _Result(2e-6, Verdict.INCONCLUSIVE),
            None,
            {"error": 2e-6, "verdict": "INCONCLUSIVE"},
        ),
        (
            _Result(float("nan"), Verdict.INCONCLUSIVE),
            None,
            {"error": float("nan"), "verdict": "INCONCLUSIVE"},
        ),
    ],
)
def test_an_inconclusive_error_below_the_rounding_of_values_near_one_is_exact(
    first: _Result, spread: _Result | None, expected: dict
) -> None:
    got = child._verdict(first, spread)
    assert got["verdict"] == expected["verdict"]
    assert (
        got["error"] == expected["error"] or np.isnan(got["error"]) and np.isnan(expected["error"])
    )


def _tanh_sum(wrong: bool = False) -> tuple[Callable, Callable, list[dict]]:
    seen: list[dict] = []

    def loss(p: dict) -> float:
        seen.append({k: v.copy() for k, v in p.items()})
        return float(np.sum(np.tanh(p["W"])))

    def grads(p: dict) -> dict:
        # near zero tanh'(w) = 1 - w ** 2 is 1: the wrong `1 - w` only shows away from zero
        return {"W": 1 - p["W"] if wrong else 1 - np.tanh(p["W"]) ** 2}

    return loss, grads, seen


def test_the_second_check_is_at_seeded_values_of_order_one() -> None:
    params = {"W": np.full((3, 4), 1e-6)}
    loss, grads, seen = _tanh_sum(wrong=True)
    (result,) = child._at_spread_values(loss, grads, params).values()
    assert result.name == "W" and result.verdict == Verdict.FAIL
    spread = np.random.default_rng(1).normal(0.0, child.SPREAD, (3, 4))
    assert np.array_equal(seen[0]["W"], spread)  # the loss first, at the spread values
    assert np.array_equal(params["W"], np.full((3, 4), 1e-6))  # the file's own are untouched
    loss, grads, seen = _tanh_sum()
    assert child._at_spread_values(loss, grads, params)["W"].verdict == Verdict.PASS


def test_the_second_check_is_made_with_numpy_s_warnings_silenced() -> None:
    # log of the negative entries is computed and thrown away: a warning, a finite loss
    def loss(p: dict) -> float:
        return float(np.sum(np.where(p["W"] < 0, p["W"], np.log(p["W"]))))

    def grads(p: dict) -> dict:
        return {"W": np.where(p["W"] < 0, 1.0, 1.0 / p["W"])}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = child._at_spread_values(loss, grads, {"W": np.ones((2, 3))})
    assert found["W"].verdict == Verdict.PASS


def test_code_that_does_not_run_at_spread_values_gets_no_second_check() -> None:
    params = {"W": np.ones((2, 2))}
    loss, grads, _ = _tanh_sum()
    assert child._at_spread_values(lambda p: float("inf"), grads, params) == {}
    assert child._at_spread_values(lambda p: float("nan"), grads, params) == {}
    assert child._at_spread_values(lambda p: np.log(-p["W"]).sum(), grads, params) == {}
    assert child._at_spread_values(loss, lambda p: {}, params) == {}  # no gradient given
    with pytest.raises(MemoryError):
        child._at_spread_values(lambda p: _raise_memory(), grads, params)


def test_a_global_the_function_assigns_is_still_read_from_the_module() -> None:
    reduced = extract.reduce_module(
        "S = 3\ndef f(x):\n    global S\n    S = S + 1\n    return x * S\n"
    )
    assert "S" in extract._globals_read(reduced.defined["f"])
    assert set(extract.restrict(reduced, ["f"]).defined) == {"S", "f"}


@pytest.mark.parametrize(
    "switch",
    [
        "if GPU:\n    import cupy as np\n    np.cuda.set_allocator(None)\nelse:\n    import numpy as np\n",
        "try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\n",
    ],
)
def test_of_a_cupy_switch_the_numpy_branch_is_kept(switch: str) -> None:
    reduced = extract.reduce_module("GPU = False\n" + switch + "x = np.zeros(3)\n")
    assert "np" in reduced.safe_aliases
    assert "x" in reduced.defined  # a value built with the NumPy the branch imports
    kept = ast.unparse(reduced.tree)
    assert "cupy" not in kept and "set_allocator" not in kept


def test_a_switch_s_branch_imports_are_read_as_the_file_s_own(tmp_path: Path) -> None:
    # a star import in the branch is not kept: what it binds cannot be checked
    star = "try:\n    from numpy import *\nexcept ImportError:\n    import cupy as np\n"
    reduced = extract.reduce_module(star + "def f(x):\n    return tanh(x)\n")
    assert "import *" not in ast.unparse(reduced.tree)
    assert reduced.star_modules == ["numpy"]
    # a module of the user's own named like an allowed one is theirs, in the branch too
    (tmp_path / "math.py").write_text("def exp(x):\n    return x\n")
    mine = "try:\n    import math\nexcept ImportError:\n    import cupy as math\n"
    reduced = extract.reduce_module(mine + "def f(x):\n    return math.exp(x)\n", tmp_path)
    assert reduced.siblings == [("math", None, "math")]
    assert "import math" not in ast.unparse(reduced.tree)


def test_an_argument_whose_default_is_no_number_keeps_its_default() -> None:
    from lstmlint.harness.shapes import _size_arguments

    def init(
        input_size, hidden_size, output_size=3, output_activation="softmax", seed=None, out=True
    ):
        return None

    names = ["input_size", "hidden_size", "output_size", "output_activation", "seed", "out"]
    chosen = _size_arguments(names, {}, init)
    # a size with a number for its default is still given one; a seed always is
    assert set(chosen) == {"input_size", "hidden_size", "output_size", "seed"}
    assert chosen["seed"] == 0
    # without the initialiser, the names alone decide
    assert "output_activation" in _size_arguments(names, {})


def test_a_setting_s_default_stands_for_a_model_class_and_an_initialiser() -> None:
    from lstmlint.harness import objects, shapes

    class RNN:
        def __init__(self, input_size, hidden_size, output_activation="softmax"):
            if output_activation != "softmax":
                raise ValueError(f"Invalid output activation: {output_activation}")
            self.W = np.zeros((hidden_size, input_size))

    problem = {"class": "RNN", "init_args": ["input_size", "hidden_size", "output_activation"]}
    kwargs, _, _ = next(objects._constructions(problem, {"RNN": RNN}))
    assert "output_activation" not in kwargs
    RNN(**kwargs)

    def init_rnn(vocab_size, hidden_size, out_activation="tanh"):
        assert out_activation == "tanh"
        return np.zeros((hidden_size, vocab_size)), np.zeros((vocab_size, hidden_size))

    problem = {
        "init": "init_rnn",
        "init_args": ["vocab_size", "hidden_size", "out_activation"],
        "init_returns": [["U", "V"]],
    }
    _, keys, _, sizes = shapes._initialise(problem, {"init_rnn": init_rnn})
    assert keys == ["U", "V"] and "out_activation" not in sizes

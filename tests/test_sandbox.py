"""The user's own code in the default mode: what it may do, and the limits it runs under.

Every payload sits inside code the harness calls (the loss-and-gradients function, a helper it
calls, a method of an object it calls), never at the top level, which is not run anyway. The
program around it has a transposed dWhh that no rule explains, so a run of it shows up as LST900;
each payload's clean twin (the payload line replaced by `pass`) is that LST900, which proves the
harness calls the very place where the payload sits. In `--confirm=exec` the same payloads do run
and leave their marker, which proves that each one would have had an effect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import run

from lstmlint.cli import main
from lstmlint.harness import extract, plan
from lstmlint.registry import rule_by_code

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# the LST900 example: min-char-rnn's lossFun with dWhh transposed (log made safe: no LST302)
TRANSPOSED = (
    rule_by_code("LST900")
    .invalid[0]
    .code.replace("np.log(ps[t][targets[t], 0])", "np.log(ps[t][targets[t], 0] + 1e-12)")
)
FIRST = "    xs, hs, ps = {}, {}, {}\n"
STEP = "        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)\n"
assert FIRST in TRANSPOSED and STEP in TRANSPOSED

# where a payload goes: the entry point itself, a helper it calls, a method of an object it calls
HELPER = "\n\ndef tanh(z):\n    PAYLOAD\n    return np.tanh(z)\n"
METHOD = (
    "\n\nclass Cell:\n    def tanh(self, z):\n        PAYLOAD\n        return np.tanh(z)\n"
    "\n\ncell = Cell()\n"
)
PLACES = {
    "entry": lambda payload: TRANSPOSED.replace(FIRST, f"    {payload}\n{FIRST}"),
    "helper": lambda payload: (
        TRANSPOSED.replace(STEP, STEP.replace("np.tanh", "tanh"))
        + HELPER.replace("PAYLOAD", payload)
    ),
    "method": lambda payload: (
        TRANSPOSED.replace(STEP, STEP.replace("np.tanh", "cell.tanh"))
        + METHOD.replace("PAYLOAD", payload)
    ),
}

# name -> (imports, one statement); MARKER is the path of the file the payload would create (a
# .npy name, which np.save keeps as it is)
PAYLOADS: dict[str, tuple[str, str]] = {
    "collections-private-sys": (
        "import collections\n",
        'collections._sys.modules["os"].system("touch " + MARKER)',
    ),
    "numpy-to-os": ("", 'np.ma.core.inspect.os.system("touch " + MARKER)'),
    "numpy-to-subprocess": (
        "",
        'np.ma.core.inspect.importlib.import_module("subprocess").run(["touch", MARKER])',
    ),
    "numpy-to-ctypes": ("", 'np.ctypeslib.ctypes.CDLL(None).system(b"touch " + MARKER.encode())'),
    "builtins-through-a-method": ("", 'print.__self__.open(MARKER, "w")'),
    "builtins-through-warnings": (
        "",
        'np.ma.core.warnings.sys.modules["builtins"].open(MARKER, "w")',
    ),
    "np-save": ("", "np.save(MARKER, np.ones(3))"),
    "np-savetxt-imported-under-an-alias": (
        "from numpy import savetxt as keep\n",
        "keep(MARKER, np.ones(3))",
    ),
    "numpy-under-an-alias": ("import numpy as xp\n", "xp.save(MARKER, xp.ones(3))"),
    "tofile": ("", "np.ones(3).tofile(MARKER)"),
    "built-name": ("", 'getattr(np, "save" + "txt")(MARKER, np.ones(3))'),
    "getattr-passed-around": ("", '(lambda get: get(np, "savetxt"))(getattr)(MARKER, np.ones(3))'),
    "getattr-globals": (
        "",
        'getattr(getattr(lossFun, "__glob" + "als__")["__builtins__"], "op" + "en")(MARKER, "w")',
    ),
    "dunder-import": ("", '__import__("os").system("touch " + MARKER)'),
    "open": ("", 'open(MARKER, "w").write("x")'),
    "exec": ("", 'exec("open(" + repr(MARKER) + ", \'w\')")'),
    "eval": ("", 'eval("op" + "en")(MARKER, "w")'),
    "import-inside": ("", 'import os; os.system("touch " + MARKER)'),
}


def _program(place: str, name: str, marker: Path) -> str:
    imports, statement = PAYLOADS[name]
    return imports + PLACES[place](statement.replace("MARKER", repr(str(marker))))


CASES = [(place, name) for place in PLACES for name in PAYLOADS]


def _lint_folder(folder: Path, *args: str) -> dict[str, list[dict]]:
    """The JSON findings of one run over ``folder``, by file name."""
    out = folder.parent / f"{folder.name}.json"
    main(["--format", "json", "--no-cache", "--output-file", str(out), *args, str(folder)])
    by_file: dict[str, list[dict]] = {path.name: [] for path in folder.glob("*.py")}
    for finding in json.loads(out.read_text()):
        by_file[Path(finding["path"]).name].append(finding)
    return by_file


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """A folder with every payload in every place, and the clean twin of each place."""
    folder = tmp_path_factory.mktemp("planted") / "code"
    folder.mkdir()
    (folder.parent / "markers").mkdir()
    for place, name in CASES:
        marker = folder.parent / "markers" / f"{place}-{name}.npy"
        (folder / f"{place}-{name}.py").write_text(_program(place, name, marker))
    for place in PLACES:
        (folder / f"twin-{place}.py").write_text(PLACES[place]("pass"))
    return folder


@pytest.fixture(scope="module")
def auto_run(planted: Path) -> dict[str, list[dict]]:
    return _lint_folder(planted)


@pytest.mark.parametrize("place", sorted(PLACES))
def test_the_harness_runs_the_clean_twin_of_each_place(
    auto_run: dict[str, list[dict]], place: str
) -> None:
    found = auto_run[f"twin-{place}.py"]
    assert [(d["code"], d["confirmation"]["method"]) for d in found] == [("LST900", "your-code")]
    assert "dWhh" in found[0]["message"]


@pytest.mark.parametrize(("place", "name"), CASES)
def test_auto_mode_refuses_a_payload_inside_the_code_it_calls(
    planted: Path, auto_run: dict[str, list[dict]], place: str, name: str
) -> None:
    assert not (planted.parent / "markers" / f"{place}-{name}.npy").exists()
    # not run: the transposed dWhh went unseen, and no verdict rests on the user's code
    assert [d["code"] for d in auto_run[f"{place}-{name}.py"] if d["code"] == "LST900"] == []
    assert not [
        d for d in auto_run[f"{place}-{name}.py"] if d["confirmation"]["method"] == "your-code"
    ]


def test_auto_mode_says_why_the_code_was_not_run(tmp_path: Path, capsys) -> None:
    path = tmp_path / "rnn.py"
    path.write_text(_program("helper", "collections-private-sys", tmp_path / "marker.npy"))
    _, out, _ = run(capsys, "--no-cache", str(path))
    out = " ".join(out.split())
    assert "your code was not run (" in out and "`._sys` in tanh" in out
    assert "LST900" not in out and not (tmp_path / "marker.npy").exists()


def test_every_payload_has_an_effect_when_run(planted: Path) -> None:
    """`--confirm=exec` runs the same files: each payload leaves its marker (so refusing them is
    what keeps auto mode clean). The child may write no byte, but it may create a file."""
    _lint_folder(planted, "--confirm=exec")
    missing = [
        f"{place}-{name}"
        for place, name in CASES
        if not (planted.parent / "markers" / f"{place}-{name}.npy").exists()
    ]
    assert missing == []


@pytest.mark.parametrize(("place", "name"), CASES)
def test_the_safety_reading_names_each_payload(place: str, name: str, tmp_path: Path) -> None:
    reduced = extract.reduce_module(_program(place, name, tmp_path / "m.npy"))
    [problem] = plan.find_problems(reduced)
    assert problem["kind"] == "lossfun"
    reached = extract.reachable(reduced, plan.entry_names(problem))
    assert extract.unsafe_uses(reduced, reached) + extract.loaded_unsafe(reduced)


# Payloads that reach the operating system through attribute names and string keys: a frame's
# `f_builtins`, and `inspect.getmembers` of a module that holds `os` (numpy.ma.core imports
# inspect), reached through a chain of NumPy submodules.
HOLES: dict[str, str] = {
    "frame-builtins": 'np.ma.core.inspect.currentframe().f_builtins["open"](MARKER, "w")',
    "getmembers": 'dict(np.ma.core.inspect.getmembers(np.ma.core.inspect))["os"].system("touch " + MARKER)',
}


@pytest.mark.parametrize("name", sorted(HOLES))
def test_auto_mode_refuses_payloads_through_frames_and_inspect(
    tmp_path: Path, capsys, name: str
) -> None:
    marker = tmp_path / "marker.npy"
    path = tmp_path / "rnn.py"
    path.write_text(PLACES["entry"](HOLES[name].replace("MARKER", repr(str(marker)))))
    _, out, _ = run(capsys, "--no-cache", "--format", "json", str(path))
    assert not marker.exists()
    assert "LST900" not in out


# --- resource limits ----------------------------------------------------------------------------


def test_a_child_over_its_memory_limit_is_stopped_and_the_run_goes_on(
    tmp_path: Path, capsys
) -> None:
    # 2 GiB of address space, never touched: cheap without the cap, over the default 1024 MiB
    (tmp_path / "hog.py").write_text(PLACES["entry"]("np.empty(2**28)"))
    (tmp_path / "twin.py").write_text(PLACES["entry"]("pass"))
    _, out, _ = run(capsys, "--no-cache", "--jobs", "1", str(tmp_path))
    out = " ".join(out.split())
    assert (
        "hog.py" in out
        and "your code could not be checked: your code needed more than 1024 MiB" in out
    )
    assert "hog.py:13:5: LST900" not in out  # the hog's own transposed dWhh was never measured
    assert "twin.py:13:5: LST900" in out


def test_a_child_that_writes_a_file_is_stopped_and_the_run_goes_on(tmp_path: Path, capsys) -> None:
    # --confirm=exec runs code that uses `open`; the child may still write no byte
    marker = tmp_path / "written.bin"
    text = (FIXTURES / "minchar" / "rnn_dict_buggy.py").read_text()
    header = "    xs, ys, ps = {}, {}, {}\n"
    assert header in text
    writer = f"    open({str(marker)!r}, 'wb').write(b'x' * 2**20)\n"
    code = tmp_path / "code"
    code.mkdir()
    (code / "writer.py").write_text(text.replace(header, writer + header))
    (code / "twin.py").write_text(PLACES["entry"]("pass"))
    _, out, _ = run(capsys, "--no-cache", "--format", "json", "--confirm=exec", str(code))
    found = json.loads(out)
    writer_methods = {d["confirmation"]["method"] for d in found if d["path"].endswith("writer.py")}
    assert writer_methods == {"reference"}  # its findings stand, but not on its own code
    assert [d["code"] for d in found if d["path"].endswith("twin.py")] == ["LST900"]
    assert marker.stat().st_size == 0  # opening creates it; not one byte reached it
    _, out, _ = run(capsys, "--no-cache", "--confirm=exec", str(code / "writer.py"))
    assert "File too large" in " ".join(out.split())


# --- correct programs are run, not merely left without findings ----------------------------------

CORRECT_PROGRAMS = [
    "minchar/rnn_dict_correct.py",
    "minchar/lstm_dict_correct.py",
    "cs231n/lstm_layers_correct.py",
    "cs231n/rnn_captioning_correct.ipynb",
    "outhelpers/lstm_outhelpers.py",
    "reviewed/lstm_scratch_fixed.py",
    "classbased/lstm_class_correct.py",
    "gru/gru_lm.py",
    "outhelpers/lstm_sigprime.py",
    "vanilla/rnn_prealloc.py",
    "lookalikes/rnn_inplace_carry.py",
    "lookalikes/lstm_dict.py",
    "minchar/rnn_textfile.py",
]


@pytest.mark.parametrize("name", CORRECT_PROGRAMS)
def test_a_correct_program_is_run_and_its_gradients_are_exact(
    tmp_path: Path, capsys, monkeypatch, name: str
) -> None:
    """No finding on a correct program means something only if its code was run: the answer of
    the child that ran it must show every gradient checked and exact."""
    import shutil

    import lstmlint.harness as harness

    answers: list[dict] = []
    launch = harness._launch

    def spy(job: dict, timeout: float) -> dict:
        answers.append(launch(job, timeout))
        return answers[-1]

    monkeypatch.setattr(harness, "_launch", spy)
    source = FIXTURES / name
    for extra in ("utils.py", "data.py") if name.startswith("reviewed/") else ():
        shutil.copy(source.parent / extra, tmp_path / extra)
    shutil.copy(source, tmp_path / source.name)
    _, out, _ = run(capsys, "--no-cache", "--format", "json", str(tmp_path / source.name))
    assert [d["code"] for d in json.loads(out) if d["code"] == "LST900"] == []
    (answer,) = answers
    originals = [problem["original"] for problem in answer["problems"]]
    checked = [o for o in originals if o["status"] == "ok"]
    assert checked, originals
    for original in checked:  # every gradient compared, none wrong (a bias may be borderline)
        assert original["params"]
        assert all(
            p["verdict"] != "FAIL" and p["error"] < 1e-5 for p in original["params"].values()
        )


# --- the safety reading, statement by statement ------------------------------------------------


@pytest.mark.parametrize(
    ("line", "problems"),
    [
        ("x = getattr(self, 'W')", []),  # a literal attribute name, or a variable holding one
        ("x = getattr(self, name)", []),
        ("x = hasattr(self, 'W') and setattr(self, 'W', 1)", []),
        ("x = self._cache", []),  # a private attribute of an object is not a module's
        ("x = self.get()._cache", []),
        ("x = getattr(self, '_W')", ["`getattr` with a built attribute name in f"]),
        ("x = getattr(np, 'save')", ["`getattr` with a built attribute name in f"]),
        ("x = getattr(m, 'os')", ["`getattr` with a built attribute name in f"]),
        ("x = getattr(self, 'W' + 'x')", ["`getattr` with a built attribute name in f"]),
        ("x = getattr(self)", ["`getattr` with a built attribute name in f"]),
        ("g = getattr", ["`getattr` passed around in f"]),
        ("x = np._core", ["`._core` in f"]),
        ("x = self.__class__", ["`.__class__` in f"]),
        ("x = np.ma.core.inspect.os", ["`.os` in f", "`.inspect` in f", "`.core` in f"]),
        ("x = np.ma.core", ["`.core` in f"]),  # past NumPy's plain submodules
        ("x = np.random.randn", []),
        ("x = np.add.at", []),  # a ufunc's method
        ("x = f.f_back", ["`.f_back` in f"]),
        ("x = np.savez", ["`.savez` in f"]),
        ("import math", ["an import inside f"]),
        ("x = sh.rmtree", ["module `shutil` in f"]),
        ("x = breakpoint", ["`breakpoint` in f"]),
    ],
)
def test_the_safety_reading_of_one_line(line: str, problems: list[str]) -> None:
    text = f"import numpy as np\nimport shutil as sh\ndef f(self, name, m):\n    {line}\n"
    reduced = extract.reduce_module(text)
    assert extract.unsafe_uses(reduced, ["f"]) == problems


def test_every_part_of_a_definition_that_runs_when_loaded_is_read() -> None:
    text = (
        "import os\n"
        "def helper():\n    return open('f')\n"
        "@os.fspath\n"
        "def a(x: input = eval, *, k=exec, o=helper()) -> compile:\n    return x\n"
        "class B(os.PathLike, metaclass=vars):\n"
        "    size = globals\n"
        "    def m(self, v=locals):\n        return v\n"
        "    class Inner:\n        w = breakpoint\n"
        "def clean(x=1) -> int:\n    return x\n"
    )
    assert set(extract.loaded_unsafe(extract.reduce_module(text))) == {
        "module `os` in the definition of a",
        "`input` in the definition of a",
        "`eval` in the definition of a",
        "`exec` in the definition of a",
        "`compile` in the definition of a",
        "module `os` in the definition of B",
        "`vars` in the definition of B",
        "`globals` in the definition of B",
        "`locals` in the definition of B",
        "`breakpoint` in the definition of B",
        "`open` in helper",  # called by a default value
    }


def test_a_star_import_is_refused_when_the_code_needs_what_it_binds() -> None:
    needed = extract.reduce_module("from math import *\ndef f(x):\n    return tanh(x)\n")
    assert extract.loaded_unsafe(needed) == ["`tanh` from `from math import *`"]
    unused = extract.reduce_module("from math import *\ndef f(x):\n    return x\n")
    assert extract.loaded_unsafe(unused) == []


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        ("import numpy.linalg as la", None),
        ("import scipy.special as la", None),
        ("from numpy.random import default_rng as la", None),
        ("import numpy.f2py as la", "numpy.f2py"),
        ("import numpy.lib.format as la", "numpy.lib.format"),
        ("from numpy.ctypeslib import as_array as la", "numpy.ctypeslib.as_array"),
        ("from numpy import save as la", "numpy.save"),
        ("import numpyx as la", "numpyx"),
        ("import scipy.io as la", "scipy.io"),
        ("import os, numpy as la", None),  # os itself is not used
    ],
)
def test_which_imports_count_as_numpy(line: str, refused: str | None) -> None:
    text = f"{line}\ndef f(x):\n    return la.thing(x)\n"
    problems = extract.unsafe_uses(extract.reduce_module(text), ["f"])
    assert problems == ([f"module `{refused}` in f"] if refused else [])


def test_private_attributes_of_numpy_imported_by_name_are_refused() -> None:
    text = "from numpy import random as nr\ndef f(x):\n    return nr._pickle\n"
    assert extract.unsafe_uses(extract.reduce_module(text), ["f"]) == ["`._pickle` in f"]


def test_a_module_imported_beside_a_sibling_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("def g(x):\n    return x\n")
    text = "import helper, os\ndef f(x):\n    return os.getcwd()\n"
    reduced = extract.reduce_module(text, tmp_path)
    assert extract.unsafe_uses(reduced, ["f"]) == ["module `os` in f"]


def test_everything_the_entry_point_reaches_is_read() -> None:
    # f calls a_i and b_i, and each a_i calls b_i again: a reading that stopped at the first
    # name it had seen already would miss names still waiting. Which are waiting depends on
    # set order, so the shape is tried under ten sets of names. The mutual calls of c and d
    # would make a reading that never marks a name seen go on forever.
    for trial in range(10):
        a = [f"a{trial}_{i}" for i in range(10)]
        b = [f"b{trial}_{i}" for i in range(10)]
        text = (
            "def f(x):\n    return " + " + ".join(f"{n}(x)" for n in [*a, *b, "c"]) + "\n"
            + "".join(f"def {m}(x):\n    return {n}(x)\n" for m, n in zip(a, b, strict=True))
            + "".join(f"def {n}(x):\n    return x\n" for n in b)
            + "def c(x):\n    return d(x)\ndef d(x):\n    return c(x)\n"
        )  # fmt: skip
        assert extract.reachable(extract.reduce_module(text), ["f"]) == {"f", "c", "d", *a, *b}


def test_an_import_of_another_module_is_never_executed(tmp_path: Path, capsys, monkeypatch) -> None:
    # a module that is not NumPy, imported but unused: its import is dropped, not run
    library = tmp_path / "lib"
    library.mkdir()
    marker = tmp_path / "imported"
    (library / "sidefx.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    # added to the search path the children get, not in place of it
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(library), os.environ.get("PYTHONPATH", "")])
    )
    code = tmp_path / "code"
    code.mkdir()
    (library / "starfx.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    # an unused star import is let through, but its statement is dropped all the same
    header = (
        "import sidefx\nfrom starfx import *\nfrom .nowhere import thing\n"
        "from numpy import zeros as nz\n"
    )
    text = header + TRANSPOSED.replace(
        "bh = np.zeros((hidden_size, 1))", "bh = nz((hidden_size, 1))"
    )
    (code / "rnn.py").write_text(text)
    found = _lint_folder(code)["rnn.py"]
    assert [(d["code"], d["confirmation"]["method"]) for d in found] == [("LST900", "your-code")]
    assert not marker.exists()


def test_names_imported_at_the_top_level_stay_usable_there(tmp_path: Path) -> None:
    # constants built from what a module imports are kept (else nothing could be called)
    (tmp_path / "consts.py").write_text("SIZE = 6\n")
    sizes = "hidden_size, vocab_size = 6, 5\n"
    seed = "rng = np.random.default_rng(0)\n"
    assert sizes in TRANSPOSED and seed in TRANSPOSED
    variants = {
        "from_sibling.py": ("from consts import SIZE\n", "hidden_size, vocab_size = SIZE, 5\n"),
        "sibling_module.py": ("import consts\n", "hidden_size, vocab_size = consts.SIZE, 5\n"),
        "sibling_alias.py": ("from consts import SIZE as S\n", "hidden_size, vocab_size = S, 5\n"),
    }
    for name, (header, line) in variants.items():
        (tmp_path / name).write_text(header + TRANSPOSED.replace(sizes, line))
    (tmp_path / "dotted.py").write_text(
        "import numpy.random\n" + TRANSPOSED.replace(seed, "rng = numpy.random.default_rng(0)\n")
    )
    found = _lint_folder(tmp_path)
    for name in [*variants, "dotted.py"]:
        assert [d["code"] for d in found[name]] == ["LST900"], name
    # in exec mode an import of any module is kept, and so are constants built from it
    (tmp_path / "other.py").write_text(
        "import statistics\nSCALE = statistics.mean([1.0, 1.0])\n"
        + TRANSPOSED.replace("    return loss,", "    loss = loss * SCALE\n    return loss,")
    )
    found = _lint_folder(tmp_path, "--confirm=exec")
    assert [d["code"] for d in found["other.py"]] == ["LST900"]


def test_missing_course_utilities_get_lstmlint_own_activations() -> None:
    text = (
        "from rnn_utils import *\nimport numpy as np\n"
        "def f(x):\n    return sigmoid(x) + softmax(x)\n"
    )
    reduced = extract.reduce_module(text)
    assert extract.loaded_unsafe(reduced) == []
    assert reduced.stand_ins == ["sigmoid", "softmax"]
    namespace: dict = {}
    exec(compile(reduced.tree, "<test>", "exec"), namespace)
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    expected = 1 / (1 + np.exp(-x)) + np.exp(x) / np.exp(x).sum(axis=0)
    assert np.allclose(namespace["f"](x), expected)
    # any other name only the star import could bind is still refused
    other = extract.reduce_module("from rnn_utils import *\ndef f(x):\n    return rnn_step(x)\n")
    assert extract.loaded_unsafe(other) == ["`rnn_step` from `from rnn_utils import *`"]
    assert other.stand_ins == []
    # a module that is there binds its own helper, which may differ: no stand-in
    scipy = extract.reduce_module("from scipy.special import *\ndef f(x):\n    return softmax(x)\n")
    assert extract.loaded_unsafe(scipy) == ["`softmax` from `from scipy.special import *`"]


@pytest.mark.parametrize(
    ("module", "imported", "called"),
    [
        ("acts", "from acts import tanh", "tanh"),
        ("acts", "import acts", "acts.tanh"),  # a module imported whole
        ("acts", "from acts import *", "tanh"),
        ("lib/acts", "import lib.acts as acts", "acts.tanh"),
        ("../acts", "from acts import tanh", "tanh"),  # a folder above, as `sys.path` has it
    ],
)
def test_auto_mode_refuses_a_payload_in_a_sibling_module_the_code_calls(
    tmp_path: Path, module: str, imported: str, called: str
) -> None:
    # the entry point calls `tanh` from a module of the user's: what that function does is
    # read as the entry point's own code, and the clean twin shows the harness calls it
    marker = tmp_path / "marker.npy"
    step = STEP.replace("np.tanh", called)
    for folder, statement in (
        ("planted", f"np.save({str(marker)!r}, np.ones(3))"),
        ("twin", "pass"),
    ):
        code = tmp_path / folder / "code"
        (code / module).parent.mkdir(parents=True, exist_ok=True)
        (code / f"{module}.py").write_text(
            f"import numpy as np\n\n\ndef tanh(z):\n    {statement}\n    return np.tanh(z)\n"
        )
        (code / "rnn.py").write_text(f"{imported}\n" + TRANSPOSED.replace(STEP, step))
    twin = _lint_folder(tmp_path / "twin" / "code")["rnn.py"]
    assert [(d["code"], d["confirmation"]["method"]) for d in twin] == [("LST900", "your-code")]
    planted = _lint_folder(tmp_path / "planted" / "code")["rnn.py"]
    assert not marker.exists()
    assert not [d for d in planted if d["confirmation"]["method"] == "your-code"]


def test_auto_mode_runs_the_entry_points_whose_reach_is_safe_and_leaves_out_the_others(
    tmp_path: Path,
) -> None:
    # a second model class in the file reaches a payload in a module beside it: that class is
    # left out, and the min-char-rnn loss function beside it is still checked
    marker = tmp_path / "marker.npy"
    (tmp_path / "acts.py").write_text(
        "import numpy as np\n\n\n"
        f"def squash(z):\n    np.save({str(marker)!r}, np.ones(3))\n    return np.tanh(z)\n"
    )
    other = (
        "\n\nclass Squasher:\n"
        "    def __init__(self, hidden_size):\n"
        "        self.W = np.zeros((hidden_size, hidden_size))\n\n"
        "    def forward(self, x):\n"
        "        self.h = acts.squash(self.W @ x)\n"
        "        return self.h\n\n"
        "    def backward(self, dh):\n"
        "        return self.W.T @ (dh * (1 - self.h**2))\n"
    )
    (tmp_path / "rnn.py").write_text("import acts\n" + TRANSPOSED + other)
    found = _lint_folder(tmp_path)["rnn.py"]
    assert [(d["code"], d["confirmation"]["method"]) for d in found] == [("LST900", "your-code")]
    assert not marker.exists()

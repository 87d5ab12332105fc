"""Which of the user's own modules the child loads, and what in them auto mode judges.

``_siblings`` follows the file's imports of modules beside it (and theirs, transitively);
``_unsafe`` reads, for the planned entry points, what they reach in the file, what loading the
file runs, and what they reach in each sibling and what loading it runs. Auto mode runs the code
only when that list is empty, so every payload a sibling could carry into the run must be on it,
and code the run never reaches must not be. The tests call both functions in this process on
folders written here; ``test_sandbox.py`` shows the same end to end, with the code run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import lstmlint.harness as harness
from lstmlint.harness import extract

PAYLOAD = "open('/tmp/x', 'w')"
LOSS = {"kind": "lossfun", "function": "lossFun", "params": []}
# a module of two functions, the second with the payload
TANH_AND_SAVE = (
    "import numpy as np\n\n\n"
    "def tanh(z):\n    return np.tanh(z)\n\n\n"
    f"def save(z):\n    {PAYLOAD}\n"
)


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _unsafe(folder: Path, code: str, problems: list[dict] | None = None) -> list[str]:
    reduced = extract.reduce_module(code, folder)
    siblings = harness._siblings(reduced, folder)
    return harness._unsafe(reduced, [LOSS] if problems is None else problems, siblings)


def _loss(call: str, imported: str) -> str:
    return (
        f"import numpy as np\n{imported}\n\n\n"
        "def lossFun(inputs, targets, hprev):\n"
        f"    h = {call}(hprev)\n"
        "    dWxh = h\n"
        "    return 0.0, dWxh, h\n"
    )


def test_sibling_modules_are_loaded_transitively_and_each_once(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a.py": "import b\nfrom c import f\n",
            "b.py": "import a\nimport c\nX = 1\n",  # a cycle back to a
            "c.py": "def f():\n    return 1\n",
            "broken.py": "def f(:\n",
        },
    )
    code = "import a\nimport missing\nimport broken\nimport numpy as np\n"
    reduced = extract.reduce_module(code, tmp_path)
    found = harness._siblings(reduced, tmp_path)
    assert sorted(found) == ["a", "b", "c"]  # a module not there, or that does not parse: none
    text, other = found["b"]
    assert text == "import a\nimport c\nX = 1\n"
    assert sorted(m for m, _, _ in other.siblings) == ["a", "c"]


def test_a_sibling_text_is_decoded_and_its_newlines_made_plain(tmp_path: Path) -> None:
    (tmp_path / "acts.py").write_bytes(b"\xef\xbb\xbfX = 1\r\nY = 2\r\n")
    reduced = extract.reduce_module("import acts\n", tmp_path)
    [(text, _)] = harness._siblings(reduced, tmp_path).values()
    assert text == "X = 1\nY = 2\n"


@pytest.mark.parametrize(
    ("imported", "call"),
    [
        ("from acts import tanh", "tanh"),
        ("from acts import tanh as squash", "squash"),
        ("import acts", "acts.tanh"),
        ("import acts as a", "a.tanh"),
        ("from acts import *", "tanh"),
    ],
)
def test_a_payload_in_a_sibling_function_the_entry_reaches_is_named(
    tmp_path: Path, imported: str, call: str
) -> None:
    _write(
        tmp_path,
        {
            "acts.py": f"import numpy as np\n\n\ndef tanh(z):\n    {PAYLOAD}\n    return np.tanh(z)\n"
        },
    )
    assert _unsafe(tmp_path, _loss(call, imported)) == ["`open` in tanh (in acts)"]


def test_a_payload_two_modules_away_is_named_with_its_module(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "acts.py": "from deep import squash\n\n\ndef tanh(z):\n    return squash(z)\n",
            "deep.py": f"def squash(z):\n    {PAYLOAD}\n    return z\n",
        },
    )
    assert _unsafe(tmp_path, _loss("tanh", "from acts import tanh")) == [
        "`open` in squash (in deep)"
    ]


def test_a_payload_the_entry_never_reaches_is_not_held_against_it(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"acts.py": TANH_AND_SAVE},
    )
    assert _unsafe(tmp_path, _loss("tanh", "from acts import tanh")) == []
    # imported by name but never read by the kept code: nothing of it is reached
    assert _unsafe(tmp_path, _loss("np.tanh", "from acts import save")) == []
    # read: it is reached
    assert _unsafe(tmp_path, _loss("save", "from acts import save")) == ["`open` in save (in acts)"]


def test_what_loading_a_sibling_runs_is_judged_whatever_the_entry_reaches(tmp_path: Path) -> None:
    # a default value is computed when the module is loaded, even for a function never called
    _write(
        tmp_path,
        {
            "acts.py": (
                "import numpy as np\n\n\n"
                "def tanh(z):\n    return np.tanh(z)\n\n\n"
                f"def save(z, out={PAYLOAD}):\n    return z\n"
            )
        },
    )
    assert _unsafe(tmp_path, _loss("tanh", "from acts import tanh")) == [
        "`open` in the definition of save (in acts)"
    ]


def test_the_files_own_payloads_are_named_once_and_first(tmp_path: Path) -> None:
    _write(tmp_path, {"acts.py": f"def tanh(z):\n    {PAYLOAD}\n    return z\n"})
    code = _loss("tanh", "from acts import tanh").replace(
        "    dWxh = h\n", f"    dWxh = h\n    {PAYLOAD}\n    {PAYLOAD}\n"
    )
    assert _unsafe(tmp_path, code) == ["`open` in lossFun", "`open` in tanh (in acts)"]


def test_only_the_planned_entries_are_read_in_the_file(tmp_path: Path) -> None:
    code = _loss("np.tanh", "") + f"\n\ndef train():\n    {PAYLOAD}\n"
    assert _unsafe(tmp_path, code) == []
    train = {"kind": "lossfun", "function": "train", "params": []}
    assert _unsafe(tmp_path, code, [LOSS, train]) == ["`open` in train"]
    assert _unsafe(tmp_path, code, []) == []


def test_a_module_reached_again_through_a_cycle_does_not_stop_the_others(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "import b\n", "b.py": "import a\n", "c.py": "X = 1\n"})
    reduced = extract.reduce_module("import c\nimport a\n", tmp_path)
    assert sorted(harness._siblings(reduced, tmp_path)) == ["a", "b", "c"]


def test_a_module_gone_since_the_file_was_read_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "X = 1\n", "b.py": "Y = 2\n"})
    reduced = extract.reduce_module("import a\nimport b\n", tmp_path)
    (tmp_path / "b.py").unlink()
    assert sorted(harness._siblings(reduced, tmp_path)) == ["a"]


def test_an_unread_import_does_not_hide_the_read_ones_after_it(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "acts.py": "def unused(z):\n    return z\n",
            "helpers.py": f"def tanh(z):\n    {PAYLOAD}\n    return z\n",
        },
    )
    imported = "from acts import unused\nfrom helpers import tanh"
    assert _unsafe(tmp_path, _loss("tanh", imported)) == ["`open` in tanh (in helpers)"]


def test_a_star_import_reaches_only_the_names_the_code_reads(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"acts.py": TANH_AND_SAVE},
    )
    assert _unsafe(tmp_path, _loss("tanh", "from acts import *")) == []
    assert _unsafe(tmp_path, _loss("save", "from acts import *")) == ["`open` in save (in acts)"]


def test_a_module_reached_twice_keeps_what_it_was_first_reached_for(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "acts.py": (
                f"def tanh(z):\n    {PAYLOAD}\n    return z\n\n\ndef sigm(z):\n    return z\n"
            ),
            "helpers.py": "from acts import sigm\n\n\ndef g(z):\n    return sigm(z)\n",
        },
    )
    code = _loss("tanh", "from acts import tanh\nfrom helpers import g").replace(
        "dWxh = h", "dWxh = g(h)"
    )
    assert _unsafe(tmp_path, code) == ["`open` in tanh (in acts)"]


def test_a_sibling_reaches_further_only_from_its_reached_definitions(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "acts.py": (
                "import numpy as np\nfrom deep import save\n\n\n"
                "def tanh(z):\n    return np.tanh(z)\n\n\n"
                "def unused(z):\n    return save(z)\n"
            ),
            "deep.py": f"def save(z):\n    {PAYLOAD}\n",
        },
    )
    assert _unsafe(tmp_path, _loss("tanh", "from acts import tanh")) == []
    assert _unsafe(tmp_path, _loss("unused", "from acts import unused")) == [
        "`open` in save (in deep)"
    ]

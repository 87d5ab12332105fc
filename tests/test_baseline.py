"""Baselines: --write-baseline records the findings, --baseline hides them; matching survives
lines moving and reformatting, not a changed line; bad baseline files are clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import PROGRAM, findings, run

from lstmlint.baseline import _indent_scope, normalise, strip_comment

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(PROGRAM)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def model(folder: Path) -> Path:
    return folder / "src" / "model.py"


def test_write_then_use_a_baseline(folder: Path, capsys) -> None:
    status, out, err = run(capsys, "--no-confirm", "--write-baseline", "baseline.json", "src")
    assert status == 0 and out == "" and "Wrote 2 findings" in err
    data = json.loads((folder / "baseline.json").read_text())
    assert data["lstmlint-baseline"] == 1
    assert {(f["path"], f["code"]) for f in data["findings"]} == {
        ("src/model.py", "LST101"),
        ("src/model.py", "LST303"),
    }
    status, out, _ = run(capsys, "--no-confirm", "--baseline", "baseline.json", "src")
    assert status == 0
    assert "All checks passed" in out and "2 findings in the baseline hidden" in out


def test_matching_survives_moves_and_reformatting(folder: Path, capsys) -> None:
    run(capsys, "--no-confirm", "--write-baseline", "baseline.json", "src")
    text = model(folder).read_text()
    text = text.replace(
        "import numpy as np\n", "import numpy as np\n\n\ndef unrelated():\n    return 1\n", 1
    )
    text = text.replace("C_prev = C[t - 1]", "C_prev = C[t-1]  # still wrong")
    model(folder).write_text(text)
    assert findings(capsys, "--baseline", "baseline.json", "src") == []
    assert len(findings(capsys, "src")) == 2


def test_new_findings_are_reported(folder: Path, capsys) -> None:
    run(capsys, "--no-confirm", "--write-baseline", "baseline.json", "src")
    text = model(folder).read_text()
    # the same bug twice in one function: the baseline holds one of them
    doubled = text.replace(
        "        C_prev = C[t - 1]\n", "        C_prev = C[t - 1]\n        C_prev = C[t - 1]\n"
    )
    model(folder).write_text(doubled)
    [new] = findings(capsys, "--baseline", "baseline.json", "src")
    assert (new["code"], new["line"]) == ("LST101", 47)
    status, out, _ = run(
        capsys, "--no-confirm", "--format", "concise", "--baseline", "baseline.json", "src"
    )
    assert status == 1 and "2 in the baseline hidden" in out
    # a changed flagged line is a new finding
    model(folder).write_text(text.replace("C_prev = C[t - 1]", "C_prev = C[t - 2]"))
    assert [r["code"] for r in findings(capsys, "--baseline", "baseline.json", "src")] == ["LST101"]


def test_a_finding_moved_to_another_function_is_new(folder: Path, capsys) -> None:
    run(capsys, "--no-confirm", "--write-baseline", "baseline.json", "src")
    model(folder).write_text(model(folder).read_text().replace("backward(", "backward_v2("))
    assert [r["code"] for r in findings(capsys, "--baseline", "baseline.json", "src")] == ["LST101"]


def test_paths_are_relative_to_the_baseline_file(folder: Path, capsys, monkeypatch) -> None:
    run(capsys, "--no-confirm", "--write-baseline", "ci/baseline.json", "src")
    data = json.loads((folder / "ci" / "baseline.json").read_text())
    assert {f["path"] for f in data["findings"]} == {"../src/model.py"}
    monkeypatch.chdir(folder / "src")
    assert findings(capsys, "--baseline", "../ci/baseline.json", "model.py") == []


def test_notebook_baseline_survives_a_new_cell(folder: Path, capsys) -> None:
    for name in ("lstm_scratch.ipynb", "utils.py", "data.py"):
        shutil.copy(REVIEWED / name, folder / name)
    status, _, err = run(
        capsys, "--no-confirm", "--write-baseline", "nb.json", "lstm_scratch.ipynb"
    )
    assert status == 0 and "Wrote 18 findings" in err
    notebook = json.loads((folder / "lstm_scratch.ipynb").read_text())
    notebook["cells"].insert(
        3,
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": ["x = 1\n", "y = 2"],
        },
    )
    (folder / "lstm_scratch.ipynb").write_text(json.dumps(notebook, indent=1))
    assert len(findings(capsys, "lstm_scratch.ipynb")) == 18
    assert findings(capsys, "--baseline", "nb.json", "lstm_scratch.ipynb") == []


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (None, "no such baseline file"),
        ("{not json", "invalid JSON"),
        ("[]", "not a lstmlint baseline"),
        ('{"lstmlint-baseline": 99, "findings": []}', "format 99 is not supported"),
        ('{"lstmlint-baseline": 1, "findings": {}}', "'findings' must be a list"),
        ('{"lstmlint-baseline": 1, "findings": [{"path": "a.py"}]}', "finding 0 needs"),
    ],
)
def test_bad_baseline_files(folder: Path, capsys, content: str | None, phrase: str) -> None:
    if content is not None:
        (folder / "baseline.json").write_text(content)
    status, out, err = run(capsys, "--baseline", "baseline.json", "src")
    assert status == 2 and out == ""
    assert err.startswith("lstmlint: error: baseline.json") and phrase in err


def test_normalisation() -> None:
    assert strip_comment("x = '#' + y  # c") == "x = '#' + y  "
    assert strip_comment('s = """a # b"""') == 's = """a # b"""'
    assert strip_comment(r"s = 'it\'s' # c") == r"s = 'it\'s' "
    assert normalise("  C_prev = C[t - 1]  # noqa: LST101") == normalise("C_prev=C[t-1]")


def test_indentation_scope_for_broken_code() -> None:
    lines = [
        "class LSTM:",
        "    def backward(self):",
        "        for t in range(3):",
        "            x = (",
        "        1)",
        "            y = C[t - 1]",
        "def other(:",
        "    z = 1",
    ]
    assert _indent_scope(lines, 6) == "LSTM.backward"
    assert _indent_scope(lines, 8) == "other"
    assert _indent_scope(lines, 1) == ""

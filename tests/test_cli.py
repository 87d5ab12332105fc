"""The command line: exit codes, formats, selection, suppression and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"


def test_findings_exit_1_and_json_fields(capsys) -> None:
    status, out, _ = run(capsys, "--format", "json", str(REVIEWED / "lstm_scratch.py"))
    assert status == 1
    records = json.loads(out)
    assert records
    for record in records:
        for key in (
            "path",
            "code",
            "name",
            "message",
            "line",
            "column",
            "end_line",
            "end_column",
            "cell",
            "severity",
        ):
            assert key in record
        assert record["cell"] is None and record["line"] >= 1 and record["column"] >= 1


def test_clean_file_exits_0(capsys) -> None:
    status, out, _ = run(capsys, str(REVIEWED / "lstm_scratch_fixed.py"))
    assert status == 0
    assert "All checks passed" in out


def test_select_and_ignore(capsys) -> None:
    path = str(REVIEWED / "lstm_scratch.py")
    _, out, _ = run(capsys, "--format", "json", "--select", "LST1", path)
    assert {r["code"] for r in json.loads(out)} == {"LST101", "LST102"}
    _, out, _ = run(capsys, "--format", "json", "--ignore", "LST1,LST2,LST3", path)
    assert {r["code"] for r in json.loads(out)} == {"LST401", "LST402", "LST403"}
    _, out, _ = run(capsys, "--format", "json", "--select", "double-activation", path)
    assert {r["code"] for r in json.loads(out)} == {"LST201"}


def test_unknown_selector_is_a_usage_error(capsys) -> None:
    status, _, err = run(capsys, "--select", "LST999", str(REVIEWED))
    assert status == 2 and "LST999" in err


def test_list_rules_and_explain(capsys) -> None:
    status, out, _ = run(capsys, "--list-rules")
    assert status == 0 and "LST101" in out and "prev-state-offset" in out
    status, out, _ = run(capsys, "--explain", "LST204")
    assert status == 0 and "What it finds" in out
    status, _, err = run(capsys, "--explain", "LST999")
    assert status == 2 and "unknown rule" in err


def test_notebook_positions_map_to_cells(capsys) -> None:
    _, out, _ = run(
        capsys, "--format", "json", "--select", "LST101", str(REVIEWED / "lstm_scratch.ipynb")
    )
    [record] = json.loads(out)
    notebook = json.loads((REVIEWED / "lstm_scratch.ipynb").read_text())
    line = "".join(notebook["cells"][record["cell"]]["source"]).splitlines()[record["line"] - 1]
    assert "C[t - 1]" in line


BUGGY = (REVIEWED / "lstm_scratch.py").read_text()


def test_noqa_line_and_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "utils.py").write_text((REVIEWED / "utils.py").read_text())
    (tmp_path / "data.py").write_text((REVIEWED / "data.py").read_text())
    target = tmp_path / "model.py"
    target.write_text(BUGGY.replace("C_prev = C[t - 1]", "C_prev = C[t - 1]  # noqa: LST101"))
    _, out, _ = run(capsys, "--format", "json", "--select", "LST101", str(target))
    assert json.loads(out) == []
    target.write_text("# lstmlint: noqa\n" + BUGGY)
    status, out, _ = run(capsys, "--format", "json", str(target))
    assert status == 0 and json.loads(out) == []


def test_syntax_error_is_reported_and_other_files_checked(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.py").write_text(
        "import numpy as np\ndef lstm_step(:\n    return np.tanh(x)\n"
    )
    (tmp_path / "utils.py").write_text((REVIEWED / "utils.py").read_text())
    (tmp_path / "data.py").write_text((REVIEWED / "data.py").read_text())
    (tmp_path / "model.py").write_text(BUGGY)
    status, out, _ = run(capsys, "--format", "json", str(tmp_path))
    records = json.loads(out)
    assert status == 1
    assert [r["code"] for r in records if r["path"].endswith("broken.py")] == ["LST000"]
    assert any(r["code"] == "LST101" for r in records if r["path"].endswith("model.py"))


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [
        ("binary.py", b"\x00\x01\x02binary", "NUL bytes"),
        ("latin.py", "x = 'caf\xe9'\n".encode("latin-1"), "cannot be decoded"),
        ("bad.ipynb", b"{not json", "invalid JSON"),
        ("list.ipynb", b"[1, 2]", "not a JSON object"),
    ],
)
def test_unreadable_files_exit_2_without_traceback(
    tmp_path: Path, capsys, name: str, content: bytes, phrase: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    status, out, _ = run(capsys, "--format", "json", str(path))
    [record] = json.loads(out)
    assert status == 2 and record["code"] == "LST001" and phrase in record["message"]


def test_notebook_without_code_cells_is_a_note(tmp_path: Path, capsys) -> None:
    path = tmp_path / "empty.ipynb"
    path.write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "markdown", "source": ["# hi"]}],
                "nbformat": 4,
                "metadata": {},
            }
        )
    )
    status, out, _ = run(capsys, str(path))
    assert status == 0 and "no code cells" in out


def test_missing_path_is_a_usage_error(capsys) -> None:
    status, _, err = run(capsys, "does/not/exist")
    assert status == 2 and "no such file" in err


def test_gitignore_and_exclude(tmp_path: Path, capsys) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("ignored/\n")
    for folder in ("ignored", "kept", "excluded", ".hidden", "__pycache__"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "broken.py").write_text("def lstm(:\n")
    _, out, _ = run(capsys, "--format", "json", "--exclude", "excluded", str(tmp_path))
    paths = {Path(r["path"]).parent.name for r in json.loads(out)}
    assert paths == {"kept"}
    # a folder named explicitly is checked even when an enclosing .gitignore excludes it
    _, out, _ = run(capsys, "--format", "json", str(tmp_path / "ignored"))
    assert len(json.loads(out)) == 1


def test_files_without_recurrent_code_are_not_parsed(tmp_path: Path, capsys) -> None:
    (tmp_path / "plain.py").write_text("def f(:\n    pass\n")
    status, out, _ = run(capsys, "--format", "json", str(tmp_path))
    assert status == 0 and json.loads(out) == []


def test_relative_import_of_a_sibling_does_not_cost_the_rules(tmp_path: Path) -> None:
    from lstmlint.engine import check_file
    from lstmlint.selection import Selection

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "acts.py").write_text(
        "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"
    )
    model = package / "model.py"
    model.write_text(BUGGY.replace("from utils import", "from . import acts\nfrom utils import"))
    (package / "utils.py").write_text((REVIEWED / "utils.py").read_text())
    (package / "data.py").write_text((REVIEWED / "data.py").read_text())
    result = check_file(model, "model.py", Selection())
    assert not [note for note in result.notes if "internal error" in note]
    assert any(d.code == "LST101" for d in result.diagnostics)


def test_refuted_findings_listed_with_show_refuted_do_not_fail_the_run(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    def refute(results, settings) -> None:
        for result in results:
            for diag in result.diagnostics:
                diag.confirmation = {"status": "refuted", "method": "your-code", "evidence": []}

    monkeypatch.setattr("lstmlint.confirm.confirm_results", refute)
    path = FIXTURES / "minchar" / "rnn_dict_buggy.py"
    status, out, _ = run(capsys, "--no-cache", "--show-refuted", "--format", "json", str(path))
    found = json.loads(out)
    assert found and all(d["confirmation"]["status"] == "refuted" for d in found)
    assert status == 0
    status, _, _ = run(capsys, "--no-cache", "--format", "json", str(path))
    assert status == 0

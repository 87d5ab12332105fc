"""Suppressions: --warn-unused-noqa (LST002) and --add-noqa, on Python files and notebooks."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from helpers import PROGRAM, findings, run

from lstmlint.suppression import with_codes

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, text: str, name: str = "model.py") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


# --- unused noqa ----------------------------------------------------------------------------------


def test_unused_noqa_is_off_by_default(folder: Path, capsys) -> None:
    write(
        folder,
        edit(PROGRAM, "        df = dC * C_prev\n", "        df = dC * C_prev  # noqa: LST201\n"),
    )
    assert {r["code"] for r in findings(capsys, "model.py")} == {"LST101", "LST303"}


def test_unused_unknown_and_foreign_codes(folder: Path, capsys) -> None:
    text = edit(PROGRAM, "C_prev = C[t - 1]\n", "C_prev = C[t - 1]  # noqa: LST101, LST999, E501\n")
    text = edit(text, "        df = dC * C_prev\n", "        df = dC * C_prev  # noqa: LST201\n")
    text = edit(text, "        di = dC * g[t]\n", "        di = dC * g[t]  # noqa\n")
    text = edit(text, "        dg = dC * i[t]\n", '        dg = dC * i[t]; s = "# noqa: LST205"\n')
    write(folder, text)
    records = findings(capsys, "--warn-unused-noqa", "model.py")
    unused = [r for r in records if r["code"] == "LST002"]
    assert {r["code"] for r in records} == {"LST002", "LST303"}  # LST101 suppressed
    by_line = {r["line"]: r for r in unused}
    assert set(by_line) == {46, 47}  # not the bare noqa, not the noqa inside a string
    assert by_line[46]["message"] == "unused `noqa` directive (unknown: `LST999`)"
    assert by_line[47]["message"] == "unused `noqa` directive (unused: `LST201`)"
    assert by_line[47]["fix"] == "remove the `# noqa` comment"
    line = text.split("\n")[46]
    assert line[by_line[47]["column"] - 1 :].startswith("# noqa: LST201")
    assert by_line[47]["severity"] == "warning" and by_line[47]["confirmation"] is None
    status, _, _ = run(
        capsys, "--no-confirm", "--warn-unused-noqa", "--select", "LST002", "model.py"
    )
    assert status == 1


def test_selecting_lst002_turns_it_on_and_non_enabled_codes(folder: Path, capsys) -> None:
    text = edit(PROGRAM, "e = np.exp(v)\n", "e = np.exp(v)  # noqa: LST303\n")
    write(folder, text)
    assert [r["code"] for r in findings(capsys, "--extend-select", "LST002", "model.py")] == [
        "LST101"
    ]
    # with LST303 not selected, its noqa cannot be used in this run
    [record] = findings(capsys, "--select", "LST002", "model.py")
    assert record["message"] == "unused `noqa` directive (non-enabled: `LST303`)"
    # ignoring LST002 (here per file) silences it again
    (folder / "pyproject.toml").write_text(
        '[tool.lstmlint]\nextend-select = ["LST002"]\nignore = ["LST303"]\n'
        '[tool.lstmlint.per-file-ignores]\n"model.py" = ["unused-noqa"]\n'
    )
    assert [r["code"] for r in findings(capsys, "model.py")] == ["LST101"]


def test_lst002_can_be_suppressed_and_file_noqa_wins(folder: Path, capsys) -> None:
    text = edit(
        PROGRAM, "        df = dC * C_prev\n", "        df = dC * C_prev  # noqa: LST201, LST002\n"
    )
    write(folder, text)
    assert "LST002" not in {r["code"] for r in findings(capsys, "--warn-unused-noqa", "model.py")}
    write(folder, "# lstmlint: noqa\n" + text)
    assert findings(capsys, "--warn-unused-noqa", "model.py") == []


def test_unused_noqa_in_a_file_without_recurrent_code(folder: Path, capsys) -> None:
    write(folder, "x = 1  # noqa: LST101\n", "plain.py")
    [record] = findings(capsys, "--warn-unused-noqa", "plain.py")
    assert record["code"] == "LST002" and record["line"] == 1 and record["column"] == 8


def test_unused_noqa_in_a_notebook(folder: Path, capsys) -> None:
    notebook = json.loads((REVIEWED / "lstm_scratch.ipynb").read_text())
    source = notebook["cells"][12]["source"]
    index = next(n for n, line in enumerate(source) if "C_prev = C[t - 1]" in line)
    source[index] = source[index].replace("C[t - 1]", "C[t - 1]  # noqa: LST101, LST203")
    (folder / "nb.ipynb").write_text(json.dumps(notebook, indent=1))
    for name in ("utils.py", "data.py"):
        shutil.copy(REVIEWED / name, folder / name)
    records = findings(capsys, "--warn-unused-noqa", "--select", "LST1,LST2", "nb.ipynb")
    assert "LST101" not in {r["code"] for r in records}
    [unused] = [r for r in records if r["code"] == "LST002"]
    assert (unused["cell"], unused["line"]) == (12, index + 1)
    assert unused["message"] == "unused `noqa` directive (unused: `LST203`)"


# --- add noqa -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "codes", "result"),
    [
        ("x = 1", ["LST101"], "x = 1  # noqa: LST101"),
        ("x = 1   ", ["LST2", "LST101"], "x = 1  # noqa: LST101, LST2"),
        ("x = 1  # keep", ["LST101"], "x = 1  # keep  # noqa: LST101"),
        ("x = 1  # noqa: E501", ["LST101"], "x = 1  # noqa: E501, LST101"),
        ("x = 1  # noqa: LST101", ["LST101"], "x = 1  # noqa: LST101"),
        ("x = 1  # noqa", ["LST101"], "x = 1  # noqa"),
    ],
)
def test_with_codes(line: str, codes: list[str], result: str) -> None:
    assert with_codes(line, codes) == result


def test_add_noqa_then_clean(folder: Path, capsys) -> None:
    path = write(folder, PROGRAM)
    path.chmod(0o640)
    status, out, err = run(capsys, "--no-confirm", "--add-noqa", "model.py")
    assert status == 0 and out == "" and "Added 2 noqa directives to 1 file." in err
    lines = path.read_text().split("\n")
    assert lines[45] == "        C_prev = C[t - 1]  # noqa: LST101"
    assert lines[9] == "    e = np.exp(v)  # noqa: LST303"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert findings(capsys, "--warn-unused-noqa", "model.py") == []
    # running it again changes nothing
    before = path.read_bytes()
    status, _, err = run(capsys, "--no-confirm", "--add-noqa", "model.py")
    assert status == 0 and "Added 0 noqa directives" in err and path.read_bytes() == before
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_add_noqa_keeps_encoding_bom_and_newlines(folder: Path, capsys) -> None:
    header = "# -*- coding: latin-1 -*-\n# café\n"
    latin = folder / "latin.py"
    latin.write_bytes((header + PROGRAM).replace("\n", "\r\n").encode("latin-1"))
    bom = folder / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + ("# é\n" + PROGRAM).encode("utf-8"))
    status, _, err = run(capsys, "--no-confirm", "--add-noqa", "latin.py", "bom.py")
    assert status == 0 and "Added 4 noqa directives to 2 files." in err
    data = latin.read_bytes()
    assert b"caf\xe9" in data and data.count(b"\r\n") == data.count(b"\n")
    assert b"C_prev = C[t - 1]  # noqa: LST101\r\n" in data
    data = bom.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# \xc3\xa9\n")
    assert b"C_prev = C[t - 1]  # noqa: LST101\n" in data
    assert findings(capsys, "latin.py", "bom.py") == []


def test_add_noqa_avoids_continuations_and_strings(folder: Path, capsys) -> None:
    write(folder, edit(PROGRAM, "C_prev = C[t - 1]\n", "C_prev = C[t \\\n - 1]\n"), "slash.py")
    write(
        folder,
        edit(PROGRAM, "C_prev = C[t - 1]\n", 'C_prev = C[t - 1]; s = """\n"""\n'),
        "string.py",
    )
    status, _, err = run(
        capsys, "--no-confirm", "--select", "LST101", "--add-noqa", "slash.py", "string.py"
    )
    assert status == 0
    assert "1 finding left alone: no comment can go on its lines" in err
    assert " - 1]  # noqa: LST101\n" in (folder / "slash.py").read_text()
    assert "noqa" not in (folder / "string.py").read_text()
    assert findings(capsys, "--select", "LST101", "slash.py") == []


def test_add_noqa_in_a_notebook_changes_only_those_lines(folder: Path, capsys) -> None:
    for name in ("lstm_scratch.ipynb", "utils.py", "data.py"):
        shutil.copy(REVIEWED / name, folder / name)
    path = folder / "lstm_scratch.ipynb"
    before = path.read_text(encoding="utf-8")
    expected = findings(capsys, "lstm_scratch.ipynb")
    lines = {(r["cell"], r["line"]) for r in expected}
    status, _, err = run(capsys, "--no-confirm", "--add-noqa", "lstm_scratch.ipynb")
    assert status == 0 and f"Added {len(lines)} noqa directives to 1 file." in err
    after = path.read_text(encoding="utf-8")
    old_lines, new_lines = before.split("\n"), after.split("\n")
    assert len(old_lines) == len(new_lines)
    changed = [n for n, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == len(lines)
    for number in changed:
        assert new_lines[number].startswith(old_lines[number][:-4])
        assert "# noqa: LST" in new_lines[number]
    old, new = json.loads(before), json.loads(after)
    assert old["metadata"] == new["metadata"]
    for cell_old, cell_new in zip(old["cells"], new["cells"], strict=True):
        assert {k: v for k, v in cell_old.items() if k != "source"} == {
            k: v for k, v in cell_new.items() if k != "source"
        }
    assert findings(capsys, "--warn-unused-noqa", "lstm_scratch.ipynb") == []


def test_add_noqa_conflicts(folder: Path, capsys) -> None:
    write(folder, PROGRAM)
    status, _, err = run(capsys, "--add-noqa", "--write-baseline", "b.json", "model.py")
    assert status == 2 and "cannot be used together" in err

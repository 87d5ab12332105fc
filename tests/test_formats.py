"""Output formats on the fixtures (notebooks included): concise, json, sarif (validated against
the SARIF 2.1.0 schema), github, gitlab, junit; --statistics, --output-file; the rules reference."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from helpers import run

from lstmlint.cli import main
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.engine import FileResult
from lstmlint.reporting import Context, github_report, gitlab_report, sarif_report
from lstmlint.reporting.ipynb import NotebookText
from lstmlint.rulesdoc import DOCS_URL, all_infos, help_url, render

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"  # kept with the tests
NOTEBOOK = REVIEWED / "lstm_scratch.ipynb"
PROGRAM = REVIEWED / "lstm_scratch.py"


@pytest.fixture
def in_root(monkeypatch) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    return ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    for name in ("lstm_scratch.py", "utils.py", "data.py", "lstm_scratch.ipynb"):
        shutil.copy(REVIEWED / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    return tmp_path


def records(capsys, *paths: str) -> list[dict]:
    _, out, _ = run(capsys, "--format", "json", "--no-confirm", *paths)
    return json.loads(out)


def sarif_validator():
    # a missing schema or jsonschema fails the test: a skip would test nothing about SARIF
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def escaped(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


# --- concise and json ----------------------------------------------------------------------------


def test_concise_one_line_per_finding(in_root: Path, capsys) -> None:
    expected = records(capsys, str(PROGRAM.relative_to(ROOT)), str(NOTEBOOK.relative_to(ROOT)))
    status, out, _ = run(
        capsys,
        "--format",
        "concise",
        "--no-confirm",
        str(PROGRAM.relative_to(ROOT)),
        str(NOTEBOOK.relative_to(ROOT)),
    )
    lines = out.splitlines()
    assert status == 1
    assert lines[-1] == f"Found {len(expected)} findings."
    pattern = re.compile(r"^(?P<path>[^:]+):(?:cell (?P<cell>\d+):)?(\d+):(\d+): (LST\d{3}) \S")
    parsed = [pattern.match(line) for line in lines[:-1]]
    assert all(parsed) and len(parsed) == len(expected)
    for match, record in zip(parsed, expected, strict=True):
        assert match.group("path") == record["path"]
        assert match.group(5) == record["code"]
        assert (int(match.group("cell")) if match.group("cell") else None) == record["cell"]
        assert (int(match.group(3)), int(match.group(4))) == (record["line"], record["column"])


def test_json_has_help_url_and_fingerprint(in_root: Path, capsys) -> None:
    for record in records(capsys, str(PROGRAM.relative_to(ROOT))):
        assert record["url"] == f"{DOCS_URL}#{record['code'].lower()}"
        assert re.fullmatch(r"[0-9a-f]{16}:\d+", record["fingerprint"])


# --- SARIF ----------------------------------------------------------------------------------------


def test_sarif_validates_and_describes_rules(in_root: Path, capsys, tmp_path: Path) -> None:
    validator = sarif_validator()
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    status, out, _ = run(
        capsys,
        "--format",
        "sarif",
        "--no-confirm",
        str(PROGRAM.relative_to(ROOT)),
        str(NOTEBOOK.relative_to(ROOT)),
        "fixtures/cs231n",
        str(broken),
    )
    log = json.loads(out)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert status == 2  # the unreadable notebook
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [info.code for info in all_infos()]
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] and len(rule["fullDescription"]["text"]) <= 1024
        assert rule["helpUri"] == help_url(rule["id"])
        assert rule["helpUri"] in rule["help"]["markdown"]
        assert "What it finds" in rule["help"]["text"]
    lst101 = next(r for r in rules if r["id"] == "LST101")
    assert "C_prev = C[t]" in lst101["help"]["text"]
    results = run_["results"]
    assert {r["ruleId"] for r in results} >= {"LST101", "LST102", "LST001"}
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        if uri.startswith("file:"):
            assert uri.endswith("broken.ipynb")  # outside the working folder
        else:
            assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
            assert (ROOT / uri).is_file()
        assert location["region"]["startLine"] >= 1
        assert re.fullmatch(r"[0-9a-f]{16}:\d+", result["partialFingerprints"]["lstmlint/v1"])


def test_sarif_notebook_regions_point_into_the_ipynb_file(in_root: Path, capsys) -> None:
    _, out, _ = run(capsys, "--format", "sarif", "--no-confirm", str(NOTEBOOK.relative_to(ROOT)))
    raw = NOTEBOOK.read_text(encoding="utf-8").split("\n")
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    results = json.loads(out)["runs"][0]["results"]
    assert results
    for result in results:
        props = result["properties"]
        region = result["locations"][0]["physicalLocation"]["region"]
        cell_line = "".join(cells[props["cell"]]["source"]).split("\n")[props["cellLine"] - 1]
        flagged = cell_line[props["cellColumn"] - 1 : props["cellEndColumn"] - 1]
        file_line = raw[region["startLine"] - 1]
        assert escaped(cell_line) in file_line
        assert file_line[region["startColumn"] - 1 : region["endColumn"] - 1] == escaped(flagged)


def test_sarif_fingerprints_survive_edits_above(project: Path, capsys) -> None:
    def fingerprints() -> dict[str, tuple[str, int]]:
        _, out, _ = run(capsys, "--format", "sarif", "--no-confirm", "lstm_scratch.py")
        results = json.loads(out)["runs"][0]["results"]
        return {
            r["partialFingerprints"]["primaryLocationLineHash"]: (
                r["ruleId"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in results
        }

    before = fingerprints()
    source = (project / "lstm_scratch.py").read_text()
    edited = source.replace(
        "import numpy as np\n", "import numpy as np\n\n# new\n\n\ndef helper():\n    pass\n", 1
    )
    assert edited != source
    (project / "lstm_scratch.py").write_text(edited)
    after = fingerprints()
    assert before.keys() == after.keys() and len(before) > 10
    for key, (code, line) in before.items():
        assert after[key] == (code, line + 6)
    # changing the flagged line itself changes its fingerprint
    (project / "lstm_scratch.py").write_text(edited.replace("C_prev = C[t - 1]", "C_prev = C[t-2]"))
    changed = fingerprints()
    assert {c for c, _ in changed.values()} == {c for c, _ in before.values()}
    assert len(set(changed) - set(before)) == 1


def test_sarif_carries_confirmation_evidence(in_root: Path, capsys) -> None:
    _, out, _ = run(
        capsys, "--format", "sarif", "--select", "LST101", str(PROGRAM.relative_to(ROOT))
    )
    [result] = json.loads(out)["runs"][0]["results"]
    confirmation = result["properties"]["confirmation"]
    assert confirmation["status"] == "confirmed"
    assert confirmation["evidence"] and "param" in confirmation["evidence"][0]
    assert "Confirmed:" in result["message"]["text"]
    assert "Fix: use `C[t]`" in result["message"]["text"]


# --- GitHub ---------------------------------------------------------------------------------------


COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(part.split("=", 1) for part in match.group("props").split(","))
    return match.group(1), props, match.group("data")


def test_github_escaping() -> None:
    assert github_report.escape_data("100% a\r\nb:c,d") == "100%25 a%0D%0Ab:c,d"
    assert github_report.escape_property("a%b:c,d\ne") == "a%25b%3Ac%2Cd%0Ae"
    line = github_report.command(
        "error", {"file": "a,b:c.py", "line": 3, "col": None}, "x: 50%\nnext"
    )
    assert line == "::error file=a%2Cb%3Ac.py,line=3::x: 50%25%0Anext"


def test_github_annotations_on_the_fixtures(in_root: Path, capsys) -> None:
    status, out, _ = run(
        capsys, "--format", "github", "--no-confirm", str(PROGRAM.relative_to(ROOT))
    )
    expected = records(capsys, str(PROGRAM.relative_to(ROOT)))
    lines = out.splitlines()
    assert status == 1 and len(lines) == len(expected)
    levels = {"error": "error", "warning": "warning", "info": "notice"}
    for line, record in zip(lines, expected, strict=True):
        level, props, data = parse_command(line)
        assert level == levels[record["severity"]]
        assert props["file"] == "fixtures/reviewed/lstm_scratch.py"
        assert props["line"] == str(record["line"]) and props["endLine"] == str(record["end_line"])
        assert props["col"] == str(record["column"])
        assert props["endColumn"] == str(record["end_column"])
        assert record["code"] in props["title"]
        assert "\n" not in data and "%0A" in data  # the fix on its own line


def test_github_notebook_lines_are_lines_of_the_ipynb_file(in_root: Path, capsys) -> None:
    _, out, _ = run(capsys, "--format", "github", "--no-confirm", str(NOTEBOOK.relative_to(ROOT)))
    expected = records(capsys, str(NOTEBOOK.relative_to(ROOT)))
    raw = NOTEBOOK.read_text(encoding="utf-8").split("\n")
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    lines = out.splitlines()
    assert len(lines) == len(expected) > 10
    for line, record in zip(lines, expected, strict=True):
        _, props, data = parse_command(line)
        assert props["file"] == "fixtures/reviewed/lstm_scratch.ipynb"
        cell_line = "".join(cells[record["cell"]]["source"]).split("\n")[record["line"] - 1]
        file_line = raw[int(props["line"]) - 1]
        assert escaped(cell_line) in file_line
        flagged = cell_line[record["column"] - 1 : record["end_column"] - 1]
        assert file_line[int(props["col"]) - 1 : int(props["endColumn"]) - 1] == escaped(flagged)
        assert data.startswith(f"cell {record['cell']}, line {record['line']}")


def _result(path: str, *diagnostics: Diagnostic) -> FileResult:
    return FileResult(path=path, diagnostics=list(diagnostics))


def test_github_multiline_finding_has_no_columns(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    (tmp_path / "m.py").write_text("x = (1,\n     2)\n")
    multi = Diagnostic(
        "m.py", "LST303", "unstable-softmax", "spans", Span(1, 5, 2, 8), Severity.WARNING
    )
    single = Diagnostic(
        "m.py", "LST101", "prev-state-offset", "one", Span(2, 6, 2, 7), Severity.ERROR
    )
    out = io.StringIO()
    github_report.write([_result("m.py", multi, single)], out, Context())
    first, second = out.getvalue().splitlines()
    _, props, _ = parse_command(first)
    assert props["line"] == "1" and props["endLine"] == "2"
    assert "col" not in props and "endColumn" not in props
    _, props, _ = parse_command(second)
    assert (props["line"], props["col"], props["endColumn"]) == ("2", "6", "7")


def test_github_paths_relative_to_the_workspace(in_root: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT / "fixtures"))
    _, out, _ = run(
        capsys, "--format", "github", "--no-confirm", "--select", "LST101", str(PROGRAM)
    )
    _, props, _ = parse_command(out.splitlines()[0])
    assert props["file"] == "reviewed/lstm_scratch.py"


# --- GitLab ---------------------------------------------------------------------------------------


def test_gitlab_code_quality(in_root: Path, capsys) -> None:
    status, out, _ = run(
        capsys,
        "--format",
        "gitlab",
        "--no-confirm",
        str(PROGRAM.relative_to(ROOT)),
        str(NOTEBOOK.relative_to(ROOT)),
    )
    issues = json.loads(out)
    expected = records(capsys, str(PROGRAM.relative_to(ROOT)), str(NOTEBOOK.relative_to(ROOT)))
    assert status == 1 and len(issues) == len(expected)
    assert not out.startswith("\ufeff")
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    raw = NOTEBOOK.read_text(encoding="utf-8").split("\n")
    for issue, record in zip(issues, expected, strict=True):
        assert issue["check_name"] == record["code"]
        assert issue["description"].startswith(f"{record['code']} {record['name']}: ")
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert re.fullmatch(r"[0-9a-f]{32}", issue["fingerprint"])
        assert issue["location"]["path"] == record["path"]
        begin = issue["location"]["lines"]["begin"]
        if record["cell"] is None:
            assert begin == record["line"]
        else:
            assert "cell" in issue["description"]
            assert record["path"].endswith(".ipynb") and "source" not in raw[begin - 1]
            assert raw[begin - 1].lstrip().startswith('"')


def test_gitlab_fingerprints_are_unique_and_stable(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CI_PROJECT_DIR", str(project))
    source = (project / "lstm_scratch.py").read_text()
    # the same buggy line twice: two issues, two fingerprints
    doubled = source.replace(
        "C_prev = C[t - 1]\n", "C_prev = C[t - 1]\n        C_prev = C[t - 1]\n"
    )
    (project / "lstm_scratch.py").write_text(doubled)
    _, out, _ = run(
        capsys, "--format", "gitlab", "--no-confirm", "--select", "LST101", "lstm_scratch.py"
    )
    first = json.loads(out)
    assert len(first) == 2 and first[0]["fingerprint"] != first[1]["fingerprint"]
    assert first[0]["location"]["path"] == "lstm_scratch.py"
    (project / "lstm_scratch.py").write_text("# moved down\n\n" + doubled)
    _, out, _ = run(
        capsys, "--format", "gitlab", "--no-confirm", "--select", "LST101", "lstm_scratch.py"
    )
    second = json.loads(out)
    assert [i["fingerprint"] for i in second] == [i["fingerprint"] for i in first]
    assert [i["location"]["lines"]["begin"] for i in second] == [
        i["location"]["lines"]["begin"] + 2 for i in first
    ]


# --- JUnit ----------------------------------------------------------------------------------------


def test_junit(in_root: Path, capsys) -> None:
    status, out, _ = run(
        capsys,
        "--format",
        "junit",
        "--no-confirm",
        str(PROGRAM.relative_to(ROOT)),
        str(NOTEBOOK.relative_to(ROOT)),
        "fixtures/reviewed/lstm_scratch_fixed.py",
    )
    expected = records(
        capsys,
        str(PROGRAM.relative_to(ROOT)),
        str(NOTEBOOK.relative_to(ROOT)),
        "fixtures/reviewed/lstm_scratch_fixed.py",
    )
    root = ET.fromstring(out)
    assert status == 1 and root.tag == "testsuites"
    assert int(root.get("failures")) == len(expected)
    assert int(root.get("tests")) == len(expected) + 1  # the clean file is one passing case
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {
        "fixtures/reviewed/lstm_scratch.py",
        "fixtures/reviewed/lstm_scratch.ipynb",
        "fixtures/reviewed/lstm_scratch_fixed.py",
    }
    clean = suites["fixtures/reviewed/lstm_scratch_fixed.py"]
    assert clean.get("failures") == "0" and len(list(clean.iter("testcase"))) == 1
    failures = list(suites["fixtures/reviewed/lstm_scratch.ipynb"].iter("failure"))
    assert failures and all(f.get("type", "").startswith("LST") for f in failures)
    assert "cell 12" in " ".join(f.text for f in failures)


def test_junit_unreadable_file_is_an_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.py").write_bytes(b"\x00\x01binary")
    status, out, _ = run(capsys, "--format", "junit", str(tmp_path / "bad.py"))
    root = ET.fromstring(out)
    assert status == 2 and root.get("errors") == "1"
    [error] = list(root.iter("error"))
    assert error.get("type") == "LST001"


# --- statistics, output file ----------------------------------------------------------------------


def test_statistics(in_root: Path, capsys) -> None:
    path = str(PROGRAM.relative_to(ROOT))
    expected = records(capsys, path)
    status, out, _ = run(capsys, "--statistics", "--no-confirm", path)
    assert status == 1
    assert out.splitlines()[-1] == f"Found {len(expected)} findings."
    assert re.search(r"^\s+3\s+LST102\s+current-state-offset\s+0 confirmed$", out, re.M)
    _, out, _ = run(capsys, "--statistics", "--format", "json", "--no-confirm", path)
    stats = {s["code"]: s["count"] for s in json.loads(out)}
    assert sum(stats.values()) == len(expected) and stats["LST102"] == 3


def test_output_file(project: Path, capsys) -> None:
    status, out, _ = run(
        capsys, "--format", "sarif", "--no-confirm", "-o", "report.sarif", "lstm_scratch.py"
    )
    assert status == 1 and out == ""
    assert json.loads((project / "report.sarif").read_text())["version"] == "2.1.0"
    status, out, _ = run(capsys, "--no-confirm", "--output-file", "report.txt", "lstm_scratch.py")
    text = (project / "report.txt").read_text()
    assert out == "" and "LST101" in text and "\x1b[" not in text  # no colour in a file
    assert not list(project.glob(".report*"))  # no temporary file left behind
    status, _, _ = run(capsys, "--no-confirm", "-o", "new/dir/report.txt", "lstm_scratch.py")
    assert status == 1 and "LST101" in (project / "new" / "dir" / "report.txt").read_text()
    status, _, err = run(capsys, "--no-confirm", "-o", "new", "lstm_scratch.py")
    assert status == 2 and "cannot write new" in err


# --- notebook positions ---------------------------------------------------------------------------


def test_notebook_text_positions_with_escapes() -> None:
    cell = ["x = 'caf\u00e9'  # \"q\"\n", "y = '\\t' + \"\U0001f600\"\n", "z = 1"]
    text = json.dumps(
        {"cells": [{"cell_type": "code", "source": cell}]}, indent=1, ensure_ascii=False
    )
    ascii_text = json.dumps(
        {"cells": [{"cell_type": "code", "source": cell}]}, indent=1, ensure_ascii=True
    )
    for raw in (text, ascii_text):
        notebook = NotebookText(raw)
        lines = raw.split("\n")
        for number, content in enumerate("".join(cell).split("\n"), 1):
            line, column = notebook.position(0, number, 1)
            assert json.dumps(content, ensure_ascii=raw is ascii_text)[1:-1] in lines[line - 1]
            assert lines[line - 1][column - 1] == content[0]
        # the column after an escaped character is found in the file text
        line, column = notebook.position(0, 1, 15)
        assert lines[line - 1][column - 1 :].startswith('\\"q')
        edited = notebook.replace_line(0, 2, "y = 2  # noqa: LST101")
        data = json.loads(edited)
        assert data["cells"][0]["source"][1] == "y = 2  # noqa: LST101\n"
        assert edited.replace("y = 2  # noqa: LST101", "") != raw
        assert edited.split("\n")[:2] == raw.split("\n")[:2]


def test_notebook_text_single_string_source() -> None:
    raw = json.dumps({"cells": [{"cell_type": "code", "source": "a = 1\nb = 2\n"}]})
    notebook = NotebookText(raw)
    assert notebook.position(0, 2, 1) == (1, raw.index("b = 2") + 1)
    assert (
        json.loads(notebook.replace_line(0, 1, "a = 3"))["cells"][0]["source"] == "a = 3\nb = 2\n"
    )


# --- the rules reference --------------------------------------------------------------------------


def test_rules_reference_is_up_to_date() -> None:
    path = ROOT / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is out of date: run `python -m lstmlint.rulesdoc --write`"
    )


def test_rules_reference_has_every_code_and_anchor() -> None:
    text = render()
    for info in all_infos():
        assert f'<a id="{info.code.lower()}"></a>' in text
        assert f"## {info.code} {info.name}" in text
        assert help_url(info.code).endswith(f"#{info.code.lower()}")


def test_explain_covers_builtin_codes(capsys) -> None:
    status, out, _ = run(capsys, "--explain", "LST002")
    assert status == 0 and "unused-noqa" in out and help_url("LST002") in out
    status, out, _ = run(capsys, "--explain", "syntax-error")
    assert status == 0 and "LST000" in out
    status, out, _ = run(capsys, "--list-rules")
    assert "LST002  unused-noqa" in out


def test_sarif_reporter_without_cli(tmp_path: Path) -> None:
    validator = sarif_validator()
    log = sarif_report.log([], Context(base=tmp_path))
    assert not list(validator.iter_errors(log))
    assert log["runs"][0]["results"] == []
    assert gitlab_report is not None


def test_exit_zero(project: Path, capsys) -> None:
    status, out, _ = run(capsys, "--no-confirm", "--exit-zero", "lstm_scratch.py")
    assert status == 0 and "LST101" in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("files", "tty", "shown"), [(25, True, True), (5, True, False), (25, False, False)]
)
def test_progress_bar_only_on_a_terminal_for_many_files(
    tmp_path: Path, monkeypatch, capsys, files: int, tty: bool, shown: bool
) -> None:
    for number in range(files):
        (tmp_path / f"m{number}.py").write_text("import numpy as np\nh = np.tanh(1.0)\n")
    stderr = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    status = main(["--no-confirm", str(tmp_path)])
    assert status == 0
    assert ("checking" in stderr.getvalue()) is shown
    assert f"All checks passed ({files} files checked)." in capsys.readouterr().out


def test_text_notes_are_printed_as_written_never_as_markup() -> None:
    from lstmlint.reporting import text_report

    note = "`hs[t]` is read; [tool.lstmlint.harness] can name its pieces [bold]"
    out = io.StringIO()
    text_report.write([FileResult(path="m[1].py", notes=[note])], out, Context(color=False))
    assert f"note: m[1].py: {note}" in out.getvalue()


def _with_record(path: str, record: dict | None) -> FileResult:
    result = FileResult(path=path)
    result.harness = record
    return result


def test_the_summary_counts_files_checked_and_those_checked_in_part() -> None:
    from lstmlint.reporting.text_report import harness_reach

    checked = {"status": "checked", "reason": None}
    partly = {**checked, "not_checked": [{"entry": "LSTM(...)", "reason": "no input"}]}
    refused = {"status": "not-run", "reason": "refused"}
    plain = {"status": "no-backward", "reason": "none"}
    assert harness_reach([_with_record("a.py", plain), _with_record("b.py", None)]) is None
    assert harness_reach([_with_record("a.py", checked), _with_record("b.py", plain)]) == (
        "Your own code's gradients were checked in 1 of 1 file with a backward."
    )
    assert harness_reach(
        [_with_record("a.py", checked), _with_record("b.py", partly), _with_record("c", refused)]
    ) == (
        "Your own code's gradients were checked in 2 of 3 files with a backward, 1 of them not "
        "at every entry point (--harness-report FILE says why not)."
    )
    assert harness_reach([_with_record("b.py", partly)]) == (
        "Your own code's gradients were checked in 1 of 1 file with a backward, 1 of them not "
        "at every entry point (--harness-report FILE says why not)."
    )

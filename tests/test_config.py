"""[tool.lstmlint] in pyproject.toml: discovery, every key, CLI precedence and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import PROGRAM, run

from lstmlint.cli import main
from lstmlint.config import path_matches


def codes(capsys, *args: str) -> set[str]:
    status, out, err = run(capsys, "--format", "json", "--no-confirm", *args)
    assert status in (0, 1), err
    return {r["code"] for r in json.loads(out)}


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project folder with a pyproject.toml (filled in by each test) and src/model.py."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text(PROGRAM)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(project: Path, body: str, name: str = "pyproject.toml") -> Path:
    path = project / name
    path.write_text(body)
    return path


def test_without_configuration_every_default_rule_runs(project: Path, capsys) -> None:
    assert codes(capsys, "src") == {"LST101", "LST303"}


def test_nearest_pyproject_with_the_table_is_used(project: Path, capsys) -> None:
    configure(project, '[tool.lstmlint]\nselect = ["LST1"]\n')
    # a nearer pyproject.toml without [tool.lstmlint] does not count
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert codes(capsys, "src/model.py") == {"LST101"}
    assert codes(capsys, "src") == {"LST101"}
    # a nearer one with the table wins
    (project / "src" / "pyproject.toml").write_text('[tool.lstmlint]\nselect = ["LST3"]\n')
    assert codes(capsys, "src/model.py") == {"LST303"}


def test_select_ignore_extend_select(project: Path, capsys) -> None:
    configure(project, '[tool.lstmlint]\nignore = ["LST3"]\n')
    assert codes(capsys, "src") == {"LST101"}
    configure(
        project, '[tool.lstmlint]\nselect = ["LST3"]\nextend-select = ["prev-state-offset"]\n'
    )
    assert codes(capsys, "src") == {"LST101", "LST303"}
    # within one source the more specific selector wins
    configure(project, '[tool.lstmlint]\nselect = ["LST101"]\nignore = ["LST1"]\n')
    assert codes(capsys, "src") == {"LST101"}


def test_command_line_overrides_configuration(project: Path, capsys) -> None:
    configure(project, '[tool.lstmlint]\nselect = ["LST1"]\nignore = ["LST303"]\n')
    assert codes(capsys, "src", "--select", "LST3") == {"LST303"}
    assert codes(capsys, "src", "--extend-select", "LST303") == {"LST101", "LST303"}
    assert codes(capsys, "src", "--ignore", "LST101") == set()


def test_per_file_ignores(project: Path, capsys) -> None:
    (project / "src" / "other.py").write_text(PROGRAM)
    configure(
        project,
        '[tool.lstmlint]\n[tool.lstmlint.per-file-ignores]\n"src/model.py" = ["LST1"]\n'
        '"other.py" = ["unstable-softmax"]\n',
    )
    _, out, _ = run(capsys, "--format", "json", "--no-confirm", "src")
    found = {(Path(r["path"]).name, r["code"]) for r in json.loads(out)}
    assert found == {("model.py", "LST303"), ("other.py", "LST101")}


def test_exclude_and_extend_exclude(project: Path, capsys) -> None:
    (project / "generated").mkdir()
    (project / "generated" / "model.py").write_text(PROGRAM)
    (project / "old.py").write_text(PROGRAM)

    def paths(*args: str) -> set[str]:
        _, out, _ = run(capsys, "--format", "json", "--no-confirm", *args)
        return {r["path"] for r in json.loads(out)}

    assert paths(".") == {"generated/model.py", "old.py", "src/model.py"}
    configure(project, '[tool.lstmlint]\nexclude = ["generated/"]\nextend-exclude = ["old.py"]\n')
    assert paths(".") == {"src/model.py"}
    # a file named on the command line is checked ...
    assert paths("generated/model.py") == {"generated/model.py"}
    # ... unless force-exclude is on, as pre-commit passes every file by name
    assert paths("--force-exclude", "generated/model.py", "src/model.py") == {"src/model.py"}
    configure(project, '[tool.lstmlint]\nexclude = ["generated"]\nforce-exclude = true\n')
    assert paths("generated/model.py", "old.py") == {"old.py"}
    # --exclude on the command line replaces the configured exclude; extend-exclude adds
    assert paths("--exclude", "old.py", ".") == {"generated/model.py", "src/model.py"}
    assert paths("--extend-exclude", "src", ".") == {"old.py"}


def test_anchored_patterns_are_relative_to_the_configuration(project: Path, capsys) -> None:
    (project / "src" / "sub").mkdir()
    (project / "src" / "sub" / "model.py").write_text(PROGRAM)
    configure(project, '[tool.lstmlint]\nexclude = ["src/sub/*.py"]\n')
    _, out, _ = run(capsys, "--format", "json", "--no-confirm", ".")
    assert {r["path"] for r in json.loads(out)} == {"src/model.py"}


def test_path_matches() -> None:
    root = Path("/p")
    assert path_matches(Path("/p/a/gen/x.py"), "gen", root)
    assert path_matches(Path("/p/a/gen/x.py"), "a/gen/", root)
    assert path_matches(Path("/p/a/gen/x.py"), "*.py", root)
    assert not path_matches(Path("/p/a/gen/x.py"), "gen/*.py", root)  # anchored at /p
    assert not path_matches(Path("/p/a/gen/x.py"), "p", root)  # not above the root
    assert path_matches(Path("/q/x.py"), "x.py", root)
    assert not path_matches(Path("/q/x.py"), "q", root)


def test_confirmation_settings(project: Path, capsys) -> None:
    configure(project, "[tool.lstmlint]\nconfirm = false\nconfirm-timeout = 5\n")
    _, out, _ = run(capsys, "--format", "json", "src")
    assert all(r["confirmation"] is None for r in json.loads(out))
    status, out, _ = run(capsys, "--show-settings", "src")
    assert status == 0
    assert 'confirm = "off"  # from pyproject.toml' in out
    assert "confirm-timeout = 5.0  # from pyproject.toml" in out
    _, out, _ = run(capsys, "--show-settings", "--confirm", "--confirm-timeout", "7", "src")
    assert 'confirm = "auto"  # from the command line' in out
    assert "confirm-timeout = 7.0  # from the command line" in out
    _, out, _ = run(capsys, "--show-settings", "--confirm=reference", "src")
    assert 'confirm = "reference"  # from the command line' in out
    assert "repair-timeout = 2.0  # from the built-in defaults" in out
    configure(project, "[tool.lstmlint]\nrepair-timeout = 0\n")
    _, out, _ = run(capsys, "--show-settings", "src")
    assert "repair-timeout = 0.0  # from pyproject.toml" in out
    _, out, _ = run(capsys, "--show-settings", "--repair-timeout", "4.5", "src")
    assert "repair-timeout = 4.5  # from the command line" in out
    configure(project, "[tool.lstmlint]\nrepair-timeout = 3\n")
    _, out, _ = run(capsys, "--show-settings", "--no-repair", "src")
    assert "repair-timeout = 0.0  # from the command line" in out
    configure(project, '[tool.lstmlint.harness]\ntimeout = 3\nkind = "lossfun"\n')
    _, out, _ = run(capsys, "--show-settings", "src")
    assert 'harness = {"timeout": 3.0, "memory-mb": 1024, "kind": "lossfun"}' in out


def test_config_file_and_isolated(project: Path, capsys) -> None:
    configure(project, '[tool.lstmlint]\nselect = ["LST1"]\n')
    other = configure(project, 'select = ["LST3"]\n', "lstmlint.toml")
    assert codes(capsys, "src") == {"LST101"}
    assert codes(capsys, "--config", str(other), "src") == {"LST303"}
    assert codes(capsys, "--isolated", "src") == {"LST101", "LST303"}
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    configure(elsewhere, '[tool.lstmlint]\nignore = ["LST101"]\n')
    assert codes(capsys, "--config", "elsewhere/pyproject.toml", "src") == {"LST303"}
    status, _, err = run(capsys, "--config", str(other), "--isolated", "src")
    assert status == 2 and "--isolated" in err


def test_show_settings(project: Path, capsys) -> None:
    configure(
        project,
        '[tool.lstmlint]\nselect = ["LST1"]\n[tool.lstmlint.per-file-ignores]\n"x.py" = ["LST101"]\n',
    )
    status, out, _ = run(capsys, "--show-settings", "--extend-select", "LST303", "src")
    assert status == 0
    assert 'config-file = "pyproject.toml"' in out
    assert 'enabled = ["LST101", "LST102", "LST103", "LST303"]' in out
    assert 'per-file-ignores = {"x.py": ["LST101"]}' in out
    status, out, _ = run(capsys, "--show-settings", "--isolated", "src")
    assert 'config-file = "none"' in out


@pytest.mark.parametrize(
    ("body", "phrases"),
    [
        ('[tool.lstmlint]\nselct = ["LST1"]\n', ["unknown key 'selct'", "did you mean 'select'"]),
        ('[tool.lstmlint]\nextend_select = ["LST1"]\n', ["'extend_select'", "'extend-select'"]),
        ('[tool.lstmlint]\nselect = "LST1"\n', ["select must be a list"]),
        ('[tool.lstmlint]\nignore = ["LST999"]\n', ["ignore", "LST999"]),
        ("[tool.lstmlint]\nselect = [1]\n", ["select must be a list"]),
        ('[tool.lstmlint]\nexclude = "build"\n', ["exclude must be a list"]),
        ('[tool.lstmlint]\nextend-exclude = [""]\n', ["extend-exclude"]),
        ('[tool.lstmlint]\nconfirm = "yes"\n', ["confirm must be one of", "'exec'"]),
        ("[tool.lstmlint.harness]\ntimeout = 0\n", ["harness.timeout must be a positive"]),
        (
            '[tool.lstmlint.harness]\nfunctoin = "f"\n',
            ["unknown key harness.functoin", "'function'"],
        ),
        ('[tool.lstmlint.harness]\nkind = "loss"\n', ["harness.kind must be one of"]),
        ('[tool.lstmlint.harness]\nparams = "W"\n', ["harness.params must be a list"]),
        ("[tool.lstmlint]\njobs = 0\n", ["jobs must be a whole number"]),
        ("[tool.lstmlint]\nconfirm-timeout = -1\n", ["confirm-timeout must be a positive"]),
        ('[tool.lstmlint]\nconfirm-timeout = "60"\n', ["confirm-timeout"]),
        ("[tool.lstmlint]\nconfirm-timeout = true\n", ["confirm-timeout"]),
        ("[tool.lstmlint]\nrepair-timeout = -1\n", ["repair-timeout must be 0 (never)"]),
        ("[tool.lstmlint]\nrepair-timeout = false\n", ["repair-timeout must be 0 (never)"]),
        ("[tool.lstmlint]\nforce-exclude = 1\n", ["force-exclude must be true or false"]),
        ('[tool.lstmlint]\nper-file-ignores = ["x"]\n', ["per-file-ignores must be a table"]),
        (
            '[tool.lstmlint.per-file-ignores]\n"x.py" = ["LST77"]\n',
            ["per-file-ignores.'x.py'", "LST77"],
        ),
        ("[tool.lstmlint]\nselect = [\n", ["not valid TOML"]),
        ('tool = 1\n[tool.lstmlint]\nselect = ["LST1"]\n', ["not valid TOML"]),
    ],
)
def test_bad_configuration_is_a_clear_error(
    project: Path, capsys, body: str, phrases: list[str]
) -> None:
    configure(project, body)
    status, out, err = run(capsys, "--no-confirm", "src")
    assert status == 2 and out == ""
    assert err.startswith("lstmlint: error: ") and "Traceback" not in err
    assert "pyproject.toml" in err
    for phrase in phrases:
        assert phrase in err


def test_bad_command_line_values(project: Path, capsys) -> None:
    status, _, err = run(capsys, "--extend-select", "LST777", "src")
    assert status == 2 and "--extend-select" in err and "LST777" in err
    status, _, err = run(capsys, "--config", "missing.toml", "src")
    assert status == 2 and "missing.toml" in err
    configure(project, '[project]\nname = "x"\n')
    status, _, err = run(capsys, "--config", "pyproject.toml", "src")
    assert status == 2 and "has no [tool.lstmlint] table" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["--confirm-timeout", "0", "src"])
    assert exit_info.value.code == 2
    assert "positive" in capsys.readouterr().err


def test_the_harness_time_limit_comes_from_the_environment_where_no_file_sets_it(
    tmp_path: Path, monkeypatch
) -> None:
    from lstmlint.config import parse_table

    def limit(table: dict) -> float:
        return parse_table(table, "pyproject.toml", None, tmp_path).harness.timeout

    monkeypatch.delenv("LSTMLINT_HARNESS_TIMEOUT", raising=False)
    assert limit({}) == 10.0
    for value, seconds in (("45", 45.0), ("2.5", 2.5), ("0", 10.0), ("-3", 10.0), ("soon", 10.0)):
        monkeypatch.setenv("LSTMLINT_HARNESS_TIMEOUT", value)
        assert limit({}) == seconds
        assert limit({"harness": {}}) == seconds
        assert limit({"harness": {"timeout": 3}}) == 3.0  # the configuration wins
    monkeypatch.setenv("LSTMLINT_HARNESS_TIMEOUT", "inf")
    assert limit({}) == 10.0

"""The result cache: warm runs analyse nothing, and every change that matters is a miss."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run

from lstmlint import cache as cache_module
from lstmlint import runner
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.engine import FileResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# lstm_scratch.py imports utils.py and data.py
PROJECT = (
    "reviewed/lstm_scratch.py",
    "reviewed/utils.py",
    "reviewed/data.py",
    "minchar/rnn_dict_buggy.py",
    "minchar/rnn_dict_correct.py",
)
CONFIRMED = {"status": "confirmed", "method": "reference", "reason": None, "evidence": []}


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project root (the working folder) with a few fixtures, checked in this process."""
    for name in PROJECT:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    # lstmlint's own files may be edited while the suite runs: that must not turn hits to misses
    fingerprint = cache_module._code_fingerprint()
    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: fingerprint)
    return tmp_path


@pytest.fixture
def analysed(monkeypatch) -> list[str]:
    """The files the engine analyses (every file the cache did not answer)."""
    seen: list[str] = []
    real = runner._check

    def counting(target, selection, collect):
        seen.append(Path(target.display).name)
        return real(target, selection, collect)

    monkeypatch.setattr(runner, "_check", counting)
    return seen


@pytest.fixture
def confirmed(monkeypatch) -> list[int]:
    """A quick stand-in for the gradient checks; records how many results it was given."""
    calls: list[int] = []

    def confirm_results(results, settings) -> None:
        calls.append(len(results))
        for result in results:
            for diag in result.diagnostics:
                diag.confirmation = dict(CONFIRMED)

    monkeypatch.setattr("lstmlint.confirm.confirm_results", confirm_results)
    return calls


def lint(capsys, *args: str) -> tuple[int, str]:
    status, out, _ = run(capsys, "--jobs", "1", "--format", "json", *args, ".")
    return status, out


def test_a_warm_run_analyses_nothing_and_reports_the_same(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    shutil.copy(FIXTURES / "reviewed" / "lstm_scratch.ipynb", project / "reviewed")
    cold_status, cold = lint(capsys)
    assert cold_status == 1 and len(json.loads(cold)) > 10
    assert "lstm_scratch.py" in analysed and "lstm_scratch.ipynb" in analysed
    assert confirmed == [len(analysed)]
    text_cold = run(capsys, "--jobs", "1", ".")[1]
    analysed.clear()
    confirmed.clear()

    warm_status, warm = lint(capsys)
    assert (warm_status, warm) == (cold_status, cold)
    assert analysed == [] and confirmed == []  # nothing to confirm: all came from the cache
    assert all(r["confirmation"] == CONFIRMED for r in json.loads(warm))
    assert run(capsys, "--jobs", "1", ".")[1] == text_cold  # the offending lines are shown again
    assert (project / ".lstmlint_cache" / ".gitignore").read_text() == "*\n"


def test_editing_an_imported_module_invalidates_its_importers(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    lint(capsys)
    utils = project / "reviewed" / "utils.py"
    # the sigmoid's derivative mode now expects the output: the findings about it change
    text = utils.read_text()
    edited = text.replace("return f * (1 - f)", "return x * (1 - x)", 1)
    assert edited != text
    utils.write_text(edited)
    analysed.clear()
    _, warm = lint(capsys)
    assert set(analysed) == {"lstm_scratch.py", "utils.py"}
    assert warm == lint(capsys, "--no-cache")[1]


def test_editing_a_module_only_the_users_code_imports_invalidates_it(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    """Confirming may run the file's own code, with everything it imports, transitively."""
    utils = project / "reviewed" / "utils.py"
    utils.write_text("from consts import SCALE\n" + utils.read_text())
    consts = project / "reviewed" / "consts.py"
    consts.write_text("SCALE = 1.0\n")
    lint(capsys)
    consts.write_text("SCALE = 2.0\n")
    analysed.clear()
    lint(capsys)
    assert "lstm_scratch.py" in analysed and "rnn_dict_buggy.py" not in analysed


def test_the_modules_the_users_code_imports_are_found_transitively(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "layers.py").write_text("import numpy as np\n")
    (tmp_path / "utils.py").write_text("from pkg.layers import dense\n")
    (tmp_path / "data.py").write_text("def load():\n    from . import extra\n")
    (tmp_path / "extra.py").write_text("X = 1\n")
    (tmp_path / "unused.py").write_text("Y = 2\n")
    text = "import os\nimport utils, data\n"
    found = cache_module._imported_siblings(tmp_path / "model.py", text)
    assert sorted(Path(m).relative_to(tmp_path.resolve()).as_posix() for m in found) == [
        "data.py",
        "extra.py",
        "pkg/__init__.py",
        "pkg/layers.py",
        "utils.py",
    ]


def test_a_new_module_next_to_a_file_invalidates_it(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    lint(capsys)
    analysed.clear()
    (project / "minchar" / "helpers.py").write_text("x = 1\n")  # an import could now find it
    lint(capsys)
    assert sorted(analysed) == ["rnn_dict_buggy.py", "rnn_dict_correct.py"]


def test_the_settings_that_change_results_are_part_of_the_key(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    lint(capsys)
    every = len(analysed)
    for args in (
        ("--select", "LST1"),
        ("--confirm-timeout", "30"),
        ("--no-confirm",),
        ("--no-repair",),
    ):
        analysed.clear()
        lint(capsys, *args)
        assert len(analysed) == every, args
        analysed.clear()
        lint(capsys, *args)
        assert analysed == [], args
    analysed.clear()
    lint(capsys)
    assert analysed == []  # the first settings' entries are still there


def test_the_key_is_the_content_not_the_path(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    lint(capsys)
    shutil.copytree(project / "minchar", project / "elsewhere" / "minchar")
    analysed.clear()
    _, out = lint(capsys)
    assert analysed == []
    paths = {r["path"] for r in json.loads(out)}
    assert any(p.startswith("elsewhere") for p in paths) and any(
        p.startswith("minchar") for p in paths
    )
    changed = project / "minchar" / "rnn_dict_buggy.py"
    changed.write_text(changed.read_text() + "\n# changed, as --fix would\n")
    analysed.clear()
    lint(capsys)
    assert analysed == ["rnn_dict_buggy.py"]


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b'{"format": 1, "key": "',  # truncated
        b"\x00\xff garbage",
        b"[1, 2, 3]",
        b"{}",
        b'{"format": 0}',  # an old layout
    ],
)
def test_a_damaged_entry_is_ignored_and_rewritten(
    project: Path, capsys, analysed: list[str], confirmed: list[int], damage: bytes
) -> None:
    _, cold = lint(capsys)
    entries = sorted((project / ".lstmlint_cache").glob("*.json"))
    for entry in entries:
        entry.write_bytes(damage)
    analysed.clear()
    assert lint(capsys)[1] == cold
    assert len(analysed) == len(entries)
    assert all(json.loads(e.read_text())["format"] == cache_module.FORMAT for e in entries)


def test_an_entry_of_another_file_is_not_used(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    _, cold = lint(capsys)
    entries = sorted((project / ".lstmlint_cache").glob("*.json"))
    contents = [e.read_bytes() for e in entries]
    for entry, content in zip(entries, contents[1:] + contents[:1], strict=True):
        entry.write_bytes(content)  # every entry now holds another file's result
    analysed.clear()
    assert lint(capsys)[1] == cold
    assert len(analysed) == len(entries)


def test_a_cache_folder_that_cannot_be_written_is_skipped_with_one_note(
    project: Path, capsys, confirmed: list[int]
) -> None:
    (project / ".lstmlint_cache").write_text("a file where the folder would be\n")
    status, out, err = run(capsys, "--jobs", "1", "--format", "json", ".")
    assert status == 1 and json.loads(out)
    assert err.count("cannot write the result cache") == 1
    assert run(capsys, "--jobs", "1", "--format", "json", ".")[1] == out


def test_no_cache_reads_and_writes_nothing(
    project: Path, capsys, analysed: list[str], confirmed: list[int]
) -> None:
    lint(capsys, "--no-cache")
    assert not (project / ".lstmlint_cache").exists()
    (project / "pyproject.toml").write_text("[tool.lstmlint]\ncache = false\n")
    lint(capsys)
    assert not (project / ".lstmlint_cache").exists()


def test_the_cache_lives_at_the_configuration_root(
    project: Path, capsys, confirmed: list[int], monkeypatch
) -> None:
    (project / "pyproject.toml").write_text("[tool.lstmlint]\nselect = ['ALL']\n")
    monkeypatch.chdir(project / "minchar")
    run(capsys, "--jobs", "1", "--format", "json", ".")
    assert (project / ".lstmlint_cache").is_dir()
    assert not (project / "minchar" / ".lstmlint_cache").exists()


def test_failed_confirmations_are_not_stored(
    project: Path, capsys, analysed: list[str], monkeypatch
) -> None:
    from lstmlint import child_process

    real, real_server, busy = child_process.ask, child_process.Server.ask, [True]

    def ask(*args, **kwargs):
        if busy[0]:
            raise child_process.ChildFailed("did not finish within 60 s")
        return real(*args, **kwargs)

    def server_ask(self, *args, **kwargs):
        if busy[0]:
            raise child_process.ChildFailed("did not finish within 60 s")
        return real_server(self, *args, **kwargs)

    # every child process (the reference experiments, your own code) fails the first time
    monkeypatch.setattr(child_process, "ask", ask)
    monkeypatch.setattr(child_process.Server, "ask", server_ask)
    lint(capsys)
    busy[0] = False
    analysed.clear()
    _, out = lint(capsys)
    # every recurrent file was confirmed (the correct one by running its code), so none was
    # stored; this time they are checked again, and confirmed
    assert sorted(analysed) == ["lstm_scratch.py", "rnn_dict_buggy.py", "rnn_dict_correct.py"]
    assert any(d["confirmation"]["status"] == "confirmed" for d in json.loads(out))


def test_what_is_stored_depends_on_the_transient_flag_and_the_mode() -> None:
    class Settings:
        confirm = "auto"

    assert not cache_module._storable(FileResult(path="x.py", transient=True), Settings())
    # a note that reads like a failure is not what decides
    note = "your code could not be checked: ValueError: shapes do not match"
    assert cache_module._storable(FileResult(path="x.py", notes=[note]), Settings())
    Settings.confirm = "exec"
    assert not cache_module._storable(FileResult(path="x.py"), Settings())


def test_an_entry_keeps_every_field_of_a_finding(tmp_path: Path) -> None:
    class Settings:
        warn_unused_noqa = False
        confirm = "auto"
        confirm_timeout = 60.0
        repair_timeout = 2.0
        harness = None

    source = tmp_path / "model.py"
    source.write_text("h = np.tanh(h)\n")
    store = cache_module.Cache(tmp_path, Settings())
    diag = Diagnostic(
        path="model.py",
        code="LST101",
        name="prev-state-offset",
        message="the previous cell state ...",
        span=Span(3, 5, 3, 13),
        severity=Severity.ERROR,
        fix="use `C[t]`",
        cell=4,
        facts={"experiment": {"model": "lstm"}},
        confirmation={"status": "confirmed", "evidence": [{"param": "W_f", "error": 1.2}]},
        edits=[Edit(Span(3, 12, 3, 17), "t")],
    )
    result = FileResult(path="model.py", diagnostics=[diag], notes=["a note"])
    content = cache_module.content_hash(source.read_bytes())
    key = store.key(content, "selection")
    store.store(source, key, content, result)
    loaded = store.load(source, "shown/model.py", key, content)
    assert loaded is not None and loaded.notes == ["a note"] and loaded.path == "shown/model.py"
    (back,) = loaded.diagnostics
    assert back.facts == {}  # they feed the confirmation, which is stored instead
    assert (back.path, back.edits) == ("shown/model.py", diag.edits)
    for name in ("code", "name", "message", "span", "severity", "fix", "cell", "confirmation"):
        assert getattr(back, name) == getattr(diag, name), name
    assert store.load(source, "model.py", store.key(content, "other selection"), content) is None


def test_concurrent_runs_do_not_corrupt_the_cache(tmp_path: Path) -> None:
    for folder in ("minchar", "vanilla"):
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    command = [sys.executable, "-m", "lstmlint", "--no-confirm", "--format", "json", "."]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    runs = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, env=env) for _ in range(2)
    ]
    outputs = [process.communicate()[0] for process in runs]
    assert [process.returncode for process in runs] == [1, 1]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])
    folder = tmp_path / ".lstmlint_cache"
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.startswith(".tmp-")]  # no half-written entry left over
    for entry in folder.glob("*.json"):
        assert json.loads(entry.read_text())["format"] == cache_module.FORMAT
    warm = subprocess.run(command, cwd=tmp_path, stdout=subprocess.PIPE, env=env, check=False)
    assert warm.stdout == outputs[0]


def test_old_entries_are_pruned(tmp_path: Path) -> None:
    folder = tmp_path / cache_module.FOLDER
    folder.mkdir()
    for index in range(12):
        entry = folder / f"{index:02}.json"
        entry.write_text("{}")
        os.utime(entry, ns=(index * 10**9, index * 10**9))
    store = cache_module.Cache(tmp_path, None)
    store.written = 1
    store.prune(limit=8)
    assert sorted(p.name for p in folder.glob("*.json")) == [f"{i:02}.json" for i in range(6, 12)]

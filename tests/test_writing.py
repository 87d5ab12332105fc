"""How every file lstmlint writes reaches the disk, and how reports are picked and keyed.

``write_atomic`` carries the promise that nothing a user owns is ever half-written or loses its
permissions; ``write`` picks the reporter; ``Context.fingerprint`` keys a finding for baselines
and CI formats. These tests call them directly, in this process, so that each promise is pinned
without a whole run (``test_fixes.py`` checks the same through ``--fix``).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

import lstmlint.reporting as reporting
from lstmlint.baseline import Fingerprints
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.reporting import Context, write, write_atomic


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(("umask", "mode"), [(0o027, 0o640), (0o002, 0o664), (0o022, 0o644)])
def test_a_new_file_is_written_whole_with_the_umask_applied(
    tmp_path: Path, umask: int, mode: int
) -> None:
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "report.txt", b"all of it\n")
        assert os.umask(umask) == umask  # the umask read to compute the mode is put back
    finally:
        os.umask(old)
    target = tmp_path / "report.txt"
    assert target.read_bytes() == b"all of it\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode  # as `open` would make it
    assert _names(tmp_path) == ["report.txt"]  # no temporary file left beside it


def test_an_existing_file_keeps_its_mode_and_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    target.write_bytes(b"old text that is longer than the new one\n")
    target.chmod(0o751)
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert _names(tmp_path) == ["model.py"]


def test_missing_parent_folders_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"


def test_a_bare_file_name_is_written_in_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_atomic(Path("here.txt"), b"x")
    assert (tmp_path / "here.txt").read_bytes() == b"x"
    assert _names(tmp_path) == ["here.txt"]


def test_a_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real" / "model.py"
    real.parent.mkdir()
    real.write_bytes(b"old\n")
    real.chmod(0o700)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_atomic(link, b"new\n")
    assert link.is_symlink()
    assert real.read_bytes() == b"new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o700
    assert _names(real.parent) == ["model.py"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "model.py"
    target.write_bytes(b"the user's code\n")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(reporting.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"half")
    assert target.read_bytes() == b"the user's code\n"
    assert _names(tmp_path) == ["model.py"]


def test_the_write_s_own_error_is_raised_when_the_clean_up_fails_too(
    tmp_path: Path, monkeypatch
) -> None:
    def failing_replace(source, destination):
        raise OSError("disk full")

    def failing_unlink(path):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(reporting.os, "replace", failing_replace)
    monkeypatch.setattr(reporting.os, "unlink", failing_unlink)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "model.py", b"data")


def test_an_interrupted_write_leaves_no_temporary_either(tmp_path: Path, monkeypatch) -> None:
    def interrupted(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr(reporting.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "new.txt", b"data")
    assert _names(tmp_path) == []


def test_the_data_is_flushed_to_the_disk_before_the_rename(tmp_path: Path, monkeypatch) -> None:
    order: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        order.append("fsync")
        real_fsync(descriptor)

    def replace(source, destination):
        order.append("replace")
        assert Path(source).read_bytes() == b"data"  # whole before it takes the name
        real_replace(source, destination)

    monkeypatch.setattr(reporting.os, "fsync", fsync)
    monkeypatch.setattr(reporting.os, "replace", replace)
    write_atomic(tmp_path / "out.txt", b"data")
    assert order == ["fsync", "replace"]


def test_the_temporary_file_is_hidden_and_named_after_the_target(
    tmp_path: Path, monkeypatch
) -> None:
    seen: list[str] = []

    def replace(source, destination):
        seen.append(Path(source).name)
        assert Path(source).parent == tmp_path
        raise OSError("stop here")

    monkeypatch.setattr(reporting.os, "replace", replace)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "model.py", b"data")
    [name] = seen
    assert name.startswith(".model.py.") and name.endswith(".tmp")


def _finding(code: str = "LST101", line: int = 3) -> Diagnostic:
    return Diagnostic("m.py", code, "rule", "message", Span(line, 1, line, 2), Severity.ERROR)


def test_a_fingerprint_is_computed_once_and_kept() -> None:
    context = Context()
    diag = _finding()
    first = context.fingerprint(diag)
    assert first == (Fingerprints().base(diag, None), 0)
    assert context.fingerprints == {id(diag): first}
    context.fingerprints[id(diag)] = ("given", 2)
    assert context.fingerprint(diag) == ("given", 2)  # a run's own fingerprints win


def test_fingerprints_tell_codes_apart() -> None:
    context = Context()
    assert context.fingerprint(_finding("LST101"))[0] != context.fingerprint(_finding("LST204"))[0]


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        write("xml", [], io.StringIO(), Context())


@pytest.mark.parametrize("name", reporting.FORMATS)
def test_each_format_writes_through_its_own_module(name: str, monkeypatch) -> None:
    import importlib

    module = importlib.import_module(f"lstmlint.reporting.{name}_report")
    calls: list[tuple] = []
    monkeypatch.setattr(
        module, "write", lambda results, out, context: calls.append((results, out, context))
    )
    results, out, context = [], io.StringIO(), Context()
    write(name, results, out, context)
    assert calls == [(results, out, context)]

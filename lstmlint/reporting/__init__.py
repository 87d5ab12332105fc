"""Reporters turn a run's results into text for a terminal, or a format for tools and CI.

``FORMATS`` maps each ``--format`` name to its module; every module has
``write(results, out, context)``. ``write_atomic`` is how every file lstmlint writes (reports,
baselines, ``--add-noqa`` edits, ``--fix``) reaches the disk: a temporary file in the same folder, then a
rename, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit")


@dataclass
class Context:
    """What a reporter may need besides the results."""

    color: bool | None = None
    refuted_hidden: int = 0
    base: Path = field(default_factory=Path.cwd)  # paths in reports are relative to this
    baseline_hidden: int = 0
    # id(diagnostic) -> (fingerprint, occurrence), see lstmlint.baseline.Fingerprints
    fingerprints: dict[int, tuple[str, int]] = field(default_factory=dict)
    unsafe_fixes: bool = False  # --unsafe-fixes: unverified fixes count as applicable

    def fixable(self, diag) -> bool:
        return fix_applicable(diag, self.unsafe_fixes)

    def fingerprint(self, diag) -> tuple[str, int]:
        if id(diag) not in self.fingerprints:
            from lstmlint.baseline import Fingerprints

            self.fingerprints[id(diag)] = (Fingerprints().base(diag, None), 0)
        return self.fingerprints[id(diag)]


def fix_applicable(diag, unsafe: bool = False) -> bool:
    """Whether ``--fix`` applies the finding's edits: a gradient check confirmed it and, where
    the user's own code was run, the fixes made its gradients exact; or, with
    ``--unsafe-fixes``, nothing refuted it."""
    if not diag.edits:
        return False
    confirmation = diag.confirmation or {}
    status = confirmation.get("status")
    if status == "confirmed" and confirmation.get("fix_verified", True):
        return True
    return unsafe and status != "refuted"


def write(name: str, results, out, context: Context) -> None:
    """Write ``results`` in format ``name`` to ``out``."""
    import importlib

    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}")
    module = importlib.import_module(f"lstmlint.reporting.{name}_report")
    module.write(results, out, context)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, keeping the permissions of an existing file
    (missing parent folders are created). A symbolic link is followed: the file it points to
    is replaced and the link stays a link."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

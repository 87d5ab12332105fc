"""The result cache: ``.lstmlint_cache/`` at the project root, one JSON file per entry.

An entry holds one file's result (findings with their edits and confirmations, and notes) and
is found by a hash of the file's content and of everything else its result depends on: the
lstmlint version and code, the Python version, the file's own rule selection, the
confirmation mode and time limit, and the harness configuration. Content rather than path is
the key, so a file changed by ``--fix`` (or by anyone) is simply a miss, and a branch switched
back and forth finds its old results.

A result also depends on the sibling modules its analysis read (``from utils import sigmoid``
next to it) and, when its findings were confirmed by running the file's own code, on every
sibling module that code imports: the entry records them, relative to the file's folder, with
their content hashes, and the names of the importable modules in that folder, so editing
``utils.py`` or adding a module the file imports invalidates the entry.

Nothing here may stop a run: an unreadable, corrupt, truncated, foreign or old entry is a miss
(and is rewritten), an entry is written to a temporary file and renamed into place (concurrent
runs never see half an entry), and a folder that cannot be written is skipped with one note on
standard error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstmlint import __version__
from lstmlint.pytree import python_tree

if TYPE_CHECKING:
    from lstmlint.engine import FileResult
    from lstmlint.settings import Settings

FOLDER = ".lstmlint_cache"
FORMAT = 1  # bump when the layout of an entry changes
MAX_ENTRIES = 20_000  # beyond this many, the oldest entries are removed


def content_hash(data: bytes) -> str:
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _code_fingerprint() -> str:
    """lstmlint's own code: a version that was not bumped still invalidates on every change."""
    import importlib.util

    import lstmlint

    folders = [Path(lstmlint.__file__).parent]
    spec = importlib.util.find_spec("lstmlint.rules")
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(p) for p in spec.submodule_search_locations]
    parts = []
    for folder in folders:
        for directory, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(directory, name))
                    parts.append(f"{directory}/{name}:{info.st_size}:{info.st_mtime_ns}")
    return content_hash("\n".join(parts).encode())


class Cache:
    """The entries of one project root, as one run reads and writes them."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.folder = root / FOLDER
        self._settings = settings
        self._fingerprints: dict[object, str] = {}
        self._base: str | None = None
        self._hashes: dict[str, str | None] = {}  # file -> content hash, for this run
        self._listings: dict[str, str] = {}
        self._writable: bool | None = None
        self.written = 0

    # keys ----------------------------------------------------------------------------------
    def _settings_fingerprint(self, selection: object) -> str:
        if selection not in self._fingerprints:
            if self._base is None:
                settings = self._settings
                harness = settings.harness
                self._base = json.dumps(
                    [
                        FORMAT,
                        __version__,
                        _code_fingerprint(),
                        list(sys.version_info[:2]),
                        settings.warn_unused_noqa,
                        settings.confirm,
                        settings.confirm_timeout,
                        settings.repair_timeout,
                        repr(harness),
                    ]
                )
            self._fingerprints[selection] = content_hash(f"{self._base}\n{selection!r}".encode())
        return self._fingerprints[selection]

    def key(self, content: str, selection: object) -> str:
        """The entry name of a file with this content hash checked with this selection."""
        return content_hash(f"{content}\n{self._settings_fingerprint(selection)}".encode())

    # dependencies --------------------------------------------------------------------------
    def _hash_of(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                with open(path, "rb") as handle:
                    self._hashes[path] = content_hash(handle.read())
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]

    def _listing(self, folder: str) -> str:
        """The names a sibling import can find in ``folder``: modules and packages."""
        if folder not in self._listings:
            try:
                with os.scandir(folder) as entries:
                    names = sorted(
                        entry.name
                        for entry in entries
                        if not entry.name.startswith(".")
                        and (entry.name.endswith(".py") or entry.is_dir())
                    )
            except OSError:
                names = ["<unreadable>"]
            self._listings[folder] = content_hash("\n".join(names).encode())
        return self._listings[folder]

    @staticmethod
    def _folder_of(path: Path) -> str:
        return str(Path(os.path.realpath(path)).parent)

    # reading -------------------------------------------------------------------------------
    def load(self, path: Path, display: str, key: str, content: str) -> FileResult | None:
        """The stored result for ``path``, or None when there is none that is still valid."""
        try:
            with open(self.folder / f"{key}.json", encoding="utf-8") as handle:
                entry = json.load(handle)
            if not (
                isinstance(entry, dict)
                and entry.get("format") == FORMAT
                and entry.get("key") == key
                and entry.get("content") == content
            ):
                return None
            folder = self._folder_of(path)
            if entry["folder"] != self._listing(folder):
                return None
            modules = []
            for relative, digest in entry["modules"]:
                module = os.path.normpath(os.path.join(folder, relative))
                if self._hash_of(module) != digest:
                    return None
                modules.append(module)
            return _result_from(entry["result"], display, modules)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, truncated, corrupt or foreign: a miss, rewritten later

    # writing -------------------------------------------------------------------------------
    def store(self, path: Path, key: str, content: str, result: FileResult) -> None:
        if self._writable is False or not _storable(result, self._settings):
            return
        folder = self._folder_of(path)
        read = list(result.modules)
        if self._settings.confirm != "off" and getattr(result, "analysed", True):
            text = result.document.text if result.document is not None else _text_of(path)
            if text is None:
                return
            read += [m for m in _imported_siblings(path, text) if m not in read]
        try:
            modules = []
            for module in read:
                digest = self._hash_of(module)
                if digest is None:
                    return  # a module read during the analysis is gone: nothing to check later
                modules.append([os.path.relpath(module, folder), digest])
            entry = {
                "format": FORMAT,
                "key": key,
                "content": content,
                "folder": self._listing(folder),
                "modules": modules,
                "result": _result_to(result),
            }
            text = json.dumps(entry, separators=(",", ":"))
        except (TypeError, ValueError):
            return  # something in the result that JSON cannot hold: not cached
        if not self._prepare():
            return
        import tempfile

        try:
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, self.folder / f"{key}.json")
            except BaseException:
                _unlink(temporary)
                raise
            self.written += 1
        except OSError as exc:
            self._give_up(exc)

    def _prepare(self) -> bool:
        if self._writable is None:
            try:
                self.folder.mkdir(exist_ok=True)
                ignore = self.folder / ".gitignore"
                if not ignore.exists():
                    ignore.write_text("*\n")
                self._writable = True
            except OSError as exc:
                self._give_up(exc)
        return bool(self._writable)

    def _give_up(self, exc: OSError) -> None:
        if self._writable is not False:
            self._writable = False
            sys.stderr.write(
                f"lstmlint: note: cannot write the result cache in {self.folder} "
                f"({exc.strerror or exc}); continuing without it\n"
            )

    def prune(self, limit: int = MAX_ENTRIES) -> None:
        """Remove the oldest entries once there are more than ``limit`` (after runs that wrote)."""
        if not self.written:
            return
        try:
            with os.scandir(self.folder) as entries:
                found = [
                    (entry.stat().st_mtime_ns, entry.path)
                    for entry in entries
                    if entry.name.endswith(".json")
                ]
        except OSError:
            return
        if len(found) <= limit:
            return
        found.sort()
        for _, path in found[: len(found) - limit * 3 // 4]:
            _unlink(path)


def _text_of(path: Path) -> str | None:
    from lstmlint import sources

    try:
        return sources.read_document(path, str(path)).text
    except sources.UnreadableFile:
        return None


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _storable(result: FileResult, settings: Settings) -> bool:
    if result.unreadable:
        return False
    # code run as it is may import anything installed, which is not tracked here
    if settings.confirm == "exec":
        return False
    return not result.transient


def _imported_siblings(path: Path, text: str) -> list[str]:
    """The modules next to ``path`` that its code imports, and theirs, transitively.

    Confirming by running the user's code (the harness) reads them, so its verdicts depend on
    them; found from the import statements alone, this may be more than it reads, never less.
    """
    import ast

    folder = Path(os.path.realpath(path)).parent
    found: list[str] = []
    todo = [text]
    while todo:
        try:
            tree = python_tree(todo.pop())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                prefix = f"{node.module}." if node.module else ""
                names = [prefix + alias.name for alias in node.names]
                names += [node.module] if node.module else []
            else:
                continue
            # importing a.b.c runs a/__init__.py and a/b/__init__.py too
            parts = [name.split(".") for name in names]
            for name in sorted({".".join(p[:n]) for p in parts for n in range(1, len(p) + 1)}):
                base = folder / name.replace(".", "/")
                for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
                    module = str(candidate)
                    if module not in found and candidate.is_file():
                        found.append(module)
                        try:
                            todo.append(candidate.read_bytes().decode("utf-8", "replace"))
                        except OSError:
                            continue
    return found


# (de)serialising -------------------------------------------------------------------------
_RESULT_SKIPPED = {"path", "diagnostics", "document", "modules", "unreadable"}
_DIAGNOSTIC_SKIPPED = {"path", "facts"}  # facts feed the confirmation, which is stored


def _plain(value: Any) -> Any:
    from lstmlint.diagnostics import Severity, Span

    if isinstance(value, Span):
        return {"span": dataclasses.astuple(value)}
    if isinstance(value, Severity):
        return value.value
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _span(value: Any):
    from lstmlint.diagnostics import Span

    return Span(*value["span"]) if isinstance(value, dict) and "span" in value else value


def _result_to(result: FileResult) -> dict:
    diagnostics = []
    for diag in result.diagnostics:
        diagnostics.append(
            {
                f.name: _plain(getattr(diag, f.name))
                for f in dataclasses.fields(diag)
                if f.name not in _DIAGNOSTIC_SKIPPED
            }
        )
    extra = {
        f.name: getattr(result, f.name)
        for f in dataclasses.fields(result)
        if f.name not in _RESULT_SKIPPED
    }
    return {**extra, "diagnostics": diagnostics}


def _result_from(stored: dict, display: str, modules: list[str]) -> FileResult:
    from lstmlint.diagnostics import Diagnostic, Severity
    from lstmlint.edits import Edit
    from lstmlint.engine import FileResult

    diagnostics = []
    for item in stored["diagnostics"]:
        fields = dict(item)
        fields["span"] = _span(fields["span"])
        fields["severity"] = Severity(fields["severity"])
        fields["edits"] = [
            Edit(**{name: _span(value) for name, value in edit.items()})
            for edit in fields.get("edits") or []
        ]
        diagnostics.append(Diagnostic(path=display, **fields))
    known = {f.name for f in dataclasses.fields(FileResult)} - _RESULT_SKIPPED
    extra = {name: value for name, value in stored.items() if name in known}
    return FileResult(path=display, diagnostics=diagnostics, modules=modules, **extra)

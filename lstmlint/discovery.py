"""Which files a run checks: .py and .ipynb under the given paths, minus what is excluded."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {".py", ".ipynb"}
SKIPPED_DIRS = {"__pycache__", "build", "dist", "node_modules", "venv"}


@dataclass(frozen=True)
class Target:
    path: Path
    display: str  # how the path is shown and reported


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file() or (directory / "conda-meta").is_dir()


class _GitIgnores:
    """The .gitignore files from a folder up to its repository root, nearest last."""

    def __init__(self) -> None:
        self._cache: dict[Path, object] = {}

    def _spec(self, directory: Path):
        if directory not in self._cache:
            ignore = directory / ".gitignore"
            spec = None
            if ignore.is_file():
                import pathspec

                try:
                    lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
                except (OSError, ValueError):
                    spec = None
            self._cache[directory] = spec
        return self._cache[directory]

    def ignored(self, path: Path, is_dir: bool, floor: Path | None = None) -> bool:
        """Whether a .gitignore excludes ``path``; with ``floor``, only .gitignore files at or below it count."""
        for parent in path.parents:
            if floor is not None and not parent.is_relative_to(floor):
                break
            spec = self._spec(parent)
            if spec is not None:
                relative = path.relative_to(parent).as_posix() + ("/" if is_dir else "")
                if spec.match_file(relative):
                    return True
            if (parent / ".git").exists():
                break
        return False


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(
        fnmatch.fnmatch(text, pattern)
        or fnmatch.fnmatch(path.name, pattern)
        or fnmatch.fnmatch(text, f"*/{pattern}")
        for pattern in patterns
    )


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:  # the working folder was deleted under us
        return None


def _display(path: Path, cwd: Path | None = None) -> str:
    cwd = cwd or _cwd()
    if cwd is not None:
        try:
            return path.relative_to(cwd).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def discover(paths: list[str], exclude: tuple[str, ...] = ()) -> Iterator[Target | str]:
    """Yield targets in a stable order; a string is a path that does not exist (reported by the caller)."""
    ignores = _GitIgnores()
    seen: set[Path] = set()
    cwd = _cwd()
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            yield raw
            continue
        if not root.is_dir():  # a file named explicitly (even a pipe: reading it reports why not)
            resolved = root.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield Target(
                    root, _display(root.absolute(), cwd) if root.is_absolute() else root.as_posix()
                )
            continue
        yield from _walk(root.absolute(), exclude, ignores, seen, cwd)


def _walk(
    root: Path,
    exclude: tuple[str, ...],
    ignores: _GitIgnores,
    seen: set[Path],
    cwd: Path | None = None,
) -> Iterator[Target]:
    # a folder named on the command line is checked even if an enclosing repository ignores it
    floor = root if ignores.ignored(root, True) else None
    real_root = root.resolve()
    visited_dirs: set[Path] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        real = directory.resolve()
        if real in visited_dirs:  # a symlink loop or a second route to the same folder
            continue
        visited_dirs.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                # pipes, sockets and dangling symlinks are not source files (a pipe would block)
                is_file = not is_dir and entry.is_file()
                # a link to a file or folder of this tree: the walk reaches it under its own name
                if entry.is_symlink() and path.resolve().is_relative_to(real_root):
                    continue
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop on old Pythons
                continue
            if is_dir:
                if entry.name.startswith(".") or entry.name in SKIPPED_DIRS or _is_virtualenv(path):
                    continue
                if _excluded(path, exclude) or ignores.ignored(path, True, floor):
                    continue
                subdirs.append(path)
            elif is_file and path.suffix in SUFFIXES and not entry.name.startswith("."):
                if _excluded(path, exclude) or ignores.ignored(path, False, floor):
                    continue
                resolved = path.resolve()
                if resolved in seen:
                    continue
                seen.add(resolved)
                yield Target(path, _display(path, cwd))
        stack.extend(reversed(subdirs))

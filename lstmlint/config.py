"""``[tool.lstmlint]`` in pyproject.toml: finding it, reading it, and checking every value.

The configuration is the ``[tool.lstmlint]`` table of the nearest ``pyproject.toml`` that has
one, searched from the checked paths (their common folder) upward. ``--config FILE`` names the
file instead (a pyproject.toml, or any other TOML file whose top level holds the same keys);
``--isolated`` ignores configuration files. Patterns in the file are relative to its folder.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from lstmlint.selection import SelectionError, validate
from lstmlint.settings import CONFIRM_MODES

TABLE = "[tool.lstmlint]"


class ConfigError(Exception):
    """A configuration problem, phrased for the user (the CLI exits with status 2)."""


def _list_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True)
class FileConfig:
    """What one configuration file says; ``None`` means "not set here"."""

    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool | None = None
    confirm: str | None = None
    confirm_timeout: float | None = None
    repair_timeout: float | None = None
    show_refuted: bool | None = None
    harness: HarnessConfig = field(default_factory=lambda: HarnessConfig())
    fix: bool | None = None
    unsafe_fixes: bool | None = None
    jobs: int | None = None
    cache: bool | None = None


@dataclass(frozen=True)
class HarnessConfig:
    """``[tool.lstmlint.harness]``: limits and entry points for running the user's own code."""

    timeout: float = field(default_factory=lambda: default_harness_timeout())  # seconds a file
    memory_mb: int = 1024
    entries: tuple[tuple[str, Any], ...] = ()  # raw key/value pairs, checked by the harness


def default_harness_timeout() -> float:
    """Seconds a file where no configuration says: ``LSTMLINT_HARNESS_TIMEOUT`` or 10. A slow or
    busy machine (a shared CI runner) can raise it without a configuration file."""
    value = os.environ.get("LSTMLINT_HARNESS_TIMEOUT", "")
    try:
        seconds = float(value)
    except ValueError:
        return 10.0
    return seconds if 0 < seconds < float("inf") else 10.0


def _selectors(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not _list_of_strings(value):
        raise ConfigError(
            f'{source}: {key} must be a list of rule codes, prefixes or names, e.g. ["LST1", "LST402"]; got {value!r}'
        )
    items = tuple(item.strip() for item in value)
    try:
        validate(items)
    except SelectionError as exc:
        raise ConfigError(f"{source}: {key}: {exc} (see lstmlint --list-rules)") from None
    return items


def _patterns(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not _list_of_strings(value) or any(not item.strip() for item in value):
        raise ConfigError(
            f'{source}: {key} must be a list of non-empty glob patterns, e.g. ["generated/", "*_old.py"]; got {value!r}'
        )
    return tuple(item.strip() for item in value)


def _bool(source: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be true or false; got {value!r}")
    return value


def _seconds(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{source}: {key} must be a positive number of seconds; got {value!r}")
    if value != value or value == float("inf"):
        raise ConfigError(f"{source}: {key} must be a finite number of seconds; got {value!r}")
    return float(value)


def _seconds_or_never(source: str, key: str, value: Any) -> float:
    """A number of seconds where 0 means "never"."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(
            f"{source}: {key} must be 0 (never) or a number of seconds; got {value!r}"
        )
    return _seconds(source, key, value)


def _confirm_mode(source: str, key: str, value: Any) -> str:
    if value is True:
        return "auto"
    if value is False:
        return "off"
    if value not in CONFIRM_MODES:
        raise ConfigError(
            f"{source}: {key} must be one of {', '.join(repr(m) for m in CONFIRM_MODES)}, "
            f"true or false; got {value!r}"
        )
    return value


def _jobs(source: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{source}: {key} must be a whole number of processes, 1 or more; got {value!r}"
        )
    return value


def _harness(source: str, key: str, value: Any) -> HarnessConfig:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {key} must be a table; got {value!r}")
    limits: dict[str, Any] = {}
    entries = []
    for name, item in value.items():
        if name == "timeout":
            limits["timeout"] = _seconds(source, f"{key}.timeout", item)
        elif name == "memory-mb":
            if isinstance(item, bool) or not isinstance(item, int) or item < 64:
                raise ConfigError(
                    f"{source}: {key}.memory-mb must be a whole number of MiB, 64 or more; got {item!r}"
                )
            limits["memory_mb"] = item
        elif name == "kind":
            if item not in HARNESS_KINDS:
                raise ConfigError(
                    f"{source}: {key}.kind must be one of {', '.join(map(repr, HARNESS_KINDS))}; got {item!r}"
                )
            entries.append((name, item))
        elif name == "params":
            if not _list_of_strings(item):
                raise ConfigError(f"{source}: {key}.params must be a list of names; got {item!r}")
            entries.append((name, tuple(item)))
        elif name in HARNESS_NAMES:
            if not isinstance(item, str) or not item.isidentifier():
                raise ConfigError(
                    f"{source}: {key}.{name} must be a function or class name; got {item!r}"
                )
            entries.append((name, item))
        else:
            known = ("timeout", "memory-mb", "kind", "params", *HARNESS_NAMES)
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                f"{source}: unknown key {key}.{name}{suggestion} (known keys: {', '.join(known)})"
            )
    return HarnessConfig(entries=tuple(entries), **limits)


HARNESS_KINDS = ("lossfun", "pair", "layer", "class")
HARNESS_NAMES = ("function", "forward", "backward", "init", "class")


def _per_file_ignores(source: str, key: str, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(
            f'{source}: {key} must be a table of glob = [codes], e.g. "notebooks/*.ipynb" = ["LST4"]; got {value!r}'
        )
    return tuple(
        (pattern, _selectors(source, f"{key}.{pattern!r}", codes))
        for pattern, codes in value.items()
    )


_KEYS = {
    "select": ("select", _selectors),
    "extend-select": ("extend_select", _selectors),
    "ignore": ("ignore", _selectors),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "exclude": ("exclude", _patterns),
    "extend-exclude": ("extend_exclude", _patterns),
    "force-exclude": ("force_exclude", _bool),
    "confirm": ("confirm", _confirm_mode),
    "confirm-timeout": ("confirm_timeout", _seconds),
    "repair-timeout": ("repair_timeout", _seconds_or_never),
    "show-refuted": ("show_refuted", _bool),
    "harness": ("harness", _harness),
    "fix": ("fix", _bool),
    "unsafe-fixes": ("unsafe_fixes", _bool),
    "jobs": ("jobs", _jobs),
    "cache": ("cache", _bool),
}
KNOWN_KEYS = tuple(_KEYS)


def parse_table(table: Any, source: str, path: Path | None, root: Path) -> FileConfig:
    """Check a ``[tool.lstmlint]`` table and turn it into a FileConfig."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source} must be a table; got {table!r}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            hint = difflib.get_close_matches(key.replace("_", "-"), KNOWN_KEYS, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                f"{source}: unknown key {key!r}{suggestion} (known keys: {', '.join(KNOWN_KEYS)})"
            )
        attribute, check = _KEYS[key]
        values[attribute] = check(source, key, value)
    return FileConfig(path=path, root=root, **values)


def _load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: it is not UTF-8 text") from None


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def load_file(path: Path) -> FileConfig:
    """Read an explicitly named configuration file (``--config``)."""
    path = path.absolute()
    if not path.is_file():
        raise ConfigError(f"{_display(path)}: no such configuration file")
    data = _load_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("lstmlint") if isinstance(data.get("tool"), dict) else None
        if table is None:
            raise ConfigError(f"{_display(path)} has no {TABLE} table")
        return parse_table(table, f"{_display(path)} {TABLE}", path, path.parent)
    return parse_table(data, _display(path), path, path.parent)


def _start(paths: list[str]) -> Path:
    folders = []
    for raw in paths:
        path = Path(raw).absolute()
        folders.append(path if path.is_dir() else path.parent)
    if not folders:
        return Path.cwd()
    try:
        return Path(os.path.commonpath([str(f) for f in folders]))
    except ValueError:  # different drives
        return folders[0]


def find_pyproject(paths: list[str]) -> Path | None:
    """The nearest pyproject.toml with a [tool.lstmlint] table, from the checked paths up."""
    start = _start(paths)
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            data = _load_toml(candidate)
            tool = data.get("tool")
            if isinstance(tool, dict) and "lstmlint" in tool:
                return candidate
    return None


def discover(paths: list[str], config: str | None = None, isolated: bool = False) -> FileConfig:
    if isolated:
        return FileConfig()
    if config is not None:
        return load_file(Path(config))
    found = find_pyproject(paths)
    if found is None:
        return FileConfig()
    data = _load_toml(found)
    return parse_table(data["tool"]["lstmlint"], f"{_display(found)} {TABLE}", found, found.parent)


# --- path patterns ----------------------------------------------------------------------------


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def path_matches(path: Path, pattern: str, root: Path) -> bool:
    """Whether a glob from the configuration covers ``path`` (absolute) or a folder above it.

    A pattern without a slash is matched against file and folder names at any depth; one with
    a slash against the path relative to ``root``. ``*`` also matches ``/``; a trailing slash
    is allowed; a folder that matches covers everything in it.
    """
    pattern = pattern.strip().removeprefix("./")
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.rstrip("/") or pattern
    if _relative(path, root) is None:  # outside the configuration's folder
        chain = [path, *path.parents] if pattern.startswith("/") else [path]
    else:
        chain = [path, *(p for p in path.parents if p != root and root in p.parents)]
    for candidate in chain:
        if pattern.startswith("/"):
            text = candidate.as_posix()
        elif anchored:
            text = _relative(candidate, root)
        else:
            text = candidate.name
        if text is not None and fnmatch.fnmatchcase(text, pattern):
            return True
    return False


def discovery_pattern(pattern: str, root: Path) -> str:
    """A configuration pattern in the form ``discovery.discover`` matches (absolute paths)."""
    pattern = pattern.strip().removeprefix("./")
    if "/" in pattern.rstrip("/") and not pattern.startswith("/"):
        return f"{root.absolute().as_posix()}/{pattern.rstrip('/')}"
    return pattern.rstrip("/") or pattern

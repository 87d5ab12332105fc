"""What a run is asked to do, resolved from the configuration and the command line.

It lives below everything that reads it (the runner, the cache, confirmation, the harness), so
none of them imports the command-line module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CONFIRM_MODES = ("auto", "exec", "reference", "off")


DEFAULT_REPAIR_TIMEOUT = 2.0


@dataclass
class Settings:
    """Everything a run needs, resolved from the configuration file and the command line."""

    paths: list[str]
    config_path: Path | None
    root: Path
    selection: object
    layers: dict[str, dict]
    per_file_ignores: list[tuple[str, tuple[str, ...]]]
    exclude: list[tuple[str, Path]]  # (pattern, the folder it is relative to)
    discovery_patterns: tuple[str, ...]  # the same, as discovery.discover matches them
    force_exclude: bool
    confirm: str  # one of CONFIRM_MODES
    confirm_timeout: float
    show_refuted: bool
    harness: object  # config.HarnessConfig: how to run the user's own code
    fix: bool
    unsafe_fixes: bool
    jobs: int | None  # None: the number of cores
    cache: bool
    warn_unused_noqa: bool
    sources: dict[str, str] = field(default_factory=dict)  # setting -> where its value came from
    repair_timeout: float = DEFAULT_REPAIR_TIMEOUT  # seconds of repair search a problem; 0: none


def cores() -> int:
    """The cores this process may run on (fewer than the machine's in a container)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1

"""Tables the scope walks of ``Flow`` share, and who read what of them.

A scope's walk is a function of what it reads from these tables (what callers pass in, what
callees return, what another method stored on ``self``). Each read is noted with the version it
saw, and a write that changes a value bumps that version, so a scope is walked again only when
something it read has changed since.
"""

from __future__ import annotations

from collections.abc import Hashable

_MISSING = object()


class Versions:
    def __init__(self) -> None:
        self._versions: dict[Hashable, int] = {}
        self.reading: dict[Hashable, int] | None = None  # the reads of the walk in progress

    def read(self, key: Hashable) -> None:
        if self.reading is not None and key not in self.reading:
            self.reading[key] = self._versions.get(key, 0)

    def changed(self, key: Hashable) -> None:
        self._versions[key] = self._versions.get(key, 0) + 1

    def stale(self, reads: dict[Hashable, int]) -> bool:
        """Something read at these versions has changed since."""
        versions = self._versions
        return any(versions.get(key, 0) != seen for key, seen in reads.items())


class SharedTable(dict):
    """A dict whose ``get`` and item reads are noted, and whose changing writes are versioned.
    Values are replaced, never mutated in place (a mutation would go unseen)."""

    def __init__(self, name: str, versions: Versions) -> None:
        super().__init__()
        self._name = name
        self._versions = versions

    def get(self, key, default=None):
        self._versions.read((self._name, key))
        return super().get(key, default)

    def __getitem__(self, key):
        self._versions.read((self._name, key))
        return super().__getitem__(key)

    def __setitem__(self, key, value) -> None:
        if super().get(key, _MISSING) != value:
            super().__setitem__(key, value)
            self._versions.changed((self._name, key))

    def setdefault(self, key, default=None):
        self._versions.read((self._name, key))
        if not super().__contains__(key):
            self[key] = default
        return super().__getitem__(key)

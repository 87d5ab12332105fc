from __future__ import annotations

from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="session")
def expected() -> dict:
    with open(FIXTURES / "expected.toml", "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(autouse=True)
def _no_shared_cache(request, monkeypatch) -> None:
    """No test reads results a previous test run left in the repository's cache folder; the
    tests of the cache and the runner use their own project folders."""
    if request.node.path.name not in ("test_cache.py", "test_runner.py"):
        monkeypatch.setenv("LSTMLINT_NO_CACHE", "1")

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


@pytest.fixture(autouse=True)
def _patient_harness(monkeypatch) -> None:
    """A busy test machine can take several times longer to check a file than a user's; tests
    of the time limit set their own in the configuration."""
    monkeypatch.setenv("LSTMLINT_HARNESS_TIMEOUT", "60")

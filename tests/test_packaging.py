"""The package list in pyproject.toml names every package the source tree has."""

from __future__ import annotations

from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_installed() -> None:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        listed = set(tomllib.load(handle)["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "lstmlint").rglob("__init__.py")
    }
    assert on_disk <= listed, sorted(on_disk - listed)
    assert "lstmlint.rules" in listed

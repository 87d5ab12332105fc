"""Every fixture yields exactly the findings listed for it in fixtures/expected.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from lstmlint.engine import check_file
from lstmlint.selection import Selection

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
with open(FIXTURES / "expected.toml", "rb") as _handle:
    EXPECTED = tomllib.load(_handle)


# Fixtures whose findings do not yet match the manifest, each for a stated reason. strict=True
# makes the test fail as soon as one starts to match, so this list can only shrink.
KNOWN_GAPS: dict[str, str] = {}


def _line_text(path: Path, cell: int | None, line: int) -> str:
    if cell is None:
        return path.read_text(encoding="utf-8").splitlines()[line - 1]
    notebook = json.loads(path.read_text(encoding="utf-8"))
    source = notebook["cells"][cell]["source"]
    text = "".join(source) if isinstance(source, list) else source
    return text.splitlines()[line - 1]


def test_every_fixture_is_listed() -> None:
    on_disk = {
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.suffix in (".py", ".ipynb")
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_manifest_points_at_real_lines(name: str) -> None:
    for finding in EXPECTED[name]["findings"]:
        text = _line_text(FIXTURES / name, finding.get("cell"), finding["line"])
        assert finding["text"] in text, (
            f"{name}: line {finding['line']} does not contain {finding['text']!r}"
        )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_GAPS[n], strict=True))
        if n in KNOWN_GAPS
        else n
        for n in sorted(EXPECTED)
    ],
)
def test_fixture_findings(name: str) -> None:
    result = check_file(FIXTURES / name, name, Selection())
    got = sorted((d.code, d.cell, d.line) for d in result.diagnostics)
    want = sorted((f["code"], f.get("cell"), f["line"]) for f in EXPECTED[name]["findings"])
    assert got == want

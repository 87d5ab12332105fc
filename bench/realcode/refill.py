"""Bring the files of the real-code corpus into bench/realcode/cache/.

    python bench/realcode/refill.py                  # every file not cached yet
    python bench/realcode/refill.py --check          # also check halves and hashes of cached files
    python bench/realcode/refill.py --mirror DIR     # git snapshots to read (default: $REALCODE_MIRROR)

A file is taken, in this order, from a git snapshot of its repository under the mirror folder
(`DIR/owner+name/repo` or `DIR/owner+name/repo/.git`, read with `git show COMMIT:PATH`), else
downloaded from GitHub at its commit. Every file's bytes must hash to the manifest's sha256; a
file that does not is not written. The cache is ignored by git: the corpus is other people's
code and is never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
CACHE = HERE / "cache"
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    """The manifest's entries."""
    return json.loads(path.read_text(encoding="utf-8"))["files"]


def half_of(repo: str) -> str:
    """The half a repository's files belong to: `test` when sha256(repo)'s first byte is odd."""
    return "test" if hashlib.sha256(repo.lower().encode()).digest()[0] % 2 else "dev"


def cached_path(entry: dict) -> Path:
    """Where an entry's file is kept in the cache."""
    return CACHE / (entry["id"] + Path(entry["path"]).suffix)


def _from_mirror(entry: dict, mirror: Path) -> bytes | None:
    base = mirror / entry["repo"].replace("/", "+") / "repo"
    for git_dir in (base / ".git", base):
        if (git_dir / "HEAD").is_file():
            shown = subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"{entry['commit']}:{entry['path']}"],
                capture_output=True,
            )
            if shown.returncode == 0:
                return shown.stdout
    return None


def _from_github(entry: dict) -> bytes | None:
    url = RAW_URL.format(repo=entry["repo"], commit=entry["commit"], path=entry["path"])
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except OSError:
        return None


def refill(entries: list[dict], mirror: Path | None, check: bool) -> int:
    """Fill the cache; returns the number of problems found."""
    CACHE.mkdir(exist_ok=True)
    problems = 0
    for entry in entries:
        target = cached_path(entry)
        if check and entry["half"] != half_of(entry["repo"]):
            print(f"{entry['id']}: half is {entry['half']}, the rule says {half_of(entry['repo'])}")
            problems += 1
        if target.exists() and not check:
            continue
        data = target.read_bytes() if target.exists() else None
        if data is None and mirror is not None:
            data = _from_mirror(entry, mirror)
        if data is None:
            data = _from_github(entry)
        if data is None:
            print(
                f"{entry['id']}: not found ({entry['repo']} {entry['commit'][:10]} {entry['path']})"
            )
            problems += 1
            continue
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            print(f"{entry['id']}: content differs from the manifest's sha256; not written")
            problems += 1
            continue
        if not target.exists():
            target.write_bytes(data)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=os.environ.get("REALCODE_MIRROR"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    entries = load_manifest()
    problems = refill(entries, args.mirror, args.check)
    cached = sum(cached_path(entry).exists() for entry in entries)
    print(f"{cached} of {len(entries)} files cached in {CACHE}; {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

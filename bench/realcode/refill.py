"""Bring the files of the real-code corpus into bench/realcode/cache/.

    python bench/realcode/refill.py                  # every file not cached yet
    python bench/realcode/refill.py --check          # also check halves and hashes of cached files
    python bench/realcode/refill.py --mirror DIR     # git snapshots to read (default: $REALCODE_MIRROR)
    python bench/realcode/refill.py --mirror DIR --find-siblings   # record each file's own modules

A file is taken, in this order, from a git snapshot of its repository under the mirror folder
(`DIR/owner+name/repo` or `DIR/owner+name/repo/.git`, read with `git show COMMIT:PATH`), else
downloaded from GitHub at its commit. Every file's bytes must hash to the manifest's sha256; a
file that does not is not written. The cache is ignored by git: the corpus is other people's
code and is never committed.

A file that imports modules of its own repository (`from common.functions import sigmoid`,
`from rnn_utils import *`) is kept with them, at their paths, under `cache/trees/ID/`, as the
user who runs lstmlint in that repository has them. `--find-siblings` records them in the
manifest's `siblings`: the modules lstmlint's check of the user's code would load, found by
lstmlint's own resolution in a checkout of the file's commit.
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
    if entry.get("siblings"):
        return CACHE / "trees" / entry["id"] / entry["path"]
    return CACHE / (entry["id"] + Path(entry["path"]).suffix)


def _git_dir(entry: dict, mirror: Path) -> Path | None:
    base = mirror / entry["repo"].replace("/", "+") / "repo"
    return next((d for d in (base / ".git", base) if (d / "HEAD").is_file()), None)


def _from_mirror(entry: dict, mirror: Path, path: str) -> bytes | None:
    git_dir = _git_dir(entry, mirror)
    if git_dir is None:
        return None
    shown = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{entry['commit']}:{path}"], capture_output=True
    )
    return shown.stdout if shown.returncode == 0 else None


def _from_github(entry: dict, path: str) -> bytes | None:
    url = RAW_URL.format(repo=entry["repo"], commit=entry["commit"], path=path)
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
            data = _from_mirror(entry, mirror, entry["path"])
        if data is None:
            data = _from_github(entry, entry["path"])
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
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        problems += _refill_siblings(entry, mirror)
    return problems


def _refill_siblings(entry: dict, mirror: Path | None) -> int:
    tree = CACHE / "trees" / entry["id"]
    for path in entry.get("siblings", []):
        target = tree / path
        if target.exists():
            continue
        data = _from_mirror(entry, mirror, path) if mirror is not None else None
        data = data if data is not None else _from_github(entry, path)
        if data is None:
            print(f"{entry['id']}: its module {path} was not found")
            return 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return 0


def find_siblings(entry: dict, mirror: Path) -> list[str]:
    """The repository's own modules the entry's file loads (transitively) when lstmlint checks
    its code, read from a checkout of the entry's commit."""
    import tempfile

    sys.path.insert(0, str(HERE.parents[1]))
    from lstmlint import harness
    from lstmlint.harness import extract
    from lstmlint.sources import UnreadableFile, read_document

    git_dir = _git_dir(entry, mirror)
    listing = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", "--name-only", entry["commit"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # only Python modules and the file itself: a snapshot's large files may be absent
    wanted = [p for p in listing.split("\0") if p.endswith(".py") or p == entry["path"]]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for path in wanted:
            data = _from_mirror(entry, mirror, path)
            if data is not None:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(data)
        file = root / entry["path"]
        try:
            reduced = extract.reduce_module(
                read_document(file, entry["path"]).text, file.parent, True
            )
        except (SyntaxError, ValueError, UnreadableFile):
            return []
        found = harness._siblings(reduced, file.parent, True)
        paths = [extract.sibling_file(module, file.parent) for module in found]
        return sorted({str(p.relative_to(root)) for p in paths if p is not None} - {entry["path"]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=os.environ.get("REALCODE_MIRROR"))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--find-siblings", action="store_true")
    args = parser.parse_args(argv)
    entries = load_manifest()
    if args.find_siblings:
        for entry in entries:
            entry.pop("siblings", None)
            siblings = find_siblings(entry, args.mirror)
            if siblings:
                entry["siblings"] = siblings
        text = json.dumps({"files": entries}, indent=1) + "\n"
        MANIFEST.write_text(text, encoding="utf-8")
    problems = refill(entries, args.mirror, args.check)
    cached = sum(cached_path(entry).exists() for entry in entries)
    print(f"{cached} of {len(entries)} files cached in {CACHE}; {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

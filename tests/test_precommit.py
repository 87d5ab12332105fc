"""The pre-commit hook, run by the real ``pre-commit try-repo`` against a temporary repository.

try-repo needs the hook's repository to be a git repository with the hook files committed, and
the working tree under test may hold uncommitted changes; so the project's working-tree files
(tracked and untracked, minus ignored ones) are copied into a temporary repository and
committed there. The user's repository is another temporary one holding the reviewed program:
the hook must fail on the buggy version and pass on the fixed one. Installing the hook's
environment takes pre-commit a while (a virtualenv and `pip install` of lstmlint with its
dependencies), once for both runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"
GIT = shutil.which("git")


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [
            GIT,
            "-c",
            "user.name=lstmlint tests",
            "-c",
            "user.email=tests@lstmlint.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def project_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("the project is not a git checkout, so its files cannot be listed")
    out = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def copy_project(destination: Path) -> Path:
    for name in project_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "lstmlint working tree", cwd=destination)
    return destination


def test_hook_definition() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit")
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "lstmlint"
    assert hook["language"] == "python"
    assert hook["types_or"] == ["python", "jupyter"]
    assert hook["require_serial"] is True
    assert hook["minimum_pre_commit_version"] == "2.9.2"
    assert hook["entry"].split()[0] == "lstmlint"


def test_pre_commit_try_repo(tmp_path: Path) -> None:
    pytest.importorskip(
        "pre_commit", reason="pre-commit is a test dependency (pip install '.[test]')"
    )
    if GIT is None:
        pytest.skip("git is not installed")
    hook_repo = copy_project(tmp_path / "lstmlint")
    user = tmp_path / "user"
    user.mkdir()
    git("init", "-q", cwd=user)
    for name in ("utils.py", "data.py"):
        shutil.copy(REVIEWED / name, user / name)
    shutil.copy(REVIEWED / "lstm_scratch.py", user / "model.py")
    git("add", "-A", cwd=user)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "PRE_COMMIT_COLOR": "never",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t.invalid",
    }
    command = [
        sys.executable,
        "-m",
        "pre_commit",
        "try-repo",
        str(hook_repo),
        "lstmlint",
        "--all-files",
        "--verbose",
    ]

    buggy = subprocess.run(
        command, cwd=user, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    output = buggy.stdout + buggy.stderr
    assert buggy.returncode == 1, output
    assert "lstmlint" in output and "Failed" in output
    assert "model.py:188:18: LST101" in output, output

    shutil.copy(REVIEWED / "lstm_scratch_fixed.py", user / "model.py")
    git("add", "-A", cwd=user)
    fixed = subprocess.run(
        command, cwd=user, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, output
    assert "Passed" in output


def readme_local_hook() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    [block] = [b for b in blocks if "repo: local" in b]
    return block


def test_local_hook_from_the_readme(tmp_path: Path) -> None:
    """The README's `repo: local` snippet, run by `pre-commit run` in the current environment."""
    pytest.importorskip(
        "pre_commit", reason="pre-commit is a test dependency (pip install '.[test]')"
    )
    if GIT is None:
        pytest.skip("git is not installed")
    scripts = str(Path(sys.executable).parent)
    path = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    if shutil.which("lstmlint", path=path) is None:
        pytest.skip("the lstmlint command is not installed in this environment")
    user = tmp_path / "user"
    user.mkdir()
    git("init", "-q", cwd=user)
    (user / ".pre-commit-config.yaml").write_text(readme_local_hook())
    for name in ("utils.py", "data.py"):
        shutil.copy(REVIEWED / name, user / name)
    shutil.copy(REVIEWED / "lstm_scratch.ipynb", user / "notebook.ipynb")
    git("add", "-A", cwd=user)
    env = {
        **os.environ,
        "PATH": path,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "PRE_COMMIT_COLOR": "never",
    }
    command = [sys.executable, "-m", "pre_commit", "run", "--all-files", "--verbose"]
    buggy = subprocess.run(
        command, cwd=user, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = buggy.stdout + buggy.stderr
    assert buggy.returncode == 1, output
    assert "notebook.ipynb:cell 12:51:18: LST101" in output

    shutil.copy(REVIEWED / "lstm_scratch_fixed.ipynb", user / "notebook.ipynb")
    git("add", "-A", cwd=user)
    fixed = subprocess.run(
        command, cwd=user, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr

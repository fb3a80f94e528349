"""`buf breaking` in `make test` compares the contract with what clients already have (the merge-base with
main), so a breaking change is caught however many commits come after it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.requires import unavailable

BUF = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
RESOURCES = Path("protos/opendental/sheets/v1/resources.proto")


def _git(repo: Path, *args: str) -> str:
    env = os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def branch(tmp_path: Path) -> Path:
    """A clone of this repository on a new branch off main, with the Google protos buf needs."""
    if BUF is None:
        unavailable("buf (PyPI buf-bin) is not installed")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        unavailable("not a git checkout")
    if not (ROOT / "build" / "protodeps").is_dir():
        unavailable("build/protodeps is missing: run `make check-gen` first")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    main = "origin/main" if _git(repo, "branch", "-r", "--list", "origin/main").strip() else "HEAD"
    _git(repo, "checkout", "-q", "-b", "feature", main)
    # What the branch forks from is `main` here, whatever this checkout calls it.
    _git(repo, "branch", "-f", "main", main)
    shutil.copytree(ROOT / "build" / "protodeps", repo / "build" / "protodeps")
    return repo


def _check(repo: Path) -> subprocess.CompletedProcess[str]:
    assert BUF
    return subprocess.run(
        ["tools/buf-breaking.sh", BUF], cwd=repo, capture_output=True, text=True, check=False, timeout=120
    )


def test_a_breaking_change_fails_even_after_an_unrelated_commit(branch: Path) -> None:
    proto = branch / RESOURCES
    lines = proto.read_text().splitlines(keepends=True)
    kept = [line for line in lines if "string internal_note = 5" not in line]
    assert len(kept) == len(lines) - 1
    proto.write_text("".join(kept))
    _git(branch, "commit", "-q", "-am", "drop a field")
    (branch / "README.md").write_text("unrelated\n")
    _git(branch, "commit", "-q", "-am", "an unrelated change")

    result = _check(branch)

    assert result.returncode != 0, result.stdout
    assert "internal_note" in result.stdout + result.stderr


def test_a_compatible_change_passes(branch: Path) -> None:
    (branch / "README.md").write_text("unrelated\n")
    _git(branch, "commit", "-q", "-am", "an unrelated change")

    result = _check(branch)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "compatible with" in result.stdout

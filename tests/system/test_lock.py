"""The install is the lock: `.venv` holds exactly requirements/lock.txt, and a pyproject.toml the lock no
longer matches stops `make test` at once, naming `make lock`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.support import ROOT

LOCK = ROOT / "requirements" / "lock.txt"
PROJECT = "open-dental-sheets"


def canonicalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked_versions() -> dict[str, set[str]]:
    """Every `name==version` of the lock (a name may have one version per Python, under markers)."""
    versions: dict[str, set[str]] = {}
    for found in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", LOCK.read_text(), flags=re.MULTILINE):
        versions.setdefault(canonicalize_name(found.group(1)), set()).add(found.group(2))
    return versions


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip(f"runs in the venv `make install` builds ({ROOT / '.venv'}), not in {sys.prefix}")
    locked = _locked_versions()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert installed.pop(PROJECT)
    unlocked = sorted(name for name in installed if name not in locked)
    assert not unlocked, f"installed but not in the lock: {unlocked}"
    drifted = {name: version for name, version in installed.items() if version not in locked[name]}
    assert not drifted, f"installed at versions the lock does not hold: {drifted}"
    assert "grpcio-tools" in installed


def _check_lock(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "check-lock", f"PYTHON={sys.executable}"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "lock.py", tmp_path / "tools")
    return tmp_path


def test_check_lock_passes_when_pyproject_and_the_lock_agree(project_copy: Path) -> None:
    result = _check_lock(project_copy)
    assert result.returncode == 0, result.stderr


def test_a_range_changed_without_relocking_fails_naming_make_lock(project_copy: Path) -> None:
    pyproject = project_copy / "pyproject.toml"
    text = pyproject.read_text()
    assert '"pytest>=8.3"' in text
    pyproject.write_text(text.replace('"pytest>=8.3"', '"pytest>=8.3.1"'))
    result = _check_lock(project_copy)
    assert result.returncode != 0
    assert "run 'make lock'" in result.stderr
    assert "pyproject.toml asks for   [dev] pytest>=8.3.1" in result.stderr
    assert "the lock was made for     [dev] pytest>=8.3" in result.stderr


def test_a_dependency_added_without_relocking_fails_naming_make_lock(project_copy: Path) -> None:
    pyproject = project_copy / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('  "tqdm>=4.66",\n', '  "tqdm>=4.66",\n  "attrs>=23",\n', 1))
    assert pyproject.read_text() != text
    result = _check_lock(project_copy)
    assert result.returncode != 0
    assert "run 'make lock'" in result.stderr
    assert "pyproject.toml asks for   attrs>=23" in result.stderr

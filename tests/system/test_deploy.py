"""deploy/: the systemd unit is one systemd accepts, and hardened."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.config.settings import Settings
from tests.support import ROOT

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "sheets.service"


def _unit_settings() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed: cannot check the unit")
    # The unit names the installed path; point it at this checkout's console script.
    sheets = Path(sys.executable).parent / "sheets"
    unit = tmp_path / "open-dental-sheets.service"
    unit.write_text(UNIT.read_text().replace("/opt/open-dental-sheets/.venv/bin/sheets", str(sheets)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    assert result.returncode == 0, result.stderr
    assert problems == []


def test_a_broken_unit_is_reported_by_the_same_check(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed: cannot check the unit")
    unit = tmp_path / "broken.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nProtectSystem=sometimes\n")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert unit.name in result.stdout + result.stderr


def test_the_unit_runs_unprivileged_with_only_its_data_folder_writable() -> None:
    unit = _unit_settings()
    for key, value in {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
        "StateDirectory": "open-dental-sheets",
    }.items():
        assert unit[key] == [value], key
    assert "SHEETS_DATA_DIR=/var/lib/open-dental-sheets" in unit["Environment"]
    # systemd gives up after TimeoutStopSec: calls in flight need the grace period within it.
    assert float(unit["TimeoutStopSec"][0]) > Settings().grace_seconds


def test_the_example_environment_names_only_real_settings() -> None:
    names = {f"SHEETS_{name.upper()}" for name in Settings.model_fields}
    given = [
        line.lstrip("#").split("=", 1)[0]
        for line in (DEPLOY / "sheets.env").read_text().splitlines()
        if line.lstrip("#").startswith("SHEETS_")
    ]
    assert given
    assert set(given) <= names
    for needed in ("SHEETS_DB_POOL_SIZE", "SHEETS_RENDER_WORKERS", "SHEETS_GRACE_SECONDS", "SHEETS_API_KEYS"):
        assert needed in given

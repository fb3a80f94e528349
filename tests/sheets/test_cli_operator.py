"""What an operator gets from the command line: `sheets config`, `--help`, progress, the banner."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from sheets.cli import _parser, main
from tests.support.processes import sheets
from tests.support.requires import SHEETDEF_FILES, open_dental_files

COMMANDS = ["serve", "gateway", "init-db", "import-sheetdef", "render", "seed-demo", "config"]


def test_every_command_is_listed_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    subcommands = next(a for a in _parser()._actions if a.dest == "command")
    assert sorted(subcommands.choices or {}) == sorted(COMMANDS)
    for command in ["", *COMMANDS]:
        with pytest.raises(SystemExit) as stopped:
            main([command, "--help"] if command else ["--help"])
        assert stopped.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: sheets")
        assert "SHEETS_" in out
        # A command's help describes it in a sentence, not only its usage line.
        assert len(out.split("\n\n")[1].split()) > 5, out


def test_config_shows_values_with_their_sources_and_masks_secrets(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_API_KEYS", "opsdev/very-secret-customer=read")
    monkeypatch.setenv("SHEETS_PAGE_LIMIT", "50")
    assert main(["--database-url", sqlite_url, "init-db"]) == 0
    capsys.readouterr()
    assert main(["--database-url", sqlite_url, "config"]) == 0
    out = capsys.readouterr().out
    assert "very-secret-customer" not in out
    settings = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("SHEETS_"))
    assert settings["SHEETS_API_KEYS"] == "opsdev/*** (read)  # environment"
    assert settings["SHEETS_PAGE_LIMIT"] == "50  # environment"
    assert settings["SHEETS_DATABASE_URL"].endswith("  # command line")
    assert settings["SHEETS_GRACE_SECONDS"] == "10.0  # default"
    present = next(line for line in out.splitlines() if line.startswith("# Open Dental tables present:"))
    assert {"sheet", "sheetfield", "sheetdef", "sheetfielddef", "patient"} <= set(
        present.split(": ", 1)[1].split(", ")
    )
    assert "font LiberationSans:" in out or "fonts missing: install" in out
    assert " prints: Latin=" in out
    assert (
        "# Sheet events table sheets_subscription: 0 subscription(s), 0 past DateTimeStop, "
        "0 whose last call failed, leased by 0 replica(s)"
    ) in out.splitlines()
    assert "# Sheet events: delivered every PollingSeconds, 1000 sheets a call at most, 10 s a call" in out


def test_config_masks_the_database_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+asyncpg://sheets:hunter2-db-pw@127.0.0.1:1/none"
    assert main(["--database-url", url, "config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2-db-pw" not in out
    assert "postgresql+asyncpg://sheets:***@127.0.0.1:1/none" in out
    assert "# Open Dental tables: the database cannot be read" in out


def _import(files: list[Path], url: str, *, terminal: bool) -> tuple[str, str]:
    args = [sys.executable, "-m", "sheets.cli", "--database-url", url, "import-sheetdef", *map(str, files)]
    if not terminal:
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    # A terminal of the usual size (a bare pty reports none).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        # Read while the process runs: what is left in a pty after it hangs up is lost.
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower) as process:
        out = process.stdout.read().decode() if process.stdout else ""
        assert process.wait() == 0
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    return out, b"".join(chunks).decode(errors="replace")


@open_dental_files
def test_import_of_many_files_shows_a_bar_on_a_terminal_and_plain_lines_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = [f"sqlite+aiosqlite:///{tmp_path / name}" for name in ("a.db", "b.db")]
    for url in urls:
        assert main(["--database-url", url, "init-db"]) == 0
    out, err = _import(SHEETDEF_FILES, urls[0], terminal=False)
    assert len(out.splitlines()) == len(SHEETDEF_FILES)
    assert all(": SheetDefNum " in line for line in out.splitlines())
    assert "importing" not in err
    assert "\r" not in err
    out, err = _import(SHEETDEF_FILES, urls[1], terminal=True)
    assert len(out.splitlines()) == len(SHEETDEF_FILES)
    assert "importing" in err
    assert f"0/{len(SHEETDEF_FILES)} " in err


async def test_serve_prints_a_banner_with_addresses_commands_data_and_auth(tmp_path: Path) -> None:
    async with sheets("serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", data_dir=tmp_path) as (
        process,
        (grpc_port, http_port),
    ):
        assert process.stdout
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Stop with Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "serve ended before its banner"
            lines.append(line.decode().rstrip())
    banner = "\n".join(lines)
    assert f"http://127.0.0.1:{http_port}/api/v1" in banner
    assert f"http://127.0.0.1:{http_port}/readyz" in banner
    assert f'curl -s "http://127.0.0.1:{http_port}/api/v1/sheets?PatNum=1"' in banner
    assert f"grpcurl -plaintext -d '{{\"PatNum\": 1}}' 127.0.0.1:{grpc_port} " in banner
    assert f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}" in banner
    assert "auth     off" in banner
    assert len(lines) <= 24


async def test_serve_starts_without_a_python_warning(tmp_path: Path) -> None:
    """An operator's first screen is the banner: no dependency's warning (shown as Python shows them by
    default, and DeprecationWarnings too) comes before it, in the output or the logs."""
    logs = tmp_path / "serve.log"
    async with sheets(
        "serve",
        "--grpc",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        data_dir=tmp_path,
        env={"PYTHONWARNINGS": "default"},
        stderr=logs,
    ) as (process, _ports):
        assert process.stdout
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Stop with Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "serve ended before its banner"
            lines.append(line.decode().rstrip())
    output = "\n".join(lines) + "\n" + logs.read_text()
    assert "is serving" in output
    assert "py.warnings" not in output
    assert "Warning:" not in output

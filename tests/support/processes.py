"""`sheets` commands as real processes, the way an operator runs them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

PORT = re.compile(rb"\(port (\d+)\)")


def log_path(data_dir: Path, command: str) -> Path:
    """Where `sheets(command, data_dir=…)` writes its logs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / f"{command}.log"


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (field 3), or None once there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def started(pid: int) -> str | None:
    """When process PID started (clock ticks since boot), telling it from a later one given its pid."""
    fields = _stat(pid)
    return None if fields is None else fields[19]


def running(pid: int, start: str) -> bool:
    """Whether the process that started at `start` as PID still runs (a zombie does not)."""
    fields = _stat(pid)
    return fields is not None and fields[19] == start and fields[0] not in "ZX"


def children(pid: int) -> list[int]:
    """The processes whose parent is PID, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    """PID's command line, spaces for its NULs; empty once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


async def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL a `sheets` process and whatever else is left in its process group.

    Its render workers end by themselves once it is gone (`service.render.pool.exit_with`);
    the group is killed as well so that a worker that did not cannot hold the stdout pipe
    open, and with it `wait()`, which returns only once that pipe is closed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


@asynccontextmanager
async def sheets(
    *args: str,
    data_dir: Path,
    env: dict[str, str] | None = None,
    python: tuple[str, ...] = (),
    stderr: Path | None = None,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[int]]]:
    """Run `sheets ARGS` (with `python` options for the interpreter) and wait for the ports it reports.

    Its stderr (the logs) goes to `stderr`, else to `log_path(data_dir, ARGS[0])`:
    a pipe nobody reads would fill and stall the process.
    """
    env = os.environ | {"SHEETS_DATA_DIR": str(data_dir)} | (env or {})
    env.pop("SHEETS_API_KEYS", None)
    with (stderr or log_path(data_dir, args[0])).open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *python,
            "-m",
            "sheets.cli",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
            # Its own process group, so that `kill` takes whatever it started with it.
            start_new_session=True,
        )
    assert process.stdout
    ports: list[int] = []
    try:
        expected = 1 if args[0] == "gateway" or "--no-gateway" in args else 2
        while len(ports) < expected:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the process ended before it listened"
            found = PORT.search(line)
            if found:
                ports.append(int(found.group(1)))
        yield process, ports
    finally:
        await kill(process)

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


async def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL a `sheets` process and its render workers, which share its stdout.

    `wait()` returns only once the stdout pipe is closed, that is once the workers are gone too.
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
            # Its own process group, so the render workers (which share its stdout) go with it.
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

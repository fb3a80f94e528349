"""Throwaway PostgreSQL and MariaDB servers, for tests that stop and start
their database: a temp folder, a free loopback port, the machine's own binaries
(`initdb`/`postgres` run as user postgres; `mariadb-install-db`/`mariadbd`).
The shared servers are never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.requires import unavailable

LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the database server exited with {process.returncode}")  # see _retried
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout:.0f} s")


def _retried(step: Callable[[], None], leftovers: Path | None = None, attempts: int = 3) -> None:
    """Run a server's init or start step, again if the binary died of a signal.

    On this kind of machine a database binary now and then dies of SIGSEGV while
    starting under load; a second start succeeds, and the test is about the
    service, not about that.
    """
    for attempt in range(1, attempts + 1):
        try:
            step()
            return
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            died = isinstance(exc, RuntimeError) or exc.returncode < 0
            if not died or attempt == attempts:
                raise
            if leftovers is not None:
                shutil.rmtree(leftovers, ignore_errors=True)
            time.sleep(0.5)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


class PostgresServer:
    """A PostgreSQL cluster of its own, run as user postgres, trust auth on loopback.

    `data_dir` puts the data directory elsewhere (an empty folder the postgres user
    owns, a small filesystem), its write-ahead log staying in the server's folder.
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
        if not initdb or not postgres:
            unavailable("PostgreSQL's initdb/postgres are not installed")
        try:
            self._user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("there is no postgres user to run a throwaway PostgreSQL server")
        if os.geteuid() != 0 and os.geteuid() != self._user.pw_uid:
            unavailable("a throwaway PostgreSQL server needs root or the postgres user")
        self._initdb, self._postgres = initdb, postgres
        self._process: subprocess.Popen[bytes] | None = None
        # Not under pytest's tmp_path: its folders are private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="sheets-pg-"))
        os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        self.data = data_dir or self.folder / "data"
        self._wal = ("--waldir", str(self.folder / "wal")) if data_dir is not None else ()
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@{LOOPBACK}:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            args,
            check=True,
            capture_output=True,
            user=self._user.pw_uid,
            group=self._user.pw_gid,
            cwd=self.folder,
            timeout=120,
        )

    def init(self) -> None:
        _retried(self._init_once, self.data)

    def _init_once(self) -> None:
        self._run(
            self._initdb,
            "-D",
            str(self.data),
            *self._wal,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        _retried(self._start_once)

    def _start_once(self) -> None:
        with (self.folder / "server.log").open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self._postgres,
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.folder),
                    "-c",
                    f"listen_addresses={LOOPBACK}",
                    "-c",
                    "fsync=off",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                user=self._user.pw_uid,
                group=self._user.pw_gid,
                cwd=self.folder,
            )
        _wait_for_port(self.port, 30, self._process)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT), as a crash or an operator's `pg_ctl -m immediate` would."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGQUIT)
            self._process.wait(timeout=30)
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class MariaDbServer:
    """A MariaDB server of its own on a free loopback port (grant checks off: nothing else can reach it).

    `data_dir` puts the data directory elsewhere (an empty folder, a small filesystem).
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        install, server = (
            shutil.which("mariadb-install-db"),
            shutil.which("mariadbd")
            or ("/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None),
        )
        if not install or not server:
            unavailable("MariaDB's mariadb-install-db/mariadbd are not installed")
        self._install, self._server = install, server
        self.folder = Path(tempfile.mkdtemp(prefix="sheets-mariadb-"))
        self.data = data_dir or self.folder / "data"
        self.port = _free_port()
        self.url = f"mysql+asyncmy://root@{LOOPBACK}:{self.port}/sheets"
        self._process: subprocess.Popen[bytes] | None = None

    def _user(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def init(self) -> None:
        _retried(self._init_once, self.data)

    def _init_once(self) -> None:
        subprocess.run(
            [
                self._install,
                "--no-defaults",
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._user(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        _retried(self._start_once)

    def _start_once(self) -> None:
        self._process = subprocess.Popen(
            [
                self._server,
                "--no-defaults",
                f"--datadir={self.data}",
                f"--port={self.port}",
                f"--bind-address={LOOPBACK}",
                f"--socket={self.folder / 'mariadb.sock'}",
                f"--pid-file={self.folder / 'mariadb.pid'}",
                f"--log-error={self.folder / 'error.log'}",
                "--skip-grant-tables",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                # Each commit's log reaches the OS at once: a SIGKILL (`stop`) loses nothing
                # committed, as with Open Dental's durable settings (0 lost the last second).
                "--innodb-flush-log-at-trx-commit=2",
                *self._user(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 60, self._process)
        # The service's own database (utf8mb4, as Open Dental's are), made once.
        if not (self.data / "sheets").exists():
            asyncio.run(_create_mysql_database(self.url))

    def stop(self) -> None:
        """Kill the server outright (SIGKILL), as a crash would."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


async def _create_mysql_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_async_engine(parsed.set(database="mysql"))
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"CREATE DATABASE {parsed.database} CHARACTER SET utf8mb4")
    finally:
        await admin.dispose()


@contextlib.contextmanager
def throwaway_server(kind: str) -> Iterator[PostgresServer | MariaDbServer]:
    """A started server of `kind` ("postgres" or "mysql"), removed afterwards."""
    server: PostgresServer | MariaDbServer = PostgresServer() if kind == "postgres" else MariaDbServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()

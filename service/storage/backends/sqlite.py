"""SQLite on aiosqlite: the embedded database (a file under the data directory).

Three kinds of connection, each set up here once: the engine's (the writers: WAL, a
busy timeout, BEGIN issued by us), and the read-only readers of the serving process
(`SqliteReaders`) and of the render workers (`connect_reader`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.storage.backends.base import Backend, Rows

BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 2
# Messages of an OperationalError that is the statement's fault, not the database's.
_REFUSALS = ("no such column", "has no column", "constraint failed", "datatype mismatch")


def owns(error: object) -> bool:
    """Whether the error is the sqlite3 module's."""
    return type(error).__module__.startswith("sqlite3")


def is_refusal(error: object) -> bool:
    """Whether an OperationalError names the statement's fault (a missing column, a constraint)."""
    message = str(error).lower()
    return any(text in message for text in _REFUSALS)


def capacity_condition(error: sqlite3.Error) -> str | None:
    """`disk_full` when the database or its disk is full, else None."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return "disk_full" if code & 0xFF == sqlite3.SQLITE_FULL else None
    return "disk_full" if "database or disk is full" in str(error) else None


def configure_writer(dbapi_connection: Any) -> None:
    """A connection of the engine's pool: WAL lets readers run beside a writer; the busy
    timeout makes concurrent writers wait for each other instead of failing."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # We emit BEGIN ourselves (`SQLite.create_engine`), so the driver must not.
    dbapi_connection.isolation_level = None


def connect_reader(database: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A read-only connection to a database file, waiting up to `busy_timeout_ms` for a lock.

    Usable from any thread (its users keep it to one at a time); BEGIN only where its user
    asks for a read transaction.
    """
    uri = f"{Path(database).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    conn.execute("PRAGMA query_only=ON")
    return conn


class SQLite(Backend):
    name = "sqlite"
    driver = "aiosqlite"
    embedded = True
    runs_on_driver_thread = True

    def create_engine(self, url: sa.URL, **kwargs: Any) -> AsyncEngine:
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Transactions end themselves (commit, or rollback on close), and a read
        # outside one leaves nothing to reset: skip the ROLLBACK on every return.
        kwargs.setdefault("pool_reset_on_return", None)
        # Each SQLite connection is a thread of aiosqlite's plus its PRAGMAs: keep a
        # fixed set open and let callers queue for one, rather than open and close
        # overflow connections under load.
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", BUSY_TIMEOUT_MS / 1000)
        # aiosqlite logs every statement with its parameters at DEBUG: patient data, and a
        # subscription's customer key and secret. Never, whatever the service's log level.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        engine = create_async_engine(url, **kwargs)

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            configure_writer(dbapi_connection)

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            # A write transaction takes the write lock up front: a deferred one that
            # reads first fails at once (SQLITE_BUSY) instead of waiting when
            # another writer got in between.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    async def fetch(self, driver: Any, sql: str, params: Sequence[Any]) -> Rows:
        rows: Rows = await driver.execute_fetchall(sql, params)
        return rows

    def write_options(self, *, snapshot: bool) -> dict[str, Any]:
        # The write lock up front (see `create_engine`): a snapshot besides.
        return {"sqlite_immediate": True}

    def driver_thread_call(self, driver: Any) -> Callable[..., Awaitable[Any]] | None:
        """aiosqlite's way of running a function on its connection's thread (SQLAlchemy's
        adapter uses the same queue), or None for a version without one."""
        execute = getattr(driver, "_execute", None)
        return execute if callable(execute) and hasattr(driver, "_conn") else None


SQLITE = SQLite()


class SqliteReaders:
    """A read-only SQLite connection of the service's own, for prepared reads,
    run on the event loop's thread.

    Checking a connection out of SQLAlchemy's async pool and back costs about
    three times the query itself on SQLite, and handing a query to aiosqlite's
    thread and waking the loop for its answer about as much again. The reads run
    here are bounded (an indexed key, a page of at most the page limit), and in
    WAL mode a reader never waits for a writer: the connection does not wait
    at all (busy timeout 0), and in the rare moment SQLite answers BUSY (a WAL
    being recovered) the read runs again in a thread that may wait.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SqliteReaders | None:
        """Readers for a file-backed aiosqlite engine; None for every other engine."""
        database = engine.url.database
        if not SQLITE.runs(engine.dialect) or not database or database == ":memory:":
            return None
        return cls(database)

    def _read_waiting(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn = connect_reader(self._database)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def fetch(self, sql: str, params: Sequence[Any]) -> Rows:
        if self._closed:
            raise RuntimeError("the SQLite readers are closed")
        if self._conn is None:
            self._conn = connect_reader(self._database, busy_timeout_ms=0)
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        return await asyncio.to_thread(self._read_waiting, sql, params)

    async def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

"""Prepared reads: the hot queries, compiled once, run on the driver's own
connection in one round trip.

Through SQLAlchemy's execution layer a one-query read costs several hops to
the driver (BEGIN, execute, fetch, ROLLBACK) and rebuilds its statement on
every call; most of ListSheets' time went there. A PreparedRead is compiled
once for the engine's dialect and run with the driver's fetch call on a
connection checked out of the same pool. Rows come back with the driver's
types (see `service.vocab.datetime_parts`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from service.storage.coalesce import Coalescer
from service.storage.errors import is_outage

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_Fetch = Callable[[Any, str, Sequence[Any]], Awaitable[Sequence[Sequence[Any]]]]


async def _fetch_aiosqlite(driver: Any, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
    rows: Sequence[Sequence[Any]] = await driver.execute_fetchall(sql, params)
    return rows


async def _fetch_asyncpg(driver: Any, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
    rows: Sequence[Sequence[Any]] = await driver.fetch(sql, *params)
    return rows


async def _fetch_asyncmy(driver: Any, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
    async with driver.cursor() as cursor:
        await cursor.execute(sql, params)
        rows: Sequence[Sequence[Any]] = await cursor.fetchall()
    return rows


# Prepared reads in flight on one engine's pool, at most its size (see `_read_slots`).
_SLOTS: weakref.WeakKeyDictionary[sa.Engine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _read_slots(engine: AsyncEngine) -> asyncio.Semaphore | None:
    """The engine's prepared reads wait for one of the pool's own connections rather
    than open overflow ones: a read is one round trip, and under many calls in
    flight overflow connections were opened and closed again as load came and
    went (on PostgreSQL a connect costs many reads). None for a pool without a
    fixed size."""
    sync = engine.sync_engine
    slots = _SLOTS.get(sync)
    if slots is None:
        size = getattr(sync.pool, "size", None)
        if not callable(size) or not callable(getattr(sync.pool, "timeout", None)):
            return None
        slots = _SLOTS[sync] = asyncio.Semaphore(max(int(size()), 1))
    return slots


_FETCH: dict[str, _Fetch] = {
    "aiosqlite": _fetch_aiosqlite,
    "asyncpg": _fetch_asyncpg,
    "asyncmy": _fetch_asyncmy,
}


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
        if engine.dialect.driver != "aiosqlite" or not database or database == ":memory:":
            return None
        return cls(database)

    def _open(self, busy_timeout_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self._database, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        conn.execute("PRAGMA query_only=ON")
        return conn

    def _read_waiting(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn = self._open(_SQLITE_BUSY_TIMEOUT_MS)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        if self._closed:
            raise RuntimeError("the SQLite readers are closed")
        if self._conn is None:
            self._conn = self._open(0)
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


class CompiledRead(NamedTuple):
    """A SELECT compiled for one dialect: its SQL, its parameters' order and defaults (picklable)."""

    sql: str
    order: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, statement: sa.Select[Any], dialect: sa.Dialect) -> CompiledRead:
        compiled = statement.compile(dialect=dialect)
        return cls(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))

    def bind(self, **params: Any) -> tuple[str, list[Any]]:
        """The SQL and its positional parameters, for a DB-API `execute`."""
        values = self.defaults | params
        return self.sql, [values[name] for name in self.order]


class PreparedRead:
    """One SELECT with named bind parameters, ready to run on `engine`
    (or on `readers`, where the engine is SQLite's)."""

    def __init__(
        self, engine: AsyncEngine, statement: sa.Select[Any], readers: SqliteReaders | None = None
    ) -> None:
        self.compiled = CompiledRead.of(statement, engine.dialect)
        self._engine = engine
        self._readers = readers
        fetch = _FETCH.get(engine.dialect.driver)
        if fetch is None:
            raise ValueError(f"no prepared reads for the {engine.dialect.driver} driver")
        self._fetch = fetch
        # Identical reads in flight at once share a query (on a pool of fixed size).
        self._coalescer = Coalescer()

    @property
    def coalesced(self) -> int:
        """Reads answered by a query another read started."""
        return self._coalescer.joined

    async def fetch(self, **params: Any) -> Sequence[Sequence[Any]]:
        """All rows, as the driver returns them.

        A connection found dead (the database restarted, or dropped it) is
        replaced with every other of its generation, and the read, which
        changes nothing, runs once more on a new one; a database that is down
        fails that second connect (an outage, as SQLAlchemy raises it).
        """
        sql, ordered = self.compiled.bind(**params)
        if self._readers is not None:
            return await self._readers.fetch(sql, ordered)
        try:
            return await self._fetch_once(sql, ordered)
        except sa.exc.OperationalError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._fetch_once(sql, ordered)

    async def _fetch_once(self, sql: str, ordered: Sequence[Any]) -> Sequence[Sequence[Any]]:
        slots = _read_slots(self._engine)
        if slots is None:
            return await self._fetch_on_connection(sql, ordered)
        key = tuple(ordered)
        try:
            hash(key)
        except TypeError:  # a parameter that cannot be a key (a list)
            return await self._fetch_in_slot(slots, sql, ordered)

        async def send() -> Sequence[Sequence[Any]]:
            try:
                return await self._fetch_on_connection(sql, ordered)
            finally:
                slots.release()

        return await self._coalescer.read(key, slots.locked, lambda: self._acquire(slots), send)

    async def _fetch_in_slot(
        self, slots: asyncio.Semaphore, sql: str, ordered: Sequence[Any]
    ) -> Sequence[Sequence[Any]]:
        await self._acquire(slots)
        try:
            return await self._fetch_on_connection(sql, ordered)
        finally:
            slots.release()

    async def _acquire(self, slots: asyncio.Semaphore) -> None:
        if not slots.locked():
            await slots.acquire()  # at once: no timer to arm
            return
        # As long as a checkout may wait for a connection of a full pool, then as it fails.
        wait = self._engine.sync_engine.pool.timeout()  # type: ignore[attr-defined]
        try:
            async with asyncio.timeout(wait):
                await slots.acquire()
        except TimeoutError:
            raise sa.exc.TimeoutError(
                f"no connection for a read within {wait:g} s: all the pool's are in use"
            ) from None

    async def _fetch_on_connection(self, sql: str, ordered: Sequence[Any]) -> Sequence[Sequence[Any]]:
        # Straight from the pool (its checkout, checkin and reset events run as
        # ever), without a SQLAlchemy Connection around it: the read is the
        # driver's alone.
        sync = self._engine.sync_engine
        pool = sync.pool
        raw = await greenlet_spawn(_checkout, sync)
        try:
            rows = await self._fetch(raw.driver_connection, sql, ordered)
        except BaseException as exc:
            # The driver's own error, unwrapped: one that says the database went
            # away drops the connection, and those pooled before it, and reads as
            # SQLAlchemy's would.
            gone = isinstance(exc, Exception) and _is_disconnect(exc)
            if gone:
                await greenlet_spawn(pool._invalidate, raw, exc)
            await asyncio.shield(greenlet_spawn(raw.close))
            if gone:
                raise sa.exc.OperationalError(sql, None, exc, connection_invalidated=True) from None
            raise
        await greenlet_spawn(raw.close)
        return rows


def _checkout(engine: sa.Engine) -> PoolProxiedConnection:
    """A connection from the engine's pool; a failure to connect raised as
    SQLAlchemy's Connection raises it (a DBAPIError around the driver's)."""
    dialect = engine.dialect
    try:
        return engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(
            None,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=dialect.is_disconnect(exc, None, None),
            dialect=dialect,
        ) from exc


def _is_disconnect(error: Exception) -> bool:
    """Whether the driver's own error means the database cannot serve: the one rule
    (`service.storage.errors.is_outage`) that SQLAlchemy's errors are judged by too."""
    return is_outage(error)

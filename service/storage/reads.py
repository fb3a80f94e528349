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
import weakref
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from service.storage import backends
from service.storage.backends.sqlite import SqliteReaders
from service.storage.coalesce import Coalescer
from service.storage.compiled import CompiledRead
from service.storage.errors import is_outage

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


class PreparedRead:
    """One SELECT with named bind parameters, ready to run on `engine`
    (or on `readers`, where the engine is SQLite's)."""

    def __init__(
        self,
        engine: AsyncEngine,
        statement: sa.Select[Any],
        readers: SqliteReaders | None = None,
        *,
        share: bool = True,
    ) -> None:
        self.compiled = CompiledRead.of(statement, engine.dialect)
        self._engine = engine
        self._readers = readers
        backend = backends.of(engine.dialect)
        if not backend.runs(engine.dialect):
            raise ValueError(f"no prepared reads on {engine.url.drivername}, only on {backend.driver}")
        self._fetch = backend.fetch
        # Identical reads in flight at once share a query (on a pool of fixed size).
        self._coalescer = Coalescer()
        self._share = share

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
        if not self._share:
            return await self._fetch_in_slot(slots, sql, ordered)
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
            gone = isinstance(exc, Exception) and is_outage(exc)
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

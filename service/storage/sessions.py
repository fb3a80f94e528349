"""Write transactions whose statements are built once: run on SQLAlchemy's
connection, or on SQLite in a single hop to the driver's thread.

Through SQLAlchemy on aiosqlite every statement costs several hops to the
driver's thread and back (a cursor, the execute, the fetch, the close), each
waking the event loop; a create's ten statements cost about forty. Here the
work of a transaction is an `async def` taking a `Session`; on aiosqlite the
whole of it, BEGIN to COMMIT, runs on the driver's own thread as one call
(its awaits on the session never suspend there), and everywhere else it runs
on the event loop over SQLAlchemy's connection, as before.

Statements are `Query`s built once and compiled once per dialect. A query's
rows come back as tuples in its columns' order, converted by the columns'
types as SQLAlchemy would, or, for a `raw` query, exactly as the driver
returns them (values to copy back into another row untouched).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.storage import backends, compiled
from service.storage.db import write_transaction

_T = TypeVar("_T")


class Query:
    """A SELECT with named bind parameters, built once (hashable by identity)."""

    __slots__ = ("__weakref__", "raw", "statement")

    def __init__(self, statement: sa.Select[Any], *, raw: bool = False) -> None:
        self.statement = statement
        self.raw = raw


def _rows_insert(
    dialect: sa.Dialect,
    table: sa.Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any],
) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT of rows (`names`' values, then the constants'), and each row's
    parameters, the constants as the driver takes them ending each."""
    sql, processors = compiled.insert(dialect, table, (*names, *constants))
    tail = compiled.bound(processors[len(names) :], tuple(constants.values()))
    return sql, [(*row, *tail) for row in rows]


class Session(Protocol):
    """The statements a transaction runs (see the module's docstring)."""

    @property
    def dialect(self) -> sa.Dialect: ...

    def rows(self, query: Query, **params: Any) -> Awaitable[list[tuple[Any, ...]]]:
        """The query's rows as tuples (see `Query`)."""

    def insert(self, table: sa.Table, values: Mapping[str, Any]) -> Awaitable[int]:
        """Insert one row of Python values; its new key."""

    def insert_rows(
        self,
        table: sa.Table,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: Mapping[str, Any],
    ) -> Awaitable[None]:
        """Insert rows in one executemany: each the driver's own values of `names`
        (as a raw query returns them), then the Python values of `constants`."""

    def run(self, sql: str, params: Sequence[Any]) -> Awaitable[None]:
        """Run SQL of the caller's own (the dialect's markers: `compiled.placeholders`) with the
        driver's values."""

    def execute(self, statement: sa.ClauseElement) -> Awaitable[None]:
        """Run a statement whose values are all in it (an UPDATE)."""


class AlchemySession:
    """A session over SQLAlchemy's connection (MariaDB/MySQL, PostgreSQL)."""

    __slots__ = ("connection",)

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    @property
    def dialect(self) -> sa.Dialect:
        return self.connection.dialect

    async def rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        if query.raw:
            statement = compiled.compiled(query.statement, self.dialect, True)
            result = await self.connection.exec_driver_sql(statement.sql, tuple(statement.parameters(params)))
        else:
            result = await self.connection.execute(query.statement, params)
        return [tuple(row) for row in result]

    async def insert(self, table: sa.Table, values: Mapping[str, Any]) -> int:
        result = await self.connection.execute(sa.insert(table).values(dict(values)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def insert_rows(
        self,
        table: sa.Table,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: Mapping[str, Any],
    ) -> None:
        if not rows:
            return
        await self.connection.exec_driver_sql(*_rows_insert(self.dialect, table, names, rows, constants))

    async def run(self, sql: str, params: Sequence[Any]) -> None:
        await self.connection.exec_driver_sql(sql, tuple(params))

    async def execute(self, statement: sa.ClauseElement) -> None:
        await self.connection.execute(statement)  # type: ignore[call-overload]


class SqliteSession:
    """A session on aiosqlite's own sqlite3 connection, used on its thread.

    Its methods never suspend: a transaction's work over it runs to its end
    in one call (`run_inline`).
    """

    __slots__ = ("_conn", "_dialect")

    def __init__(self, conn: sqlite3.Connection, dialect: sa.Dialect) -> None:
        self._conn = conn
        self._dialect = dialect

    @property
    def dialect(self) -> sa.Dialect:
        return self._dialect

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        statement = compiled.compiled(query.statement, self._dialect, query.raw)
        rows = self._conn.execute(statement.sql, statement.parameters(params)).fetchall()
        return statement.convert(rows)

    async def insert(self, table: sa.Table, values: Mapping[str, Any]) -> int:
        sql, processors = compiled.insert(self._dialect, table, tuple(values))
        bound = compiled.bound(processors, tuple(values.values()))
        return int(self._conn.execute(sql, bound).lastrowid or 0)

    async def insert_rows(
        self,
        table: sa.Table,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        constants: Mapping[str, Any],
    ) -> None:
        if not rows:
            return
        self._conn.executemany(*_rows_insert(self._dialect, table, names, rows, constants))

    async def run(self, sql: str, params: Sequence[Any]) -> None:
        """Run SQL of the caller's own with the driver's values."""
        self._conn.execute(sql, params)

    async def execute(self, statement: sa.ClauseElement) -> None:
        once = compiled.compiled(statement, self._dialect, True)
        self._conn.execute(once.sql, once.parameters({}))


def run_inline(work: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends to its end, here and now."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    work.close()
    raise RuntimeError("a transaction's work suspended on SQLite's thread: only Session calls may be awaited")


def _wrapped(exc: sqlite3.Error, dialect: sa.Dialect, *, invalidated: bool = False) -> BaseException:
    """The driver's error as SQLAlchemy's execution raises it (callers tell outages from refusals alike)."""
    return sa.exc.DBAPIError.instance(
        None,
        None,
        exc,
        sqlite3.Error,
        hide_parameters=True,
        connection_invalidated=invalidated or dialect.is_disconnect(exc, None, None),  # type: ignore[arg-type]
        dialect=dialect,
    )


class _Abandoned(Exception):
    """The caller stopped waiting (cancelled, or its deadline passed) before the commit."""


def _sqlite_transaction(
    conn: sqlite3.Connection,
    dialect: sa.Dialect,
    work: Callable[[Session], Coroutine[Any, Any, _T]],
    abandoned: threading.Event,
) -> _T:
    """On aiosqlite's thread: BEGIN IMMEDIATE (the write lock up front), the work, COMMIT;
    on any failure ROLLBACK (a connection that cannot roll back is to be dropped).

    Cancelling the caller cannot stop a call already on the thread: `abandoned`
    says it went away, and then nothing commits (as closing SQLAlchemy's
    connection rolled back mid-transaction)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise _wrapped(exc, dialect) from exc
    try:
        result = run_inline(work(SqliteSession(conn, dialect)))
        if abandoned.is_set():
            raise _Abandoned
        conn.execute("COMMIT")
    except BaseException as failure:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise _wrapped(exc, dialect, invalidated=True) from failure
        if isinstance(failure, sqlite3.Error):
            raise _wrapped(failure, dialect) from failure
        raise
    return result


async def run_transaction(
    engine: AsyncEngine,
    work: Callable[[Session], Coroutine[Any, Any, _T]],
    *,
    snapshot: bool = False,
) -> _T:
    """`work(session)` in one write transaction: all of it commits, or none of it.

    With `snapshot`, every read sees the database as of the first (PostgreSQL runs
    REPEATABLE READ; InnoDB's default and SQLite's write lock already do).
    On aiosqlite the whole transaction is one call on the driver's thread.
    """
    backend = backends.of(engine.dialect)
    if backend.runs_on_driver_thread and backend.runs(engine.dialect):
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            call = backend.driver_thread_call(driver)
            if call is not None:
                abandoned = threading.Event()
                try:
                    return await call(  # type: ignore[no-any-return]
                        lambda: _sqlite_transaction(driver._conn, engine.dialect, work, abandoned)  # type: ignore[union-attr]
                    )
                except asyncio.CancelledError:
                    abandoned.set()
                    raise
                except sa.exc.DBAPIError as exc:
                    if exc.connection_invalidated:
                        await conn.invalidate(exc)
                    raise
    async with write_transaction(engine, snapshot=snapshot) as conn:
        return await work(AlchemySession(conn))

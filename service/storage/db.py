"""The async engine, transactions and table creation."""

from __future__ import annotations

import functools
import logging
import operator
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from service.storage import fill_tables, models, schema
from service.storage.subscription_table import SUBSCRIPTION

TABLES = [
    models.PATIENT,
    models.SHEETDEF,
    models.SHEETFIELDDEF,
    models.SHEET,
    models.SHEETFIELD,
]
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 2
# MariaDB/MySQL and PostgreSQL: a pooled connection idle longer than this is
# pinged before it is handed out; one in steady use is not (see `_server_engine`).
IDLE_PING_SECONDS = 10.0
POOL_RECYCLE_SECONDS = 1800


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite), MariaDB/MySQL (asyncmy) or PostgreSQL (asyncpg)."""
    # Parameters are patient data: keep them out of logged errors.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if backend == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return _server_engine(parsed, **kwargs)


def _server_engine(url: sa.URL, **kwargs: Any) -> AsyncEngine:
    """An engine on MariaDB/MySQL or PostgreSQL whose connections cost no round
    trip on checkout or return while in use.

    - No ping on every checkout (SQLAlchemy's `pool_pre_ping`: one round trip
      on MariaDB, three on PostgreSQL, for each call): only a connection idle
      longer than `IDLE_PING_SECONDS` is pinged (and replaced when dead), so
      that a database restarted while the service was idle costs no failed
      call. A connection that dies in use fails its statement with the
      driver's error, which says so (`service.storage.errors.is_outage`: UNAVAILABLE)
      and makes the pool replace every connection of its generation; prepared
      reads then run once more on a new one (`service.storage.reads`).
    - No ROLLBACK on every return (`pool_reset_on_return`): SQLAlchemy's
      connections end their own transactions, and a prepared read runs outside
      any; a connection returned inside a transaction all the same (the
      driver knows, without a round trip) is rolled back.
    - On MariaDB/MySQL connections run in autocommit and a transaction begins
      with an explicit START TRANSACTION: a read outside a transaction sees
      the latest commit and leaves nothing open behind it (without autocommit
      its SELECT would open a transaction, whose snapshot the next read on
      the connection would see, unless rolled back on return). Inside a
      transaction InnoDB's REPEATABLE READ holds as before.
    """
    kwargs.setdefault("pool_reset_on_return", None)
    mysql = url.get_backend_name() == "mysql"
    if mysql:
        kwargs["connect_args"] = {"autocommit": True, **kwargs.get("connect_args", {})}
    engine = create_async_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_SECONDS, **kwargs)
    sync = engine.sync_engine
    dialect = engine.dialect

    @sa.event.listens_for(sync, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(sync, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        record.info.pop("idle_since", None)
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and hands out a new one (whose
            # connect raises when the database is down).
            raise sa.exc.DisconnectionError("an idle pooled connection was dead") from exc

    @sa.event.listens_for(sync, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        driver = getattr(record, "driver_connection", None) if record is not None else None
        if state.asyncio_safe and driver is not None and _in_transaction(driver):
            dialect.do_rollback(dbapi_connection)

    if mysql:

        @sa.event.listens_for(sync, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("START TRANSACTION")

    return engine


def _in_transaction(driver: Any) -> bool:
    """Whether a driver connection (asyncmy, asyncpg) is inside a transaction, as it knows locally."""
    status = getattr(driver, "get_transaction_status", None)  # asyncmy: the server's last status flags
    if status is None:
        status = getattr(driver, "is_in_transaction", None)  # asyncpg
    return bool(status()) if callable(status) else True


def _sqlite_engine(url: str, **kwargs: Any) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Transactions end themselves (commit, or rollback on close), and a read
    # outside one leaves nothing to reset: skip the ROLLBACK on every return.
    kwargs.setdefault("pool_reset_on_return", None)
    # Each SQLite connection is a thread of aiosqlite's plus its PRAGMAs: keep a
    # fixed set open and let callers queue for one, rather than open and close
    # overflow connections under load.
    kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    # aiosqlite logs every statement with its parameters at DEBUG: patient data, and a
    # subscription's customer key and secret. Never, whatever the service's log level.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    engine = create_async_engine(url, **kwargs)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside a writer; the busy timeout makes
        # concurrent writers wait for each other instead of failing.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # We emit BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that
        # reads first fails at once (SQLITE_BUSY) instead of waiting when
        # another writer got in between.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@asynccontextmanager
async def write_transaction(engine: AsyncEngine, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes: all of it commits, or none of it.

    With `snapshot`, every read in it sees the database as of its first read (PostgreSQL's default, READ
    COMMITTED, would let each statement see newer rows; InnoDB's REPEATABLE READ and SQLite's write lock
    already do).
    """
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = await conn.execution_options(sqlite_immediate=True)
        elif snapshot and engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def init_db(engine: AsyncEngine) -> list[str]:
    """Create the tables that are missing (never alters one); returns those created.

    Besides Open Dental's, the one table of the service's own: `sheets_subscription`.

    On the embedded database also Open Dental's tables a sheet is filled from,
    empty (elsewhere they are Open Dental's own, or absent).
    """
    wanted = [*TABLES, SUBSCRIPTION] + (list(fill_tables.TABLES) if engine.dialect.name == "sqlite" else [])
    async with engine.begin() as conn:
        existing = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        missing = [t for t in wanted if t.name not in existing]
        ours = [t for t in missing if t.name in SQLModel.metadata.tables]
        theirs = [t for t in missing if t.name not in SQLModel.metadata.tables]
        if ours:
            await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=ours))
        if theirs:
            await conn.run_sync(lambda sync: fill_tables.METADATA.create_all(sync, tables=theirs))
    schema.forget(engine.sync_engine)
    return [t.name for t in missing]


async def bulk_insert(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows in one executemany, not one round trip per row.

    The driver batches it: asyncmy rewrites it into a multi-row INSERT, asyncpg
    pipelines one prepared statement, SQLite runs it in process. A literal
    multi-row `.values(rows)` would be rebuilt and recompiled on every call
    (thousands of parameters for a large sheet). Rows that all
    name the same columns (a sheet's fields) skip SQLAlchemy's per-row
    parameter building too: the statement is compiled once per column set and
    each value goes through its column's bind processor alone.
    """
    if not rows:
        return
    names = tuple(rows[0])
    plan = _insert_plan(conn.dialect, table, names) if all(len(r) == len(names) for r in rows) else None
    if plan is None:
        await conn.execute(sa.insert(table), rows)
        return
    sql, processors = plan
    take = operator.itemgetter(*names)
    try:
        values = [list(take(r)) if len(names) > 1 else [take(r)] for r in rows]
    except KeyError:  # not the same columns after all
        await conn.execute(sa.insert(table), rows)
        return
    for value in values:
        for i, process in processors:
            value[i] = process(value[i])
    await conn.exec_driver_sql(sql, [tuple(value) for value in values])


@functools.lru_cache(maxsize=64)
def _insert_plan(
    dialect: sa.Dialect, table: sa.Table, names: tuple[str, ...]
) -> tuple[str, tuple[tuple[int, Callable[[Any], Any]], ...]] | None:
    """The INSERT of `names` compiled for `dialect` with its parameters in `names`' order,
    and each column's bind processor; None where the dialect's parameters are not positional."""
    statement = sa.insert(table).values({name: sa.bindparam(name) for name in names})
    compiled = statement.compile(dialect=dialect)
    if tuple(compiled.positiontup or ()) != names:
        return None
    processors = [
        (i, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for i, name in enumerate(names)
    ]
    return str(compiled), tuple((i, process) for i, process in processors if process is not None)


def row(model: SQLModel) -> dict[str, Any]:
    """Every column of a model instance but its key, for a Core insert."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return {c.name: getattr(model, c.name) for c in table.columns if not c.primary_key}

"""The async engine, transactions and table creation."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from service.storage import backends, compiled, fill_tables, models, schema
from service.storage.subscription_table import SUBSCRIPTION

TABLES = [
    models.PATIENT,
    models.SHEETDEF,
    models.SHEETFIELDDEF,
    models.SHEET,
    models.SHEETFIELD,
]


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite), MariaDB/MySQL (asyncmy) or PostgreSQL (asyncpg),
    set up by its backend (`service.storage.backends`)."""
    # Parameters are patient data: keep them out of logged errors.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    return backends.of(parsed).create_engine(parsed, **kwargs)


@asynccontextmanager
async def write_transaction(engine: AsyncEngine, *, snapshot: bool = False) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes: all of it commits, or none of it.

    With `snapshot`, every read in it sees the database as of its first read (PostgreSQL's default, READ
    COMMITTED, would let each statement see newer rows; InnoDB's REPEATABLE READ and SQLite's write lock
    already do).
    """
    options = backends.of(engine.dialect).write_options(snapshot=snapshot)
    async with engine.connect() as conn:
        if options:
            conn = await conn.execution_options(**options)
        async with conn.begin():
            yield conn


async def init_db(engine: AsyncEngine) -> list[str]:
    """Create the tables that are missing (never alters one); returns those created.

    Besides Open Dental's, the one table of the service's own: `sheets_subscription`.

    On the embedded database also Open Dental's tables a sheet is filled from,
    empty (elsewhere they are Open Dental's own, or absent).
    """
    embedded = backends.of(engine.dialect).embedded
    wanted = [*TABLES, SUBSCRIPTION] + (list(fill_tables.TABLES) if embedded else [])
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
    pipelines one prepared statement, SQLite runs it in process. Rows that all
    name the same columns (a sheet's fields) skip SQLAlchemy's per-row work:
    the INSERT is built once per column set (`compiled.insert`) and each value
    goes through its column's bind processor alone.
    """
    if not rows:
        return
    names = tuple(rows[0])
    if any(len(r) != len(names) for r in rows):
        await conn.execute(sa.insert(table), rows)
        return
    sql, processors = compiled.insert(conn.dialect, table, names)
    take = operator.itemgetter(*names)
    try:
        values = [take(r) if len(names) > 1 else (take(r),) for r in rows]
    except KeyError:  # not the same columns after all
        await conn.execute(sa.insert(table), rows)
        return
    await conn.exec_driver_sql(sql, [compiled.bound(processors, value) for value in values])


def row(model: SQLModel) -> dict[str, Any]:
    """Every column of a model instance but its key, for a Core insert."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return {c.name: getattr(model, c.name) for c in table.columns if not c.primary_key}

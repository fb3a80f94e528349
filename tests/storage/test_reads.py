"""Prepared reads and the date-times drivers hand back."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage import db, models
from service.storage.backends.sqlite import SqliteReaders
from service.storage.reads import PreparedRead
from service.vocab import datetime_parts


async def test_a_prepared_read_returns_the_rows_of_its_select(engine: AsyncEngine) -> None:
    sheet = models.SHEET.c
    async with db.write_transaction(engine) as conn:
        for pat in (1, 2, 1, 1):
            row = db.row(models.Sheet(PatNum=pat, DateTimeSheet=datetime(2024, 2, 29, 13, 45, 7)))
            await conn.execute(sa.insert(models.SHEET).values(row))
    read = PreparedRead(
        engine,
        sa.select(sheet.SheetNum, sheet.DateTimeSheet)
        .where(sheet.PatNum == sa.bindparam("pat_num"), sheet.IsDeleted == 0)
        .order_by(sheet.SheetNum)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset")),
    )
    rows = await read.fetch(pat_num=1, limit=2, offset=1)
    assert [row[0] for row in rows] == [3, 4]
    assert {datetime_parts(row[1]) for row in rows} == {(2024, 2, 29, 13, 45, 7)}


async def test_sqlite_readers_read_beside_the_engine_and_cannot_write(engine: AsyncEngine) -> None:
    readers = SqliteReaders.for_engine(engine)
    if engine.dialect.name != "sqlite":
        assert readers is None
        return
    assert readers is not None
    async with db.write_transaction(engine) as conn:
        await conn.execute(sa.insert(models.SHEET).values(db.row(models.Sheet(PatNum=7))))
    sheet = models.SHEET.c
    read = PreparedRead(engine, sa.select(sheet.PatNum).where(sheet.SheetNum == sa.bindparam("n")), readers)
    try:
        assert [tuple(row) for row in await read.fetch(n=1)] == [(7,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await readers.fetch("DELETE FROM sheet", ())
    finally:
        await readers.close()
    with pytest.raises(RuntimeError, match="closed"):
        await read.fetch(n=1)


async def test_a_sqlite_read_that_meets_a_lock_waits_off_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    # A WAL database held by an exclusive-mode writer: every other connection is shut out until it closes.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("INSERT INTO t VALUES (7)")
    readers = SqliteReaders(str(path))
    try:
        read = asyncio.create_task(readers.fetch("SELECT n FROM t", ()))
        ticks = 0
        while ticks < 20:  # the event loop keeps running while the read waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not read.done()
        holder.close()
        assert await asyncio.wait_for(read, 10) == [(7,)]
    finally:
        holder.close()
        await readers.close()

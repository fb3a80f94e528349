"""On MariaDB and PostgreSQL, identical ListSheets calls waiting for a connection
share one query, and the metrics count the calls that did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.store import SheetStore
from service.storage import db, models
from telemetry.metrics import Metrics
from tests.support.databases import scratch_database


@pytest.fixture(params=["mysql", "postgres"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """Patient 3 with two sheets on MariaDB or PostgreSQL, behind a pool of one connection."""
    async with scratch_database(request.param) as url:
        engine = db.create_engine(url, pool_size=1, max_overflow=0)
        try:
            await db.init_db(engine)
            async with db.write_transaction(engine) as conn:
                await conn.execute(
                    sa.insert(models.PATIENT).values(db.row(models.Patient(PatNum=3, LName="Ng")))
                )
                for _ in range(2):
                    row = db.row(models.Sheet(PatNum=3, DateTimeSheet=datetime(2026, 12, 1, 9, 0)))
                    await conn.execute(sa.insert(models.SHEET).values(row))
            yield engine
        finally:
            await engine.dispose()


async def _lists_at_once(store: SheetStore, count: int) -> set[tuple[int, ...]]:
    pages = await asyncio.gather(*(store.list_sheets(pat_num=3, offset=0, limit=20) for _ in range(count)))
    return {tuple(row[0] for row in page) for page in pages}


async def test_identical_lists_at_once_share_a_query_and_the_metric_counts_them(engine: AsyncEngine) -> None:
    async with SheetStore(engine) as store:
        metrics = Metrics()
        metrics.watch_shared_reads(store)
        assert await _lists_at_once(store, 12) == {(1, 2)}
        # The first call's query runs at once; the second waits for it and sends
        # the next, which the ten arriving meanwhile share.
        assert store.shared_reads == 10
        exposition = metrics.exposition().decode()
    assert "sheets_db_reads_shared_total 10.0" in exposition


async def test_every_read_sends_its_own_query_when_sharing_is_off(engine: AsyncEngine) -> None:
    async with SheetStore(engine, share_reads=False) as store:
        assert await _lists_at_once(store, 12) == {(1, 2)}
        assert store.shared_reads == 0

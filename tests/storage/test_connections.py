"""Connections to MariaDB and PostgreSQL: no round trip on checkout or return in
steady use, fresh data on every read, and connections the database dropped
replaced without a failed read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage import db, models
from service.storage.backends import server
from service.storage.reads import PreparedRead
from tests.support.databases import scratch_database
from tests.system.test_databases import _kill_connections


@pytest.fixture(params=["mysql", "postgres"])
async def server_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """An empty database with our tables on MariaDB or PostgreSQL."""
    async with scratch_database(request.param) as url:
        engine = db.create_engine(url)
        try:
            await db.init_db(engine)
        finally:
            await engine.dispose()
        yield url


@pytest.fixture
async def one_connection(server_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds exactly one connection: every call reuses it."""
    engine = db.create_engine(server_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


def _sheets_of(engine: AsyncEngine) -> PreparedRead:
    sheet = models.SHEET.c
    return PreparedRead(
        engine,
        sa.select(sheet.SheetNum).where(sheet.PatNum == sa.bindparam("pat_num")).order_by(sheet.SheetNum),
    )


async def _add_sheet(url: str, pat_num: int) -> int:
    """A sheet written and committed on a connection of its own."""
    engine = db.create_engine(url)
    try:
        async with db.write_transaction(engine) as conn:
            row = db.row(models.Sheet(PatNum=pat_num, DateTimeSheet=datetime(2026, 12, 1, 9, 0)))
            result = await conn.execute(sa.insert(models.SHEET).values(row))
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    finally:
        await engine.dispose()


async def test_reads_in_steady_use_neither_ping_nor_roll_back(
    one_connection: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = _sheets_of(one_connection)
    await read.fetch(pat_num=1)
    calls: list[str] = []
    dialect = one_connection.dialect
    for name in ("do_ping", "do_rollback"):
        original = getattr(dialect, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(dialect, name, counted)
    for _ in range(20):
        await read.fetch(pat_num=1)
    assert calls == []


async def test_a_read_on_a_reused_connection_sees_what_others_committed_since(
    one_connection: AsyncEngine, server_url: str
) -> None:
    read = _sheets_of(one_connection)
    assert list(await read.fetch(pat_num=7)) == []
    added = await _add_sheet(server_url, 7)
    assert [row[0] for row in await read.fetch(pat_num=7)] == [added]
    added_again = await _add_sheet(server_url, 7)
    assert [row[0] for row in await read.fetch(pat_num=7)] == [added, added_again]


async def test_a_transaction_still_sees_one_snapshot(one_connection: AsyncEngine, server_url: str) -> None:
    sheet = models.SHEET.c
    count = sa.select(sa.func.count()).select_from(models.SHEET).where(sheet.PatNum == 8)
    async with db.write_transaction(one_connection, snapshot=True) as conn:
        assert (await conn.execute(count)).scalar_one() == 0
        await _add_sheet(server_url, 8)
        assert (await conn.execute(count)).scalar_one() == 0
    async with one_connection.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 1


async def _write_then_fail(engine: AsyncEngine, pat_num: int) -> None:
    async with db.write_transaction(engine) as conn:
        row = db.row(models.Sheet(PatNum=pat_num, DateTimeSheet=datetime(2026, 12, 1, 9, 0)))
        await conn.execute(sa.insert(models.SHEET).values(row))
        raise RuntimeError("the work failed")


async def test_a_failed_transaction_leaves_nothing_and_the_connection_clean(
    one_connection: AsyncEngine,
) -> None:
    read = _sheets_of(one_connection)
    with pytest.raises(RuntimeError):
        await _write_then_fail(one_connection, 9)
    assert list(await read.fetch(pat_num=9)) == []
    async with one_connection.connect() as conn:
        raw = await conn.get_raw_connection()
        assert not server.in_transaction(raw.driver_connection)


async def test_a_read_on_a_connection_the_database_dropped_runs_again_on_a_new_one(
    server_url: str,
) -> None:
    engine = db.create_engine(server_url, pool_size=3, max_overflow=0)
    try:
        read = _sheets_of(engine)
        added = await _add_sheet(server_url, 5)
        # Three pooled connections (identical reads at once would share one).
        await asyncio.gather(*(read.fetch(pat_num=pat_num) for pat_num in (5, 50, 500)))
        assert await _kill_connections(server_url) >= 3
        for _ in range(3):
            assert [row[0] for row in await read.fetch(pat_num=5)] == [added]
    finally:
        await engine.dispose()


async def test_an_idle_connection_the_database_dropped_is_replaced_before_use(
    one_connection: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet_def = models.SHEETDEF.c
    query = sa.select(sa.func.count()).select_from(models.SHEETDEF).where(sheet_def.SheetDefNum > 0)
    async with one_connection.connect() as conn:
        assert (await conn.execute(query)).scalar_one() == 0
    assert await _kill_connections(str(one_connection.url.render_as_string(hide_password=False))) >= 1
    monkeypatch.setattr(server, "IDLE_PING_SECONDS", 0.0)  # every pooled connection counts as idle
    async with one_connection.connect() as conn:
        assert (await conn.execute(query)).scalar_one() == 0


async def test_many_reads_at_once_share_the_pools_connections_and_open_no_more(server_url: str) -> None:
    engine = db.create_engine(server_url, pool_size=2, max_overflow=10)
    connects: list[object] = []
    sa.event.listen(engine.sync_engine, "connect", lambda *_args: connects.append(None))
    try:
        read = _sheets_of(engine)
        added = await _add_sheet(server_url, 4)
        answers = await asyncio.gather(*(read.fetch(pat_num=4) for _ in range(40)))
        assert {tuple(tuple(row) for row in rows) for rows in answers} == {((added,),)}
        assert len(connects) <= 2
    finally:
        await engine.dispose()


async def test_a_read_waits_for_a_connection_no_longer_than_the_pool_timeout(server_url: str) -> None:
    engine = db.create_engine(server_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    try:
        sleep = sa.func.pg_sleep if engine.dialect.name == "postgresql" else sa.func.sleep
        slow = PreparedRead(engine, sa.select(sleep(sa.bindparam("seconds")).label("slept")))
        holding = asyncio.ensure_future(slow.fetch(seconds=2))
        await asyncio.sleep(0.2)
        started = asyncio.get_running_loop().time()
        with pytest.raises(sa.exc.TimeoutError):
            await _sheets_of(engine).fetch(pat_num=1)
        assert asyncio.get_running_loop().time() - started < 1.5
        await holding
    finally:
        await engine.dispose()


def _slow_sheets_of(engine: AsyncEngine) -> PreparedRead:
    """A patient's sheets, each row taking `seconds` to read."""
    sheet = models.SHEET.c
    sleep = sa.func.pg_sleep if engine.dialect.name == "postgresql" else sa.func.sleep
    return PreparedRead(
        engine,
        sa.select(sheet.SheetNum, sleep(sa.bindparam("seconds")).label("slept"))
        .where(sheet.PatNum == sa.bindparam("pat_num"))
        .order_by(sheet.SheetNum),
    )


async def _until(condition: Any) -> None:
    """Polls state the event loop changes: nothing here could set an event for it."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_identical_reads_waiting_for_a_connection_share_one_query(
    one_connection: AsyncEngine, server_url: str
) -> None:
    first = await _add_sheet(server_url, 6)
    other = await _add_sheet(server_url, 7)
    read = _slow_sheets_of(one_connection)
    holding = asyncio.ensure_future(read.fetch(pat_num=6, seconds=0.3))
    await asyncio.sleep(0.05)
    waiting = [asyncio.ensure_future(read.fetch(pat_num=6, seconds=0)) for _ in range(10)]
    waiting += [asyncio.ensure_future(read.fetch(pat_num=7, seconds=0)) for _ in range(3)]
    answers = await asyncio.gather(*waiting)
    await holding
    assert [[row[0] for row in rows] for rows in answers] == [[first]] * 10 + [[other]] * 3
    # Two queries answered the thirteen: one for each patient.
    assert read.coalesced == 11


async def test_a_read_never_joins_a_query_sent_before_it_arrived(
    one_connection: AsyncEngine, server_url: str
) -> None:
    first = await _add_sheet(server_url, 8)
    read = _slow_sheets_of(one_connection)
    holding = asyncio.ensure_future(read.fetch(pat_num=8, seconds=0.2))
    await asyncio.sleep(0.05)
    sent = asyncio.ensure_future(read.fetch(pat_num=8, seconds=0.4))
    await _until(lambda: bool(read._coalescer._waiting))
    # `sent` waits for the connection, then its query runs for 0.4 s; a sheet
    # committed meanwhile must show in every read that arrives after it.
    await _until(lambda: not read._coalescer._waiting)
    second = await _add_sheet(server_url, 8)
    assert not sent.done()
    later = await read.fetch(pat_num=8, seconds=0.4)
    assert [row[0] for row in later] == [first, second]
    assert [row[0] for row in await sent] == [first]
    await holding
    assert read.coalesced == 0


async def test_one_query_per_parameters_runs_at_a_time_even_with_connections_free(server_url: str) -> None:
    engine = db.create_engine(server_url, pool_size=4, max_overflow=0)
    try:
        first = await _add_sheet(server_url, 9)
        read = _slow_sheets_of(engine)
        running = asyncio.ensure_future(read.fetch(pat_num=9, seconds=0.3))
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        # Both wait for the running query to end, then share the one after it.
        after = await asyncio.gather(read.fetch(pat_num=9, seconds=0.3), read.fetch(pat_num=9, seconds=0.3))
        assert asyncio.get_running_loop().time() - started >= 0.45
        assert [[row[0] for row in rows] for rows in [await running, *after]] == [[first]] * 3
        assert read.coalesced == 1
        # Other parameters do not wait.
        started = asyncio.get_running_loop().time()
        await asyncio.gather(read.fetch(pat_num=9, seconds=0.2), read.fetch(pat_num=10, seconds=0.2))
        assert asyncio.get_running_loop().time() - started < 0.35
    finally:
        await engine.dispose()

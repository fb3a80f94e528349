"""Two `sheets serve` replicas on one MariaDB / PostgreSQL database deliver each sheet
change once; the delivering replica SIGKILLed mid-batch, the other finishes the job."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from service.admin.demo import seed_demo
from service.storage import db, models
from tests.support.databases import scratch_database
from tests.support.processes import kill, sheets
from tests.support.receiver import Receiver, receiving

BATCH = 10
LEASE = 3.0
POLLING = 1
ENV = {
    "SHEETS_RENDER_WORKERS": "1",
    "SHEETS_RENDER_WARMUP": "false",
    "SHEETS_LOG_FORMAT": "json",
    "SHEETS_EVENTS_TICK_SECONDS": "0.2",
    "SHEETS_EVENTS_LEASE_SECONDS": str(LEASE),
    "SHEETS_EVENTS_CALL_TIMEOUT": "2",
    "SHEETS_EVENTS_BATCH_SIZE": str(BATCH),
}


@pytest.fixture(params=["mysql", "postgres"])
async def shared_database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with scratch_database(request.param) as url:
        yield url


async def _prepare(url: str) -> int:
    engine = db.create_engine(url)
    try:
        await db.init_db(engine)
        return (await seed_demo(engine)).patients[0]
    finally:
        await engine.dispose()


async def _insert_sheets(url: str, patient: int, count: int) -> list[int]:
    """Sheets written straight into the table, as Open Dental's desktop writes them."""
    engine = db.create_engine(url)
    try:
        nums = []
        async with engine.begin() as conn:
            for n in range(count):
                result = await conn.execute(
                    sa.insert(models.SHEET).values(
                        PatNum=patient, DateTimeSheet=models.now_seconds(), Description=f"form {n}"
                    )
                )
                assert result.inserted_primary_key is not None
                nums.append(int(result.inserted_primary_key[0]))
        return nums
    finally:
        await engine.dispose()


async def _leases_held(session: aiohttp.ClientSession, rest_port: int) -> float:
    async with session.get(f"http://127.0.0.1:{rest_port}/metrics") as response:
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "sheets_event_leases_held"
    )


def _received(receiver: Receiver) -> list[int]:
    return [sheet["SheetNum"] for call in receiver.calls for sheet in call.sheets]


@pytest.mark.slow
async def test_two_replicas_deliver_each_change_once_and_the_survivor_finishes_a_killed_ones_batch(
    shared_database: str, tmp_path: Path
) -> None:
    patient = await _prepare(shared_database)
    env = ENV | {"SHEETS_DATABASE_URL": shared_database}
    serve = ("serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0")
    async with AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(receiving())
        session = await stack.enter_async_context(aiohttp.ClientSession())
        (a, (_, a_rest)), (b, (_, b_rest)) = await asyncio.gather(
            stack.enter_async_context(sheets(*serve, data_dir=tmp_path / "a", env=env)),
            stack.enter_async_context(sheets(*serve, data_dir=tmp_path / "b", env=env)),
        )
        body = {"EndPointUrl": receiver.url, "WatchTable": "Sheet", "PollingSeconds": POLLING}
        async with session.post(f"http://127.0.0.1:{a_rest}/api/v1/subscriptions", json=body) as response:
            assert response.status == 201, await response.text()

        # Both replicas running: every change arrives once.
        first = await _insert_sheets(shared_database, patient, 25)
        await receiver.wait_for(lambda: len(_received(receiver)) >= 25, within=20)
        await asyncio.sleep(2 * POLLING + 0.5)
        assert _received(receiver) == first

        # The receiver slows down; the replica delivering is SIGKILLed while a call is in flight.
        receiver.delay = 1.0
        second = await _insert_sheets(shared_database, patient, 40)
        await receiver.wait_for(lambda: len(receiver.calls) >= 5, within=20)
        held = {a_rest: 0.0, b_rest: 0.0}
        deadline = time.monotonic() + 10
        while sum(held.values()) < 1 and time.monotonic() < deadline:
            held = {port: await _leases_held(session, port) for port in held}
            await asyncio.sleep(0.2)
        assert sorted(held.values()) == [0.0, 1.0], held
        victim = a if held[a_rest] else b
        calls_before = len(receiver.calls)
        await receiver.wait_for(lambda: len(receiver.calls) > calls_before, within=10)
        in_flight = set(receiver.calls[-1].sheets and [s["SheetNum"] for s in receiver.calls[-1].sheets])
        await kill(victim)
        killed_at = time.monotonic()
        receiver.delay = 0.0
        await receiver.wait_for(lambda: set(second) <= set(_received(receiver)), within=30)
        taken_over = min(c.received for c in receiver.calls if c.received > killed_at + 0.5) - killed_at
        await asyncio.sleep(2 * POLLING + 0.5)

        received = _received(receiver)
        assert received[: len(first)] == first
        later = received[len(first) :]
        assert set(later) == set(second)
        repeated = {num for num, times in Counter(later).items() if times > 1}
        # Nothing lost, and nothing sent twice but the batch that was in flight.
        assert repeated <= in_flight, (repeated, in_flight)
        assert len(in_flight) <= BATCH
        # In order, apart from the repeated batch.
        assert [n for i, n in enumerate(later) if n not in later[:i]] == second
        # Another replica takes over within two polling intervals plus the lease.
        assert taken_over <= 2 * POLLING + LEASE + 1.0, taken_over

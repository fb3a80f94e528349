"""The database stops under traffic and comes back: callers get a fast 503 /
UNAVAILABLE that says why, nothing hangs past a few seconds, and the service
recovers without a restart. Against throwaway PostgreSQL and MariaDB servers
the test starts itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import grpc
import pytest

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.render.pool import PdfRenderer
from tests.support.db_servers import MariaDbServer, PostgresServer, throwaway_server
from tests.support.stack import ALL_KEY, Stack, running_stack

if TYPE_CHECKING:
    from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceAsyncStub

pytestmark = pytest.mark.slow
UNAVAILABLE = "The database is unavailable. Try again later."
# Longest any single call may take while the database is down.
MAX_WAIT = 5.0


@dataclass
class Traffic:
    """Outcomes of calls made in a loop on each surface: (surface, outcome, seconds)."""

    calls: list[tuple[str, str, float]] = field(default_factory=list)

    def since(self, start: int) -> list[tuple[str, str, float]]:
        return self.calls[start:]


async def _rest_call(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url, headers={"Authorization": ALL_KEY}) as response:
        body = await response.json()
        return "OK" if response.status == 200 else f"{response.status} {body}"


async def _grpc_call(stub: SheetServiceAsyncStub) -> str:
    try:
        await stub.ListSheets(
            pb.ListSheetsRequest(pat_num=1), metadata=(("authorization", ALL_KEY),), timeout=30
        )
    except grpc.aio.AioRpcError as error:
        return f"{error.code().name} {error.details()}"
    return "OK"


async def _drive(stack: Stack, traffic: Traffic, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session, grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetServiceStub(channel)
        calls: dict[str, Callable[[], Awaitable[str]]] = {"grpc": partial(_grpc_call, stub)}
        for mode, base in stack.rest_urls.items():
            calls[mode] = partial(_rest_call, session, f"{base}/api/v1/sheets?PatNum=1")
        while not stop.is_set():
            for surface, call in calls.items():
                started = time.monotonic()
                outcome = await call()
                traffic.calls.append((surface, outcome, time.monotonic() - started))
            await asyncio.sleep(0.05)


@pytest.fixture(params=["postgres", "mysql"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[PostgresServer | MariaDbServer]:
    manager = throwaway_server(request.param)
    started = await asyncio.to_thread(manager.__enter__)
    try:
        yield started
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def test_a_database_outage_is_a_fast_503_and_the_service_recovers_without_restart(
    server: PostgresServer | MariaDbServer, tmp_path: Path, renderer: PdfRenderer
) -> None:
    async with running_stack(server.url, tmp_path, renderer) as stack:
        traffic, stop = Traffic(), asyncio.Event()
        driver = asyncio.ensure_future(_drive(stack, traffic, stop))
        try:
            # A first round on every surface (a cold channel and a new server's first
            # connections may take longer than the later calls), then a second.
            surfaces = 1 + len(stack.rest_urls)
            async with asyncio.timeout(15):
                while len(traffic.calls) < 2 * surfaces:  # noqa: ASYNC110 - the driver appends
                    await asyncio.sleep(0.05)
            assert {outcome for _, outcome, _ in traffic.calls} == {"OK"}
            await asyncio.to_thread(server.stop)
            down = len(traffic.calls)
            await asyncio.sleep(3.0)
            during = traffic.since(down)
            assert len(during) >= 6, "calls stopped coming back while the database was down"
            # Past the calls already in flight when it stopped, every answer says why.
            settled = during[3:]
            assert {outcome for _, outcome, _ in settled} == {
                f"503 {UNAVAILABLE}",
                f"UNAVAILABLE {UNAVAILABLE}",
            }
            assert max(seconds for _, _, seconds in during) < MAX_WAIT
            await asyncio.to_thread(server.start)
            back = time.monotonic()
            while time.monotonic() - back < 30:
                recent = traffic.calls[-6:]
                if len(recent) == 6 and {outcome for _, outcome, _ in recent} == {"OK"}:
                    break
                await asyncio.sleep(0.2)
            else:
                pytest.fail(f"no recovery 30 s after the database came back: {traffic.calls[-6:]}")
        finally:
            stop.set()
            await driver
    # Nothing but OK or the explanation, on every surface, the whole time.
    unexpected = {
        outcome
        for _, outcome, _ in traffic.calls
        if outcome not in ("OK", f"503 {UNAVAILABLE}", f"UNAVAILABLE {UNAVAILABLE}")
    }
    assert not unexpected

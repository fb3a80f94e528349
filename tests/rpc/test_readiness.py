"""Readiness follows the database: a server the test stops and starts again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.render.pool import PdfRenderer
from service.rpc.server import SHEET_SERVICE
from tests.support.db_servers import throwaway_server
from tests.support.logs import captured_logs
from tests.support.stack import ALL_KEY, Rest, running_stack

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
AUTH = (("authorization", ALL_KEY),)


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
async def test_health_and_readyz_follow_a_database_that_stops_and_comes_back(
    kind: str, tmp_path: Path, renderer: PdfRenderer
) -> None:
    # The server's helper is synchronous (it runs an event loop of its own): start it off this one.
    starting = throwaway_server(kind)
    server = await asyncio.to_thread(starting.__enter__)
    try:
        async with (
            running_stack(
                server.url, tmp_path, renderer, readiness_interval=0.2, readiness_timeout=1
            ) as stack,
            grpc.aio.insecure_channel(stack.grpc_target) as channel,
            aiohttp.ClientSession() as session,
        ):
            health = health_pb2_grpc.HealthStub(channel)
            sheets = SheetServiceStub(channel)
            rests = [Rest(session, url) for url in stack.rest_urls.values()]

            async def statuses() -> set[int]:
                replies = [
                    await health.Check(health_pb2.HealthCheckRequest(service=s)) for s in ("", SHEET_SERVICE)
                ]
                return {r.status for r in replies}

            async def serving() -> bool:
                return await statuses() == {SERVING}

            async def not_serving() -> bool:
                return await statuses() == {NOT_SERVING}

            def ready(rest: Rest) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return (await rest.request("GET", "/readyz", auth=None))[:2] == (200, "ready")

                return check

            assert await serving()
            for rest in rests:
                assert (await rest.request("GET", "/readyz", auth=None))[:2] == (200, "ready")
            await sheets.CreateSheet(pb.CreateSheetRequest(sheet_def_num=1, pat_num=1), metadata=AUTH)

            with captured_logs() as logs:
                await asyncio.to_thread(server.stop)
                await _eventually(not_serving, "gRPC health NOT_SERVING with the database stopped")
                for rest in rests:
                    status, body, _ = await rest.request("GET", "/readyz", auth=None)
                    assert status == 503
                    assert body.startswith("Not ready: ")
                # /healthz is liveness: the process is fine, so it stays 200.
                assert (await rests[0].request("GET", "/healthz", auth=None))[0] == 200
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await sheets.CreateSheet(pb.CreateSheetRequest(sheet_def_num=1, pat_num=1), metadata=AUTH)
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            (failure,) = [r for r in logs.records() if r["event"].endswith("database unavailable")]
            assert failure["db_code"] is not None
            assert failure["db_message"]
            assert failure["request_id"]
            assert "SELECT" not in failure["db_message"]
            assert "INSERT" not in failure["db_message"]
            assert any(r["event"] == "database unreachable; not serving" for r in logs.records())

            await asyncio.to_thread(server.start)
            await _eventually(serving, "gRPC health SERVING again with the database back")
            # /readyz checks again itself (its own connection, its own 1 s timeout): one check of the
            # probe's having passed just after the restart does not make the next pass at once, so
            # /readyz, like health, must come back within the deadline, not at the first look.
            for rest in rests:
                await _eventually(ready(rest), f"/readyz 200 again on {rest.base} with the database back")
            # The database answers calls again (a MariaDB killed outright may have lost its last
            # second of commits, so nothing here depends on them).
            await sheets.ListSheetDefs(pb.ListSheetDefsRequest(), metadata=AUTH)
    finally:
        await asyncio.to_thread(starting.__exit__, None, None, None)

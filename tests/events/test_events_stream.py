"""WatchSheets: a server stream from a cursor (replay) then live, by patient or not,
ended cleanly by a deadline or a cancel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_event_service_pb2 as pb
from opendental.sheets.v1.sheet_event_service_pb2_grpc import SheetEventServiceStub
from tests.support.stack import ALL_KEY, READ_KEY, Rest, Stack

AUTH = [("authorization", ALL_KEY)]
FAST = {"events_tick_seconds": 0.1}


@pytest.fixture
async def rest(stack: Stack) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as session:
        yield Rest(session, stack.rest_urls["in-process"])


async def _create_sheet(rest: Rest, stack: Stack, patient: int) -> int:
    body = {"SheetDefNum": stack.demo_sheet_defs[1], "PatNum": stack.demo_patients[patient]}
    status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
    assert status == 200, sheet
    return int(sheet["SheetNum"])


async def _next(stream: Any, within: float = 6.0) -> pb.WatchSheetsResponse:
    response: pb.WatchSheetsResponse = await asyncio.wait_for(stream.read(), within)
    return response


async def test_a_stream_follows_live_then_replays_from_a_cursor_and_filters_by_patient(
    rest: Rest, stack: Stack
) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetEventServiceStub(channel)
        live = stub.WatchSheets(pb.WatchSheetsRequest(), metadata=AUTH)
        start = await _next(live)
        assert start.cursor
        assert not start.HasField("sheet")
        first = await _create_sheet(rest, stack, 0)
        got = await _next(live)
        assert got.sheet.sheet_num == first
        cursor = got.cursor
        live.cancel()
        # While nobody watches: two more, for two patients.
        second = await _create_sheet(rest, stack, 0)
        third = await _create_sheet(rest, stack, 1)
        resumed = stub.WatchSheets(pb.WatchSheetsRequest(cursor=cursor), metadata=AUTH)
        assert (await _next(resumed)).cursor == cursor
        assert [(await _next(resumed)).sheet.sheet_num for _ in range(2)] == [second, third]
        fourth = await _create_sheet(rest, stack, 1)
        assert (await _next(resumed)).sheet.sheet_num == fourth
        resumed.cancel()
        # One patient's: from the same cursor, only theirs.
        patient = stack.demo_patients[1]
        theirs = stub.WatchSheets(pb.WatchSheetsRequest(cursor=cursor, pat_num=patient), metadata=AUTH)
        await _next(theirs)
        got_theirs = [(await _next(theirs)).sheet for _ in range(2)]
        assert [s.sheet_num for s in got_theirs] == [third, fourth]
        assert {s.pat_num for s in got_theirs} == {patient}
        with pytest.raises(asyncio.TimeoutError):
            await _next(theirs, within=1.0)
        theirs.cancel()


async def test_a_deadline_or_a_cancel_ends_a_stream_cleanly(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetEventServiceStub(channel)
        timed = stub.WatchSheets(pb.WatchSheetsRequest(), metadata=AUTH, timeout=1.0)
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            async for _ in timed:
                pass
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        cancelled = stub.WatchSheets(pb.WatchSheetsRequest(), metadata=AUTH)
        await _next(cancelled)
        cancelled.cancel()
        health = health_pb2_grpc.HealthStub(channel)
        answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    await asyncio.sleep(0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # One access line per stream, when it ends (the server sees a passed deadline as a cancel).
    ends = [
        str(getattr(r, "status", ""))
        for r in caplog.records
        if str(getattr(r, "method", "")).endswith("/WatchSheets")
    ]
    assert len(ends) == 2
    assert set(ends) <= {"CANCELLED", "DEADLINE_EXCEEDED"}, ends


async def test_a_stream_refuses_a_wrong_key_and_a_bad_cursor(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetEventServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _next(stub.WatchSheets(pb.WatchSheetsRequest(), metadata=[("authorization", "ODFHIR x/y")]))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _next(stub.WatchSheets(pb.WatchSheetsRequest(cursor="yesterday"), metadata=AUTH))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (
            refused.value.details()
            == "Cursor is invalid: use one a WatchSheets response gave, or none to start now."
        )
        # A read-only key may watch.
        reader = stub.WatchSheets(pb.WatchSheetsRequest(), metadata=[("authorization", READ_KEY)])
        assert (await _next(reader)).cursor
        reader.cancel()

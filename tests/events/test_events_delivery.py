"""Delivery of sheet events to a real receiver on loopback, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from service.events import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from service.render.pool import PdfRenderer
from service.storage import models
from tests.support import ROOT
from tests.support.receiver import Receiver, receiving
from tests.support.stack import Rest, Stack, running_stack

README = ROOT / "README.md"
FAST = {"events_tick_seconds": 0.1, "events_call_timeout": 1.0, "events_lease_seconds": 5.0}


@pytest.fixture
async def stack(database_url: str, tmp_path: Path, renderer: PdfRenderer) -> AsyncIterator[Stack]:
    async with running_stack(database_url, tmp_path, renderer, **FAST) as running:
        yield running


@pytest.fixture
async def rest(stack: Stack) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as session:
        yield Rest(session, stack.rest_urls["in-process"])


async def _subscribe(rest: Rest, receiver: Receiver, **extra: Any) -> dict[str, Any]:
    body = {"EndPointUrl": receiver.url, "WatchTable": "Sheet", "PollingSeconds": 1} | extra
    status, created, _ = await rest.request("POST", "/api/v1/subscriptions", json=body)
    assert status == 201, created
    return dict(created)


async def _create_sheet(rest: Rest, stack: Stack, def_index: int = 1) -> dict[str, Any]:
    body = {"SheetDefNum": stack.demo_sheet_defs[def_index], "PatNum": stack.demo_patients[0]}
    status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
    assert status == 200, sheet
    return dict(sheet)


def _readme_receiver_check() -> Callable[[str, bytes, str], bool]:
    """The README's few lines a receiver verifies a call with, as written there."""
    block = re.search(r"```python events-receiver\n(.*?)```", README.read_text(), flags=re.S)
    assert block is not None
    namespace: dict[str, Any] = {}
    exec(block.group(1), namespace)  # noqa: S102 (the README's own example)
    check: Callable[[str, bytes, str], bool] = namespace["is_from_the_service"]
    return check


async def _next_second() -> None:
    """Sleep into the next wall-clock second: Open Dental's times have whole seconds."""
    await asyncio.sleep(1.05 - (time.time() % 1))


async def test_a_created_sheet_an_answered_field_and_a_plain_sql_update_each_arrive_once(
    rest: Rest, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with receiving() as receiver:
        created = await _subscribe(rest, receiver)
        sheet = await _create_sheet(rest, stack, def_index=3)
        num = sheet["SheetNum"]
        await receiver.wait_for(lambda: any(s["SheetNum"] == num for s in receiver.sheets()))
        # A field answered through the API (its sheet's DateTSheetEdited moves on).
        await _next_second()
        _, fields, _ = await rest.request("GET", "/api/v1/sheetfields", params={"SheetNum": str(num)})
        entry = next(f for f in fields if f["FieldType"] == "InputField")
        status, _, _ = await rest.request(
            "PUT", f"/api/v1/sheetfields/{entry['SheetFieldNum']}", json={"FieldValue": "yes"}
        )
        assert status == 200
        await receiver.wait_for(lambda: len(receiver.sheets()) == 2)
        # Open Dental's desktop (or anyone) editing the row in the same database.
        await _next_second()
        async with stack.engine.begin() as conn:
            await conn.execute(
                sa.update(models.SHEET)
                .where(models.SHEET.c.SheetNum == num)
                .values(Description="Signed at the desk", DateTSheetEdited=models.now_seconds())
            )
        await receiver.wait_for(lambda: len(receiver.sheets()) == 3)
        await asyncio.sleep(2.5)  # two more polls: nothing is sent again
        sheets = receiver.sheets()
        assert [s["SheetNum"] for s in sheets] == [num, num, num]
        assert sheets[0] == sheet
        assert sheets[1]["DateTSheetEdited"] > sheets[0]["DateTSheetEdited"]
        assert sheets[2]["Description"] == "Signed at the desk"
        assert len(receiver.calls) == 3
        readme_check = _readme_receiver_check()
        for call in receiver.calls:
            assert readme_check(created["Secret"], call.body, call.headers[SIGNATURE_HEADER])
            assert not readme_check(created["Secret"], call.body + b" ", call.headers[SIGNATURE_HEADER])
            assert call.headers["Event-Type"] == "WatchTable: Sheet"
            assert call.headers["Authorization"] == "custkey"
            assert call.headers["Content-Type"] == "application/json; charset=utf-8"
            assert call.headers["Workstation"]
            assert verify(created["Secret"], call.body, call.headers[SIGNATURE_HEADER])
            assert not verify("another secret", call.body, call.headers[SIGNATURE_HEADER])
        assert len({call.headers[EVENT_ID_HEADER] for call in receiver.calls}) == 3
        _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert listed[0]["LastError"] == ""
        assert listed[0]["DateTimeLastDelivery"] != "0001-01-01 00:00:00"
        assert listed[0]["DateTimeStart"] == sheets[2]["DateTSheetEdited"]
        metrics = stack.metrics.exposition().decode()
        assert 'sheets_event_deliveries_total{outcome="ok"} 3.0' in metrics
        assert "sheets_event_sheets_delivered_total 3.0" in metrics
        assert "sheets_event_delivery_lag_seconds_count 3.0" in metrics
        assert "sheets_event_subscriptions 1.0" in metrics
        assert "sheets_event_leases_held 1.0" in metrics
    # One line per delivery, naming neither the secret nor the customer key.
    lines = [r for r in caplog.records if r.getMessage() == "sheet event delivery"]
    assert [(r.outcome, r.sheets) for r in lines] == [("ok", 1)] * 3  # type: ignore[attr-defined]
    assert created["Secret"] not in caplog.text
    assert "custkey" not in caplog.text


async def test_a_receiver_down_gets_everything_in_order_once_it_is_back(
    database_url: str, tmp_path: Path, renderer: PdfRenderer
) -> None:
    settings = FAST | {"events_batch_size": 4, "events_backoff_cap": 1.0}
    async with (
        running_stack(database_url, tmp_path, renderer, **settings) as stack,
        aiohttp.ClientSession() as session,
        receiving() as receiver,
    ):
        rest = Rest(session, stack.rest_urls["in-process"])
        receiver.status = 503
        await _subscribe(rest, receiver)
        made = [(await _create_sheet(rest, stack))["SheetNum"] for _ in range(10)]
        await receiver.wait_for(lambda: len(receiver.calls) >= 3)
        _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert listed[0]["LastError"] == "HTTP 503"
        assert listed[0]["LagSeconds"] > 0
        assert receiver.sheets() == []
        # Each failed call was the first batch again (grown while the sheets were still being created, up to
        # the batch size): nothing skipped past it.
        for call in receiver.calls:
            sent = [s["SheetNum"] for s in call.sheets]
            assert 0 < len(sent) <= 4
            assert sent == made[: len(sent)]
        receiver.status = 200
        await receiver.wait_for(lambda: len(receiver.sheets()) >= 10)
        await asyncio.sleep(1.5)
        assert [s["SheetNum"] for s in receiver.sheets()] == made
        assert max(len(call.sheets) for call in receiver.calls) == 4
        _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert listed[0]["LastError"] == ""
        assert listed[0]["LagSeconds"] >= 0
        assert 'sheets_event_deliveries_total{outcome="http_error"}' in stack.metrics.exposition().decode()


async def test_changes_in_one_second_are_each_sent_once_across_batches(
    database_url: str, tmp_path: Path, renderer: PdfRenderer
) -> None:
    settings = FAST | {"events_batch_size": 2}
    async with (
        running_stack(database_url, tmp_path, renderer, **settings) as stack,
        aiohttp.ClientSession() as session,
        receiving() as receiver,
    ):
        rest = Rest(session, stack.rest_urls["in-process"])
        second = models.now_seconds() + timedelta(seconds=1)
        await _subscribe(rest, receiver, DateTimeStart=f"{second:%Y-%m-%d %H:%M:%S}")
        patient = stack.demo_patients[0]
        async with stack.engine.begin() as conn:
            for _ in range(5):
                await conn.execute(
                    sa.insert(models.SHEET).values(PatNum=patient, DateTimeSheet=second, Description="tie")
                )
        await receiver.wait_for(lambda: len(receiver.sheets()) == 5)
        await asyncio.sleep(1.5)
        nums = [s["SheetNum"] for s in receiver.sheets()]
        assert nums == sorted(nums)
        assert len(nums) == len(set(nums)) == 5
        assert [len(call.sheets) for call in receiver.calls] == [2, 2, 1]


async def test_no_change_after_date_time_stop_is_sent(rest: Rest, stack: Stack) -> None:
    async with receiving() as receiver:
        stop = models.now_seconds() + timedelta(seconds=1)
        await _subscribe(rest, receiver, DateTimeStop=f"{stop:%Y-%m-%d %H:%M:%S}")
        before = await _create_sheet(rest, stack)
        await receiver.wait_for(lambda: len(receiver.sheets()) == 1)
        await asyncio.sleep((stop - models.now_seconds()).total_seconds() + 1.05 - time.time() % 1)
        await _create_sheet(rest, stack)
        await asyncio.sleep(3)
        assert [s["SheetNum"] for s in receiver.sheets()] == [before["SheetNum"]]


async def test_a_slow_receiver_holds_no_request_and_its_call_times_out(rest: Rest, stack: Stack) -> None:
    async with receiving() as receiver:
        receiver.delay = 3.0
        await _subscribe(rest, receiver)
        await _create_sheet(rest, stack)
        await receiver.wait_for(lambda: len(receiver.calls) == 1)
        started = time.monotonic()
        status, _, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert status == 200
        assert time.monotonic() - started < 0.5
        await asyncio.sleep(1.2)
        _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert listed[0]["LastError"] == "No answer within 1 seconds."
        # Nothing was acknowledged: the watermark has not moved past the sheet.
        assert datetime.fromisoformat(listed[0]["DateTimeStart"]) <= datetime.now()
        assert Counter(c.status for c in receiver.calls)[200] >= 1


async def test_a_receiver_that_refuses_connections_gets_everything_when_it_listens_again(
    rest: Rest, stack: Stack
) -> None:
    async with receiving() as receiver:
        await receiver.down()
        await _subscribe(rest, receiver)
        made = [(await _create_sheet(rest, stack))["SheetNum"] for _ in range(3)]
        deadline = time.monotonic() + 15
        listed: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
            if listed[0]["LastError"]:
                break
            await asyncio.sleep(0.1)
        assert listed[0]["LastError"].startswith("ClientConnectorError"), listed
        await receiver.up()
        await receiver.wait_for(lambda: len(receiver.sheets()) >= 3, within=20)
        assert [s["SheetNum"] for s in receiver.sheets()] == made
        metrics = stack.metrics.exposition().decode()
        assert 'sheets_event_deliveries_total{outcome="connection_error"}' in metrics

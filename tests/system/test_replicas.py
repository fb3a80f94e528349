"""Two `sheets serve` replicas on one MariaDB / PostgreSQL database behind nginx
(deploy/'s config): creates and reads spread over both, one replica killed
mid-run, the other keeps serving, and no write is lost or half-written."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.admin.demo import seed_demo
from service.admin.sheetdef_xml import insert_sheetdef, parse_sheetdef
from service.storage import db, models
from tests.support.databases import scratch_database
from tests.support.nginx import nginx_balancer
from tests.support.processes import kill, log_path, sheets
from tests.support.requires import SHEETDEF_FILES, require_open_dental_files, unavailable

CREATES = 200
CONCURRENCY = 8
KILL_AFTER = CREATES // 2
MEDICAL_HISTORY = "MedicalHist.xml"
FIELDS = 249
NGINX_NOTICES = 1.0
# What a call cut off by the killed replica looks like through nginx.
TRANSPORT_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
TRANSPORT_STATUSES = {502, 503, 504}


@pytest.fixture(params=["mysql", "postgres"])
async def shared_database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with scratch_database(request.param) as url:
        yield url


async def _prepare(url: str) -> tuple[int, list[int]]:
    """Tables, demo patients and Open Dental's 249-field Medical History; its SheetDefNum."""
    require_open_dental_files()
    path = next((p for p in SHEETDEF_FILES if p.name == MEDICAL_HISTORY), None)
    if path is None:
        unavailable(f"../shared/opendental/sheetdefs/{MEDICAL_HISTORY} is absent")
    sheet_def, fields = parse_sheetdef(path)
    assert len(fields) == FIELDS
    engine = db.create_engine(url)
    try:
        await db.init_db(engine)
        seeded = await seed_demo(engine)
        async with db.write_transaction(engine) as conn:
            number = await insert_sheetdef(conn, sheet_def, fields)
    finally:
        await engine.dispose()
    return number, seeded.patients


async def _creates_ok(session: aiohttp.ClientSession, rest_port: int) -> float:
    async with session.get(f"http://127.0.0.1:{rest_port}/metrics") as response:
        text = await response.text()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "sheets_api_calls_total" and s.labels == {"method": "CreateSheet", "code": "OK"}
    )


@dataclass
class Run:
    acked: list[tuple[int, int]] = field(default_factory=list)
    failures: list[tuple[int, str, float, float]] = field(default_factory=list)
    killed_at: float | None = None
    gone_at: float | None = None


@pytest.mark.slow
async def test_two_replicas_behind_nginx_share_one_database_and_survive_losing_one(
    shared_database: str, tmp_path: Path
) -> None:
    sheet_def_num, patients = await _prepare(shared_database)
    env = {"SHEETS_DATABASE_URL": shared_database, "SHEETS_RENDER_WORKERS": "1", "SHEETS_LOG_FORMAT": "json"}
    serve = ("serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0")
    async with AsyncExitStack() as stack:
        (a, (a_grpc, a_rest)), (_, (b_grpc, b_rest)) = await asyncio.gather(
            stack.enter_async_context(sheets(*serve, data_dir=tmp_path / "a", env=env)),
            stack.enter_async_context(sheets(*serve, data_dir=tmp_path / "b", env=env)),
        )
        balancer = stack.enter_context(
            nginx_balancer(
                tmp_path / "nginx",
                grpc=[f"127.0.0.1:{a_grpc}", f"127.0.0.1:{b_grpc}"],
                rest=[f"127.0.0.1:{a_rest}", f"127.0.0.1:{b_rest}"],
            )
        )
        session = await stack.enter_async_context(aiohttp.ClientSession())
        channel = await stack.enter_async_context(grpc.aio.insecure_channel(balancer.grpc_target))
        stub = SheetServiceStub(channel)
        run = Run()
        gate = asyncio.Semaphore(CONCURRENCY)
        kill_lock = asyncio.Lock()

        async def read_back(sheet_num: int, over_grpc: bool) -> None:
            # A read cut off by the kill is asked again; "not found" never is.
            for _ in range(5):
                try:
                    if over_grpc:
                        got = await stub.GetSheet(pb.GetSheetRequest(sheet_num=sheet_num), timeout=30)
                        assert got.sheet.sheet_num == sheet_num
                        return
                    url = f"{balancer.rest_url}/api/v1/sheets/{sheet_num}"
                    async with session.get(url) as response:
                        if response.status in TRANSPORT_STATUSES:
                            continue
                        assert response.status == 200, await response.text()
                        assert (await response.json())["SheetNum"] == sheet_num
                        return
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in TRANSPORT_CODES:
                        raise
            pytest.fail(f"sheet {sheet_num} could not be read back")

        async def create(i: int) -> None:
            pat_num = patients[i % len(patients)]
            over_grpc = i % 2 == 1
            async with gate:
                started = time.monotonic()
                try:
                    if over_grpc:
                        reply = await stub.CreateSheet(
                            pb.CreateSheetRequest(sheet_def_num=sheet_def_num, pat_num=pat_num), timeout=30
                        )
                        sheet_num = reply.sheet.sheet_num
                    else:
                        body = {"SheetDefNum": sheet_def_num, "PatNum": pat_num}
                        async with session.post(f"{balancer.rest_url}/api/v1/sheets", json=body) as response:
                            if response.status in TRANSPORT_STATUSES:
                                run.failures.append((i, str(response.status), started, time.monotonic()))
                                return
                            assert response.status == 200, await response.text()
                            sheet_num = (await response.json())["SheetNum"]
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in TRANSPORT_CODES:
                        raise
                    run.failures.append((i, exc.code().name, started, time.monotonic()))
                    return
                run.acked.append((pat_num, sheet_num))
                await read_back(sheet_num, over_grpc)
                async with kill_lock:
                    if run.killed_at is None and len(run.acked) >= KILL_AFTER:
                        # Both replicas took creates before one of them goes.
                        assert await _creates_ok(session, a_rest) > 0
                        assert await _creates_ok(session, b_rest) > 0
                        run.killed_at = time.monotonic()
                        await kill(a)
                        run.gone_at = time.monotonic()

        await asyncio.gather(*(create(i) for i in range(CREATES)))
        assert run.killed_at is not None
        assert run.gone_at is not None

        # Only calls that reached the replica while it was dying may have failed (nginx may
        # still hand a call to a kept-alive connection whose close it has not yet read).
        assert len(run.failures) <= CONCURRENCY, run.failures
        for _, _, started, ended in run.failures:
            assert started <= run.gone_at + NGINX_NOTICES, run.failures
            assert ended >= run.killed_at, run.failures
        # The survivor took every create after the kill.
        survivor_creates = await _creates_ok(session, b_rest)
        assert survivor_creates >= CREATES - KILL_AFTER - CONCURRENCY

        # Every committed write is seen by a read through the balancer.
        for pat_num in patients:
            listed: list[int] = []
            while True:
                reply = await stub.ListSheets(
                    pb.ListSheetsRequest(pat_num=pat_num, offset=len(listed), limit=100), timeout=30
                )
                listed += [s.sheet_num for s in reply.sheets]
                if len(reply.sheets) < 100:
                    break
            assert {n for p, n in run.acked if p == pat_num} <= set(listed)

    # Every sheet is whole, including any whose answer was lost with the replica.
    engine = db.create_engine(shared_database)
    try:
        async with engine.connect() as conn:
            counts = (
                await conn.execute(
                    sa.select(models.SHEET.c.SheetNum, sa.func.count(models.SHEETFIELD.c.SheetFieldNum))
                    .select_from(
                        models.SHEET.outerjoin(
                            models.SHEETFIELD, models.SHEETFIELD.c.SheetNum == models.SHEET.c.SheetNum
                        )
                    )
                    .where(models.SHEET.c.SheetDefNum == sheet_def_num)
                    .group_by(models.SHEET.c.SheetNum)
                )
            ).all()
    finally:
        await engine.dispose()
    assert len(counts) >= len(run.acked) >= CREATES - CONCURRENCY
    assert {count for _, count in counts} == {FIELDS}

    # The survivor's log: JSON lines, one per request, each with the id nginx gave it. (Killed at the
    # end, its render workers' resource tracker, a process of multiprocessing's, adds a plain warning.)
    text = log_path(tmp_path / "b", "serve").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    creates = [
        r for r in lines if r.get("event") == "request" and str(r.get("method", "")).endswith("CreateSheet")
    ]
    assert len(creates) >= (CREATES - KILL_AFTER) // 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["request_id"]) for r in creates)
    assert len({r["request_id"] for r in creates}) == len(creates)

"""Bounded work on both surfaces: deadlines, the REST time limit, the render
queue and the per-customer-key rate limit, each against a running service."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.api.limits import RateLimiter, WorkLimiter
from service.contract.auth import customer_key
from service.contract.errors import ResourceExhausted
from service.render.pool import PdfRenderer
from sheets.cli import main
from tests.support.sftp_servers import SilentServer
from tests.support.stack import ALL_KEY, READ_KEY, Rest, Stack, running_stack

METADATA = (("authorization", ALL_KEY),)


def export_body(sheet_num: int, port: int) -> dict[str, Any]:
    return {
        "SheetNum": sheet_num,
        "SftpAddress": f"127.0.0.1:{port}/stalled.pdf",
        "SftpUsername": "office",
        "SftpPassword": "never-logged",
    }


@asynccontextmanager
async def limited_stack(tmp_path: Path, renderer: PdfRenderer, **settings: Any) -> AsyncIterator[Stack]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
    # The SFTP connect wait outlasts every limit under test: only the limit can end a call early.
    settings.setdefault("sftp_connect_timeout", 30.0)
    async with running_stack(url, tmp_path, renderer, **settings) as stack:
        yield stack


@pytest.fixture
async def one_at_a_time(tmp_path: Path, renderer: PdfRenderer) -> AsyncIterator[Stack]:
    async with limited_stack(
        tmp_path, renderer, max_concurrent_renders=1, render_queue=1, request_timeout=1.5
    ) as stack:
        # The shared render workers warm before anything is timed: a render cannot be cut off once a worker
        # runs it, and a cold worker's first one outlasts these 1.5 s (when this file runs first, say).
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            stub = SheetServiceStub(channel)
            await stub.CreateSheet(pb.CreateSheetRequest(sheet_def_num=2, pat_num=1), metadata=METADATA)
            for _ in range(renderer.workers):
                await stub.RenderSheetPdf(pb.RenderSheetPdfRequest(sheet_num=1), metadata=METADATA)
        yield stack


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    async with SilentServer() as port:
        yield port


async def test_a_grpc_deadline_cancels_the_work_and_answers_deadline_exceeded(
    one_at_a_time: Stack, silent_port: int
) -> None:
    async with grpc.aio.insecure_channel(one_at_a_time.grpc_target) as channel:
        stub = SheetServiceStub(channel)
        request = pb.ExportSheetSftpRequest(
            sheet_num=1, sftp_address=f"127.0.0.1:{silent_port}/x.pdf", sftp_username="u", sftp_password="p"
        )
        # Demo sheet 1 must exist for the export to get as far as connecting.
        await stub.CreateSheet(pb.CreateSheetRequest(sheet_def_num=2, pat_num=1), metadata=METADATA)
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ExportSheetSftp(request, metadata=METADATA, timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 3
        # The API counts the call it never finished as cancelled, not as answered.
        counted = one_at_a_time.metrics.api_calls
        await asyncio.sleep(0.1)
        assert counted.labels("ExportSheetSftp", "CANCELLED")._value.get() == 1
        assert counted.labels("ExportSheetSftp", "OK")._value.get() == 0
        # The stalled export gave its render slot back: with one slot and a queue of one,
        # two more exports are admitted (one runs, one waits) rather than refused.
        await asyncio.sleep(0.2)
        calls = [
            asyncio.ensure_future(stub.ExportSheetSftp(request, metadata=METADATA, timeout=1.0))
            for _ in range(2)
        ]
        codes = []
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as each:
                await call
            codes.append(each.value.code())
        assert codes == [grpc.StatusCode.DEADLINE_EXCEEDED] * 2


@pytest.mark.parametrize("mode", ["in-process", "remote"])
async def test_a_rest_request_past_its_time_limit_is_cancelled_with_504(
    one_at_a_time: Stack, silent_port: int, mode: str
) -> None:
    async with aiohttp.ClientSession() as session:
        rest = Rest(session, one_at_a_time.rest_urls[mode])
        status, created, _ = await rest.request(
            "POST", "/api/v1/sheets", json={"SheetDefNum": 2, "PatNum": 1}
        )
        assert status == 200
        started = time.monotonic()
        body = export_body(created["SheetNum"], silent_port)
        status, message, _ = await rest.request("POST", "/api/v1/sheets/DownloadSftp", json=body)
        assert status == 504
        assert isinstance(message, str)
        assert message.endswith(".")
        assert time.monotonic() - started < 4
        await asyncio.sleep(0.3)
        # The slot is free again: a PDF renders at once.
        status, pdf, _ = await rest.request("GET", f"/api/v1/sheets/{created['SheetNum']}/pdf")
        assert status == 200
        assert pdf.startswith(b"%PDF-")


async def test_renders_beyond_the_queue_are_refused_with_429_and_retry_after(
    one_at_a_time: Stack, silent_port: int
) -> None:
    async with aiohttp.ClientSession() as session:
        rest = Rest(session, one_at_a_time.rest_urls["in-process"])
        status, created, _ = await rest.request(
            "POST", "/api/v1/sheets", json={"SheetDefNum": 2, "PatNum": 1}
        )
        body = export_body(created["SheetNum"], silent_port)
        # One export runs (stalled on the silent server), one waits: the queue is full.
        held = [
            asyncio.ensure_future(rest.request("POST", "/api/v1/sheets/DownloadSftp", json=body))
            for _ in range(2)
        ]
        await asyncio.sleep(0.5)
        status, message, response = await rest.request("GET", f"/api/v1/sheets/{created['SheetNum']}/pdf")
        assert status == 429
        assert message == "Too many renders and exports are in progress. Try again shortly."
        assert int(response.headers["Retry-After"]) >= 1
        # The same over gRPC, with the wait in a trailer.
        async with grpc.aio.insecure_channel(one_at_a_time.grpc_target) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await SheetServiceStub(channel).RenderSheetPdf(
                    pb.RenderSheetPdfRequest(sheet_num=created["SheetNum"]), metadata=METADATA
                )
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert dict(caught.value.trailing_metadata() or ())["retry-after"] == "1"
        # Through the remote gateway the Retry-After survives the hop.
        remote = Rest(session, one_at_a_time.rest_urls["remote"])
        status, _, response = await remote.request("GET", f"/api/v1/sheets/{created['SheetNum']}/pdf")
        assert status == 429
        assert response.headers["Retry-After"] == "1"
        for call in held:
            status, _, _ = await call
            assert status == 504


async def test_the_rate_limit_is_per_customer_key_with_retry_after(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    async with (
        limited_stack(tmp_path, renderer, rate_limit=0.5, rate_burst=3) as stack,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(session, stack.rest_urls["in-process"])
        statuses = [(await rest.request("GET", "/api/v1/sheetdefs"))[0] for _ in range(3)]
        assert statuses == [200, 200, 200]
        status, message, response = await rest.request("GET", "/api/v1/sheetdefs")
        assert status == 429
        assert message == "Too many requests for this API key. Try again later."
        # Half a token per second: up to 2 s until the next one (less if the three took a while).
        assert response.headers["Retry-After"] in ("1", "2")
        # Another customer's key has its own bucket.
        assert (await rest.request("GET", "/api/v1/sheetdefs", auth=READ_KEY))[0] == 200
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await SheetServiceStub(channel).ListSheetDefs(pb.ListSheetDefsRequest(), metadata=METADATA)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_the_rate_limit_is_off_by_default(stack: Stack) -> None:
    assert stack.settings.rate_limit == 0
    async with aiohttp.ClientSession() as session:
        rest = Rest(session, stack.rest_urls["in-process"])
        statuses = {(await rest.request("GET", "/api/v1/sheetdefs"))[0] for _ in range(60)}
        assert statuses == {200}


def test_the_token_bucket_refills_at_its_rate_and_never_beyond_its_burst() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    limiter.admit("a")
    limiter.admit("a")
    with pytest.raises(ResourceExhausted) as caught:
        limiter.admit("a")
    assert caught.value.retry_after == 1
    now[0] += 0.5
    limiter.admit("a")
    now[0] += 100
    limiter.admit("a")
    limiter.admit("a")
    with pytest.raises(ResourceExhausted):
        limiter.admit("a")
    limiter.admit("b")


async def test_the_work_limiter_admits_its_concurrency_plus_its_queue() -> None:
    limiter = WorkLimiter(concurrency=2, queue=1)
    release = asyncio.Event()
    running = []

    async def job() -> None:
        async with limiter.slot():
            running.append(1)
            await release.wait()

    tasks = [asyncio.ensure_future(job()) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert (len(running), limiter.admitted) == (2, 3)
    with pytest.raises(ResourceExhausted):
        async with limiter.slot():
            pass
    tasks[2].cancel()
    await asyncio.sleep(0.05)
    assert limiter.admitted == 2
    release.set()
    await asyncio.gather(*tasks[:2])
    assert limiter.admitted == 0


def test_customer_key_is_the_part_after_the_slash() -> None:
    assert customer_key("ODFHIR dev/cust") == "cust"
    assert customer_key(None) == ""
    assert customer_key("garbage") == ""


async def test_malformed_http_is_400_logged_at_info_without_a_traceback(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    port = int(stack.rest_urls["in-process"].rsplit(":", 1)[1])
    caplog.set_level(logging.DEBUG)
    for raw in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: ODFHIR devkey/cust\x00key\r\n\r\n",
        b"GET /he alth z HTTP/9\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer[:80]
    await asyncio.sleep(0.1)
    malformed = [r for r in caplog.records if "malformed HTTP" in r.getMessage()]
    assert len(malformed) == 3
    assert all(r.levelno == logging.INFO for r in malformed)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "custkey" not in caplog.text


def test_sheets_config_shows_every_limit_and_tls_setting_with_secrets_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_API_KEYS", "dev1/SecretCustomer42=read")
    monkeypatch.setenv("SHEETS_DATABASE_URL", "mysql+asyncmy://office:DbPassw0rd@127.0.0.1/od")
    monkeypatch.setenv("SHEETS_RATE_LIMIT", "5")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    for setting in (
        "SHEETS_MAX_BODY_BYTES=1048576",
        "SHEETS_REQUEST_TIMEOUT=60.0",
        "SHEETS_MAX_CONCURRENT_RENDERS=4",
        "SHEETS_RENDER_QUEUE=8",
        "SHEETS_RATE_LIMIT=5.0",
        "SHEETS_RATE_BURST=20",
        "SHEETS_TLS_CERT_FILE=(unset)",
        "SHEETS_TLS_CLIENT_CA_FILE=(unset)",
        "SHEETS_ALLOW_PLAINTEXT=false",
        "SHEETS_API_KEYS=dev1/*** (read)",
    ):
        assert setting in out
    assert "SecretCustomer42" not in out
    assert "DbPassw0rd" not in out

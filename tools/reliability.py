"""Write docs/reliability.md from a real run: the service fuzzed from its own
OpenAPI document, faults injected (databases stopped under traffic, a process
killed mid-create, malformed HTTP) and every limit hit, each outcome counted.

    .venv/bin/python tools/reliability.py [docs/reliability.md]   (or `make reliability`)

A failure is an answer the contract does not allow (a 5xx, a wrong status, a
call that hangs, a half sheet); the run exits 1 when there is any.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import grpc  # noqa: E402

from opendental.sheets.v1 import sheet_service_pb2 as pb  # noqa: E402
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub  # noqa: E402
from service.render import PdfRenderer  # noqa: E402
from tests.support.sftp_servers import SilentServer  # noqa: E402
from tests.support.stack import ALL_KEY, READ_KEY, Rest, running_stack  # noqa: E402

METADATA = (("authorization", ALL_KEY),)
# What the stalled exports send as a password (no server ever reads it).
STALLED_PASSWORD = "never-logged"  # noqa: S105
UNAVAILABLE = "The database is unavailable. Try again later."


@dataclass
class Row:
    scenario: str
    requests: int
    outcomes: str
    failures: int
    note: str = ""


def _counts(outcomes: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" for name, n in outcomes.most_common())


async def fuzzing(tmp: Path, renderer: PdfRenderer) -> Row:
    from tests.system.test_fuzz import run_schemathesis

    settings = {
        "sftp_allowed_hosts": "127.0.0.1",
        "sftp_connect_timeout": 2.0,
        "events_allowed_hosts": "127.0.0.1,localhost,::1",
    }
    async with running_stack(f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}", tmp, renderer, **settings) as stack:
        run = await run_schemathesis(stack.rest_urls["in-process"], tmp / "fuzz", max_examples=40)
    cases = run.report.get("test_cases", {})
    phases = ", ".join(f"{name} {phase['status']}" for name, phase in run.report.get("phases", {}).items())
    failures = int(cases.get("with_failures", 0)) + len(run.report.get("errors", [])) + (run.exit_code != 0)
    return Row(
        "schemathesis: examples, coverage, fuzzing, stateful; every check; seed 20261201",
        int(cases.get("generated", 0)),
        phases,
        failures,
        "zero 5xx, zero schema violations, valid requests refused only by the business rules",
    )


async def render_queue(tmp: Path, renderer: PdfRenderer) -> list[Row]:
    settings = {
        "max_concurrent_renders": 1,
        "render_queue": 1,
        "request_timeout": 2.0,
        "sftp_connect_timeout": 30.0,
    }
    url = f"sqlite+aiosqlite:///{tmp / 'queue.db'}"
    async with (
        running_stack(url, tmp, renderer, **settings) as stack,
        SilentServer() as silent,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(session, stack.rest_urls["in-process"])
        _, sheet, _ = await rest.request("POST", "/api/v1/sheets", json={"SheetDefNum": 2, "PatNum": 1})
        body = {
            "SheetNum": sheet["SheetNum"],
            "SftpAddress": f"127.0.0.1:{silent}/stall.pdf",
            "SftpUsername": "office",
            "SftpPassword": STALLED_PASSWORD,
        }
        held = [
            asyncio.ensure_future(rest.request("POST", "/api/v1/sheets/DownloadSftp", json=body))
            for _ in range(2)
        ]
        await asyncio.sleep(0.5)
        queue: Counter[str] = Counter()
        queue_failures = 0
        for _ in range(20):
            status, _, response = await rest.request("GET", f"/api/v1/sheets/{sheet['SheetNum']}/pdf")
            queue[str(status)] += 1
            queue_failures += status != 429 or not response.headers.get("Retry-After")
        timeouts: Counter[str] = Counter()
        started = time.monotonic()
        for call in held:
            status, _, _ = await call
            timeouts[str(status)] += 1
        waited = time.monotonic() - started
        deadlines: Counter[str] = Counter()
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            stub = SheetServiceStub(channel)
            request = pb.ExportSheetSftpRequest(
                sheet_num=sheet["SheetNum"],
                sftp_address=f"127.0.0.1:{silent}/stall.pdf",
                sftp_username="office",
                sftp_password=STALLED_PASSWORD,
            )
            for _ in range(5):
                try:
                    await stub.ExportSheetSftp(request, metadata=METADATA, timeout=0.5)
                    deadlines["OK"] += 1
                except grpc.aio.AioRpcError as error:
                    deadlines[error.code().name] += 1
    return [
        Row(
            "render queue full (1 running, 1 waiting)",
            20,
            _counts(queue),
            queue_failures,
            "429 with Retry-After",
        ),
        Row(
            "REST time limit (SHEETS_REQUEST_TIMEOUT=2) on stalled exports",
            2,
            _counts(timeouts),
            sum(n for status, n in timeouts.items() if status != "504"),
            f"both answered within {waited:.1f} s",
        ),
        Row(
            "gRPC deadline 0.5 s on stalled exports",
            5,
            _counts(deadlines),
            sum(n for code, n in deadlines.items() if code != "DEADLINE_EXCEEDED"),
            "work cancelled: each next export was admitted, none refused as busy",
        ),
    ]


async def rate_limit(tmp: Path, renderer: PdfRenderer) -> Row:
    url = f"sqlite+aiosqlite:///{tmp / 'rate.db'}"
    outcomes: Counter[str] = Counter()
    failures = 0
    async with (
        running_stack(url, tmp, renderer, rate_limit=2.0, rate_burst=5) as stack,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(session, stack.rest_urls["in-process"])
        for n in range(30):
            status, _, response = await rest.request("GET", "/api/v1/sheetdefs")
            outcomes[str(status)] += 1
            if n < 5 and status != 200:
                failures += 1
            if status == 429 and not response.headers.get("Retry-After"):
                failures += 1
            if status not in (200, 429):
                failures += 1
        other, _, _ = await rest.request("GET", "/api/v1/sheetdefs", auth=READ_KEY)
        failures += other != 200
    failures += outcomes["429"] == 0
    return Row(
        "rate limit 2/s, burst 5, one customer key", 31, _counts(outcomes), failures, "another key unaffected"
    )


async def malformed_http(tmp: Path, renderer: PdfRenderer) -> Row:
    raw_requests = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"GET /he alth z HTTP/9\r\n\r\n",
        b"POST /api/v1/sheets HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"GET /api/v1/sheets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] * 4
    outcomes: Counter[str] = Counter()
    async with running_stack(f"sqlite+aiosqlite:///{tmp / 'http.db'}", tmp, renderer) as stack:
        port = int(stack.rest_urls["in-process"].rsplit(":", 1)[1])
        for raw in raw_requests:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
            line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
            outcomes[line.split(" ", 2)[1] if " " in line else "closed"] += 1
    failures = sum(n for status, n in outcomes.items() if status not in ("400", "closed"))
    return Row(
        "malformed HTTP (bad header bytes, request lines, lengths, TLS to HTTP)",
        20,
        _counts(outcomes),
        failures,
    )


async def kill_mid_create(tmp: Path) -> list[Row]:
    from tests.system.test_crash import _prove_no_half_sheet, _seeded

    rows = []
    targets: list[tuple[str, str, bool]] = [("SQLite", f"sqlite+aiosqlite:///{tmp / 'kill.db'}", True)]
    for name, env in (
        ("PostgreSQL", "SHEETS_TEST_POSTGRES_URL"),
        ("MariaDB InnoDB", "SHEETS_TEST_MYSQL_URL"),
    ):
        if os.environ.get(env):
            targets.append((name, os.environ[env], True))
    for name, url, transactional in targets:
        from tests.support.databases import _create_database, _drop_database

        base = url
        if not url.startswith("sqlite"):
            url = await _create_database(base)
        try:
            await _seeded(url)
            failures = 0
            try:
                await _prove_no_half_sheet(url, transactional=transactional)
            except AssertionError:
                failures = 1
            rows.append(Row(f"SIGKILL mid-create, {name}", 1, "no visible half sheet", failures))
        finally:
            if not base.startswith("sqlite"):
                await _drop_database(base, url)
    if os.environ.get("SHEETS_TEST_MYSQL_URL"):
        rows.append(await _kill_on_myisam(os.environ["SHEETS_TEST_MYSQL_URL"]))
    return rows


async def _kill_on_myisam(base: str) -> Row:
    from service.storage import db, models
    from tests.support.databases import _create_database, _drop_database
    from tests.system.test_crash import _prove_no_half_sheet, _seeded

    url = await _create_database(base)
    try:
        await _seeded(url)
        engine = db.create_engine(url)
        async with engine.begin() as conn:
            for table in (models.SHEET.name, models.SHEETFIELD.name):
                await conn.exec_driver_sql(f"ALTER TABLE {table} ENGINE=MyISAM")
        await engine.dispose()
        try:
            await _prove_no_half_sheet(url, transactional=False)
            failures = 0
        except AssertionError:
            failures = 1
    finally:
        await _drop_database(base, url)
    return Row("SIGKILL mid-create, MariaDB MyISAM (no transactions)", 1, "sheet still hidden", failures)


async def outage(kind: str, tmp: Path, renderer: PdfRenderer) -> Row:
    from tests.support.db_servers import throwaway_server
    from tests.system.test_outages import Traffic, _drive

    name = {"postgres": "PostgreSQL", "mysql": "MariaDB"}[kind]
    try:
        manager = throwaway_server(kind)
        server = await asyncio.to_thread(manager.__enter__)
    except BaseException as exc:  # a missing server binary skips (pytest's Skipped is a BaseException)
        return Row(f"{name} stopped under traffic", 0, "not run", 0, f"skipped: {exc}")
    try:
        async with running_stack(server.url, tmp / kind, renderer) as stack:
            traffic, stop = Traffic(), asyncio.Event()
            driver = asyncio.ensure_future(_drive(stack, traffic, stop))
            await asyncio.sleep(1.0)
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(3.0)
            await asyncio.to_thread(server.start)
            back = time.monotonic()
            recovered = None
            while time.monotonic() - back < 30:
                recent = traffic.calls[-6:]
                if len(recent) == 6 and {outcome for _, outcome, _ in recent} == {"OK"}:
                    recovered = time.monotonic() - back
                    break
                await asyncio.sleep(0.2)
            stop.set()
            await driver
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
    allowed = ("OK", f"503 {UNAVAILABLE}", f"UNAVAILABLE {UNAVAILABLE}")
    outcomes = Counter(outcome.split(" ", 1)[0] for _, outcome, _ in traffic.calls)
    slowest = max(seconds for _, _, seconds in traffic.calls)
    failures = sum(1 for _, outcome, _ in traffic.calls if outcome not in allowed)
    failures += slowest >= 5 or recovered is None
    note = f"slowest call {slowest:.2f} s; recovered {recovered:.1f} s after restart, no service restart"
    return Row(
        f"{name} stopped under traffic (gRPC + both gateways), then restarted",
        len(traffic.calls),
        _counts(outcomes),
        failures,
        note if recovered is not None else "no recovery",
    )


async def run() -> list[Row]:
    renderer = PdfRenderer(workers=2)
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="sheets-reliability-") as folder:
            tmp = Path(folder)
            steps: list[Callable[[], Awaitable[Any]]] = [
                lambda: fuzzing(tmp / "fuzz", renderer),
                lambda: render_queue(tmp / "queue", renderer),
                lambda: rate_limit(tmp / "rate", renderer),
                lambda: malformed_http(tmp / "http", renderer),
                lambda: kill_mid_create(tmp / "kill"),
                lambda: outage("postgres", tmp / "pg", renderer),
                lambda: outage("mysql", tmp / "mariadb", renderer),
            ]
            for step in steps:
                for path in ("fuzz", "queue", "rate", "http", "kill", "pg", "mariadb"):
                    (tmp / path).mkdir(exist_ok=True)
                result = await step()
                rows += result if isinstance(result, list) else [result]
                print(f"  {rows[-1].scenario}: {rows[-1].failures} failures", flush=True)
    finally:
        await asyncio.to_thread(renderer.close)
    return rows


def markdown(rows: list[Row], seconds: float) -> str:
    total = sum(row.requests for row in rows)
    failures = sum(row.failures for row in rows)
    lines = [
        "# Reliability run",
        "",
        "Written by `make reliability` (`tools/reliability.py`) from a real run against the service on",
        "loopback: the REST API fuzzed from its own OpenAPI document, faults injected (database servers",
        "stopped under traffic and restarted, a process killed in the middle of creating a sheet, malformed",
        "HTTP) and every limit hit. A failure is an answer the contract does not allow: a 5xx, a status",
        "other than the one the limit promises, a call past 5 s while a database is down, a visible half",
        "sheet.",
        "",
        f"Run {datetime.now().strftime('%Y-%m-%d %H:%M')} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, in {seconds:.0f} s.",
        "",
        f"**Requests: {total}. Failures: {failures}.**",
        "",
        "| scenario | requests | outcomes | failures | note |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.scenario} | {row.requests} | {row.outcomes} | {row.failures} | {row.note} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    # Expected warnings (a database down on purpose) would drown the progress lines.
    logging.basicConfig(level=logging.ERROR)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "reliability.md"
    started = time.monotonic()
    rows = asyncio.run(run())
    text = markdown(rows, time.monotonic() - started)
    target.write_text(text)
    failures = sum(row.failures for row in rows)
    print(f"{target}: {sum(row.requests for row in rows)} requests, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())

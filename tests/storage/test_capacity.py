"""A full database is not an outage: on a real filesystem the test makes small and
fills with Open Dental's 249-field Medical History, every refused create answers
RESOURCE_EXHAUSTED / 507 with the full-disk sentence and no Retry-After, no sheet
is half-written, reads are served, the operator sees one ERROR line, a metric and
`/readyz` naming the condition, and writes resume once the filesystem grows, without
a restart. On SQLite (the database file's folder on a tmpfs), MariaDB (its data
directory on one) and PostgreSQL (its data directory on one, the WAL beside it)."""

from __future__ import annotations

import asyncio
import contextlib
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.admin.sheetdef_xml import insert_sheetdef, parse_sheetdef
from service.render.pool import PdfRenderer
from service.storage import db, models
from service.storage.models import SheetDef, SheetFieldDef
from service.vocab.enums import SheetFieldType, SheetType
from tests.support.db_servers import MariaDbServer, PostgresServer
from tests.support.logs import LogLines, captured_logs
from tests.support.requires import SHEETDEFS, unavailable
from tests.support.small_fs import SmallFilesystem, small_filesystem
from tests.support.stack import ALL_KEY, Rest, Stack, running_stack

if TYPE_CHECKING:
    from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceAsyncStub

pytestmark = pytest.mark.slow
MB = 1 << 20
FULL = "The database is full. Nothing was saved; the database's disk needs more space."
FIELDS = 249
# Creates refused in a row that say the filesystem is full for good (not one unlucky moment).
REFUSALS = 9
MAX_CREATES = 600
AUTH = (("authorization", ALL_KEY),)


def _medical_history() -> tuple[SheetDef, list[SheetFieldDef]]:
    """Open Dental's Medical History (../shared), or one of the same size built here where it is absent."""
    path = SHEETDEFS / "MedicalHist.xml"
    if path.is_file():
        sheet_def, fields = parse_sheetdef(path)
        assert len(fields) == FIELDS
        return sheet_def, fields
    sheet_def = SheetDef(
        Description="Medical History",
        SheetType=int(SheetType.MedicalHistory),
        FontSize=11.0,
        FontName="Arial",
        Width=850,
        Height=1100,
    )
    fields = []
    for i in range(FIELDS):
        kind = SheetFieldType.StaticText if i % 3 == 0 else SheetFieldType.InputField
        fields.append(
            SheetFieldDef(
                FieldType=int(kind),
                FieldName="misc" if kind == SheetFieldType.InputField else "",
                FieldValue=f"Have you ever had condition number {i}?"
                if kind == SheetFieldType.StaticText
                else "",
                ReportableName=f"question{i}" if kind == SheetFieldType.InputField else "",
                FontSize=11.0,
                FontName="Arial",
                XPos=50 + (i % 3) * 260,
                YPos=50 + (i // 3) * 13,
                Width=250,
                Height=13,
            )
        )
    return sheet_def, fields


async def _add_medical_history(stack: Stack) -> int:
    sheet_def, fields = _medical_history()
    async with db.write_transaction(stack.engine) as conn:
        return await insert_sheetdef(conn, sheet_def, fields)


@dataclass
class Fill:
    acked: list[int] = field(default_factory=list)
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)


async def _create(
    stub: SheetServiceAsyncStub, rests: list[Rest], i: int, sheet_def_num: int, pat_num: int
) -> str:
    """One create on gRPC or a gateway (in turn): "OK <SheetNum>", "FULL", or what else came back."""
    if i % 3 == 0:
        try:
            reply = await stub.CreateSheet(
                pb.CreateSheetRequest(sheet_def_num=sheet_def_num, pat_num=pat_num), metadata=AUTH, timeout=60
            )
        except grpc.aio.AioRpcError as error:
            trailers = dict(error.trailing_metadata() or ())
            if (
                error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                and error.details() == FULL
                and "retry-after" not in trailers
            ):
                return "FULL"
            return f"grpc {error.code().name} {error.details()} {sorted(trailers)}"
        return f"OK {reply.sheet.sheet_num}"
    rest = rests[i % 3 - 1]
    status, body, response = await rest.request(
        "POST", "/api/v1/sheets", json={"SheetDefNum": sheet_def_num, "PatNum": pat_num}
    )
    if status == 200:
        return f"OK {body['SheetNum']}"
    if status == 507 and body == FULL and "Retry-After" not in response.headers:
        return "FULL"
    return f"rest {rest.base} {status} {body} {dict(response.headers)}"


async def _fill(stub: SheetServiceAsyncStub, rests: list[Rest], sheet_def_num: int, pat_num: int) -> Fill:
    """Create Medical Histories until REFUSALS creates in a row are refused for a full disk."""
    fill, in_a_row = Fill(), 0
    for i in range(MAX_CREATES):
        outcome = await _create(stub, rests, i, sheet_def_num, pat_num)
        if outcome.startswith("OK "):
            fill.acked.append(int(outcome.split()[1]))
            in_a_row = 0
        elif outcome == "FULL":
            fill.refused += 1
            in_a_row += 1
            if in_a_row == REFUSALS:
                break
        else:
            fill.unexpected.append(outcome)
    return fill


def _samples(text: str, name: str) -> dict[str, float]:
    return {
        s.labels["condition"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def _complete_sheets(stack: Stack, sheet_def_num: int) -> dict[int, int]:
    """Every Medical History in the database and its number of fields."""
    sheet, field_ = models.SHEET.c, models.SHEETFIELD.c
    query = (
        sa.select(sheet.SheetNum, sa.func.count(field_.SheetFieldNum))
        .select_from(models.SHEET.outerjoin(models.SHEETFIELD, field_.SheetNum == sheet.SheetNum))
        .where(sheet.SheetDefNum == sheet_def_num)
        .group_by(sheet.SheetNum)
    )
    async with stack.engine.connect() as conn:
        return {int(num): int(count) for num, count in (await conn.execute(query)).all()}


def _capacity_lines(logs: LogLines, level: str) -> list[dict[str, object]]:
    return [r for r in logs.records() if r.get("condition") == "disk_full" and r["level"] == level]


async def _fill_check_and_grow(stack: Stack, fs: SmallFilesystem, grow_to: int) -> None:
    """The whole experiment on a running service whose database sits on `fs`."""
    sheet_def_num = await _add_medical_history(stack)
    pat_num = stack.demo_patients[0]
    with captured_logs() as logs:
        async with (
            aiohttp.ClientSession() as session,
            grpc.aio.insecure_channel(stack.grpc_target) as channel,
        ):
            stub = SheetServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            local, remote = (Rest(session, url) for url in stack.rest_urls.values())
            fill = await _fill(stub, [local, remote], sheet_def_num, pat_num)

            assert not fill.unexpected, fill.unexpected[:3]
            assert fill.acked, "not one Medical History fitted on the filesystem"
            assert fill.refused >= REFUSALS, f"the filesystem never filled ({len(fill.acked)} created)"
            # Nothing half-written: every sheet there was acknowledged and has all its fields.
            sheets = await _complete_sheets(stack, sheet_def_num)
            assert set(sheets) == set(fill.acked)
            assert set(sheets.values()) == {FIELDS}

            # Reads are served, on every surface.
            listed = await stub.ListSheets(pb.ListSheetsRequest(pat_num=pat_num, limit=100), metadata=AUTH)
            assert set(fill.acked[:100]) <= {s.sheet_num for s in listed.sheets}
            got = await stub.GetSheet(pb.GetSheetRequest(sheet_num=fill.acked[-1]), metadata=AUTH)
            assert got.sheet.sheet_num == fill.acked[-1]
            for rest in (local, remote):
                status, body, _ = await rest.request("GET", f"/api/v1/sheets/{fill.acked[0]}")
                assert (status, body["SheetNum"]) == (200, fill.acked[0])

            # The operator: /readyz names it (still 200: reads are served), health stays SERVING,
            # one ERROR line for the condition, not one per refusal, and the metric.
            status, body, _ = await local.request("GET", "/readyz", auth=None)
            assert status == 200
            assert body.startswith("Ready, but the database is full (since ")
            assert body.endswith(": writes are refused, reads are served.")
            assert (await remote.request("GET", "/readyz", auth=None))[:2] == (200, "ready")
            reply = await health.Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            (line,) = _capacity_lines(logs, "error")
            assert "the database is full" in str(line["event"])
            assert line["db_message"]
            assert not [r for r in logs.records() if str(r["event"]).endswith("database unavailable")]
            exposition = stack.metrics.exposition().decode()
            assert _samples(exposition, "sheets_db_capacity_fault")["disk_full"] == 1
            assert _samples(exposition, "sheets_db_capacity_refusals_total")["disk_full"] == fill.refused

            # Room again: writes resume without a restart, and the condition clears.
            fs.resize(grow_to)
            for i in range(3):
                outcome = await _create(stub, [local, remote], i, sheet_def_num, pat_num)
                assert outcome.startswith("OK "), outcome
            assert (await local.request("GET", "/readyz", auth=None))[:2] == (200, "ready")
            exposition = stack.metrics.exposition().decode()
            assert _samples(exposition, "sheets_db_capacity_fault")["disk_full"] == 0
            assert len(_capacity_lines(logs, "info")) == 1
            assert set((await _complete_sheets(stack, sheet_def_num)).values()) == {FIELDS}


async def test_sqlite_on_a_full_filesystem_refuses_creates_as_full_and_writes_again_once_it_grows(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    with small_filesystem(tmp_path / "db", 3 * MB) as fs:
        url = f"sqlite+aiosqlite:///{fs.path / 'sheets.db'}"
        async with running_stack(url, tmp_path / "data", renderer, readiness_interval=0.2) as stack:
            await _fill_check_and_grow(stack, fs, 64 * MB)
            async with stack.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA integrity_check")).scalar_one() == "ok"


@asynccontextmanager
async def _started(server: PostgresServer | MariaDbServer) -> AsyncIterator[None]:
    await asyncio.to_thread(server.init)
    await asyncio.to_thread(server.start)
    try:
        yield
    finally:
        await asyncio.to_thread(server.close)


async def _on_a_nearly_full_server(
    server: PostgresServer | MariaDbServer, fs: SmallFilesystem, tmp_path: Path, renderer: PdfRenderer
) -> None:
    async with (
        _started(server),
        running_stack(server.url, tmp_path / "data", renderer, readiness_interval=0.2) as stack,
    ):
        # What the server made at start stays; leave it a few megabytes to write in.
        fs.resize(fs.used + 4 * MB)
        await _fill_check_and_grow(stack, fs, fs.used + 256 * MB)


@contextlib.contextmanager
def _small_data_directory(size: int, owner: tuple[int, int] | None = None) -> Iterator[SmallFilesystem]:
    """A small filesystem for a server's data directory, in a folder of its own (not under
    pytest's tmp_path, which is private to root: PostgreSQL runs as its own user)."""
    folder = Path(tempfile.mkdtemp(prefix="sheets-full-"))
    folder.chmod(0o755)
    try:
        with small_filesystem(folder / "data", size, owner=owner) as fs:
            yield fs
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_mariadb_with_its_data_directory_full_refuses_creates_as_full_and_writes_again_once_it_grows(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    with _small_data_directory(512 * MB) as fs:
        await _on_a_nearly_full_server(MariaDbServer(fs.path), fs, tmp_path, renderer)


async def test_postgres_with_its_data_directory_full_refuses_creates_as_full_and_writes_again_once_it_grows(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        unavailable("there is no postgres user to run a throwaway PostgreSQL server")
    with _small_data_directory(256 * MB, owner=(user.pw_uid, user.pw_gid)) as fs:
        await _on_a_nearly_full_server(PostgresServer(fs.path), fs, tmp_path, renderer)

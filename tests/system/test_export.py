"""ExportSheetSftp (POST /sheets/DownloadSftp) through REST (both gateway modes)
and gRPC, against asyncssh's and OpenSSH's SFTP servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.contract.errors import HTTP_STATUS_BY_GRPC_CODE
from service.render.pool import PdfRenderer
from tests.support.requires import open_dental_files
from tests.support.sftp_servers import PASSWORD, USERNAME, Peer, contents, free_port, write_file
from tests.support.stack import ALL_KEY, Rest, Stack, running_stack

SURFACES = ["rest-in-process", "rest-remote", "grpc"]


@dataclass
class Outcome:
    """What a caller saw: HTTP status (gRPC codes mapped by the error table), location or message."""

    status: int
    location: str | None = None
    message: str | None = None


class Exporter:
    def __init__(self, surface: str, stack: Stack, session: aiohttp.ClientSession) -> None:
        self.surface, self.stack, self.session = surface, stack, session

    async def sheet(self) -> int:
        rest = Rest(self.session, self.stack.rest_urls["in-process"])
        body = {"SheetDefNum": self.stack.demo_sheet_defs[4], "PatNum": self.stack.demo_patients[0]}
        status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
        assert status == 200
        return int(sheet["SheetNum"])

    async def export(
        self, address: str, *, password: str = PASSWORD, sheet_num: int | None = None
    ) -> Outcome:
        number = sheet_num if sheet_num is not None else await self.sheet()
        body = {
            "SheetNum": number,
            "SftpAddress": address,
            "SftpUsername": USERNAME,
            "SftpPassword": password,
        }
        if self.surface == "grpc":
            return await self._grpc(body)
        rest = Rest(self.session, self.stack.rest_urls[self.surface.removeprefix("rest-")])
        status, reply, response = await rest.request("POST", "/api/v1/sheets/DownloadSftp", json=body)
        if status == 201:
            assert reply == {"location": response.headers["Location"]}
            return Outcome(status, location=reply["location"])
        assert password not in str(reply)
        return Outcome(status, message=reply)

    async def _grpc(self, body: dict[str, Any]) -> Outcome:
        request = pb.ExportSheetSftpRequest(
            sheet_num=body["SheetNum"],
            sftp_address=body["SftpAddress"],
            sftp_username=body["SftpUsername"],
            sftp_password=body["SftpPassword"],
        )
        async with grpc.aio.insecure_channel(self.stack.grpc_target) as channel:
            try:
                reply = await SheetServiceStub(channel).ExportSheetSftp(
                    request, metadata=(("authorization", ALL_KEY),)
                )
            except grpc.aio.AioRpcError as error:
                failed = Outcome(HTTP_STATUS_BY_GRPC_CODE[error.code().name], message=error.details())
            else:
                return Outcome(201, location=reply.location)
        assert body["SftpPassword"] not in (failed.message or "")
        return failed


@pytest.fixture(params=SURFACES)
async def exporter(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[Exporter]:
    async with aiohttp.ClientSession() as session:
        yield Exporter(request.param, stack, session)


def _is_pdf(data: bytes | None) -> bool:
    return data is not None and data.startswith(b"%PDF-")


async def test_export_creates_nested_folders_and_answers_201_with_the_location(
    exporter: Exporter, peer: Peer
) -> None:
    address = peer.address("Sheets/2026/November/exam.pdf")
    outcome = await exporter.export(address)
    assert outcome == Outcome(201, location=address)
    assert list(contents(peer.root)) == ["Sheets/2026/November/exam.pdf"]
    assert _is_pdf(contents(peer.root)["Sheets/2026/November/exam.pdf"])


async def test_export_overwrites_an_existing_file(exporter: Exporter, peer: Peer) -> None:
    write_file(peer.root / "exam.pdf", b"old contents")
    assert (await exporter.export(peer.address("exam.pdf"))).status == 201
    assert _is_pdf(contents(peer.root)["exam.pdf"])


async def test_export_without_a_file_name_writes_sheet_pdf(exporter: Exporter, peer: Peer) -> None:
    outcome = await exporter.export(peer.address("Sheets/"))
    assert outcome == Outcome(201, location=peer.address("Sheets/sheet.pdf"))
    assert _is_pdf(contents(peer.root)["Sheets/sheet.pdf"])


async def test_export_refuses_a_non_pdf_extension_without_connecting(exporter: Exporter, peer: Peer) -> None:
    outcome = await exporter.export(peer.address("exam.docx"))
    assert outcome.status == 400
    assert outcome.message is not None
    assert outcome.message.startswith("Invalid file extension")
    assert peer.connection_count() == 0


async def test_export_with_a_wrong_password_is_400_without_the_password(
    exporter: Exporter, peer: Peer
) -> None:
    outcome = await exporter.export(peer.address("exam.pdf"), password="not-the-Pa55word")
    assert outcome.status == 400
    assert contents(peer.root) == {}


async def test_export_to_a_closed_port_is_400(exporter: Exporter) -> None:
    outcome = await exporter.export(f"127.0.0.1:{free_port()}/exam.pdf")
    assert outcome.status == 400
    assert outcome.message


async def test_export_of_a_missing_sheet_is_404(exporter: Exporter, peer: Peer) -> None:
    outcome = await exporter.export(peer.address("exam.pdf"), sheet_num=987654)
    assert outcome == Outcome(404, message="Sheet not found.")


async def test_a_connection_dropped_mid_upload_leaves_no_file(exporter: Exporter, tmp_path: Path) -> None:
    from tests.support.sftp_servers import asyncssh_peer

    async with asyncssh_peer(tmp_path / "root") as peer, peer.dropping() as port:
        outcome = await exporter.export(f"127.0.0.1:{port}/Sheets/exam.pdf")
    assert outcome.status == 400
    assert "Sheets/exam.pdf" not in contents(peer.root)


@pytest.mark.parametrize("surface", SURFACES)
async def test_strict_host_keys_refuse_an_unknown_server(
    surface: str, peer: Peer, tmp_path: Path, renderer: PdfRenderer
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'strict.db'}"
    async with (
        running_stack(url, tmp_path / "data", renderer, sftp_host_keys="strict") as stack,
        aiohttp.ClientSession() as session,
    ):
        outcome = await Exporter(surface, stack, session).export(peer.address("exam.pdf"))
    assert outcome.status == 400
    assert contents(peer.root) == {}


@open_dental_files
async def test_list_sheets_keeps_answering_while_249_field_exports_run(tmp_path: Path) -> None:
    """Each export's render holds a CPU for LONG_RENDER_SECONDS; were rendering on the
    event loop, a ListSheets call would wait that long behind it."""
    from service.admin.sheetdef_xml import insert_sheetdef, parse_sheetdef
    from service.storage import db
    from tests.support.render_workers import LONG_RENDER_SECONDS, long_render
    from tests.support.requires import SHEETDEF_FILES
    from tests.support.sftp_servers import asyncssh_peer

    medical = next(p for p in SHEETDEF_FILES if p.name == "MedicalHist.xml")
    sheet_def, field_defs = parse_sheetdef(medical)
    assert len(field_defs) == 249
    renderer = PdfRenderer(workers=2, render_fn=long_render)
    url = f"sqlite+aiosqlite:///{tmp_path / 'stall.db'}"
    try:
        async with (
            running_stack(url, tmp_path / "data", renderer) as stack,
            aiohttp.ClientSession() as session,
            asyncssh_peer(tmp_path / "root") as peer,
            grpc.aio.insecure_channel(stack.grpc_target) as channel,
        ):
            async with db.write_transaction(stack.engine) as conn:
                def_num = await insert_sheetdef(conn, sheet_def, field_defs)
            rest = Rest(session, stack.rest_urls["in-process"])
            numbers = []
            for _ in range(4):
                body = {"SheetDefNum": def_num, "PatNum": stack.demo_patients[0]}
                numbers.append(int((await rest.request("POST", "/api/v1/sheets", json=body))[1]["SheetNum"]))
            stub = SheetServiceStub(channel)
            request = pb.ListSheetsRequest(pat_num=stack.demo_patients[0])
            auth = (("authorization", ALL_KEY),)
            await stub.ListSheets(request, metadata=auth)
            exporter = Exporter("rest-in-process", stack, session)
            exports = [
                asyncio.create_task(exporter.export(peer.address(f"medical-{n}.pdf"), sheet_num=n))
                for n in numbers
            ]
            latencies = []
            while not all(task.done() for task in exports):
                started = time.perf_counter()
                reply = await stub.ListSheets(request, metadata=auth)
                latencies.append(time.perf_counter() - started)
                assert len(reply.sheets) == 4
            outcomes = [task.result() for task in exports]
    finally:
        renderer.close()
    assert [o.status for o in outcomes] == [201] * 4
    assert sorted(contents(peer.root)) == sorted(f"medical-{n}.pdf" for n in numbers)
    # 4 renders on 2 workers take at least two rounds of LONG_RENDER_SECONDS.
    assert len(latencies) >= 10
    assert max(latencies) < LONG_RENDER_SECONDS / 2

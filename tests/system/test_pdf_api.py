"""RenderSheetPdf on both surfaces and `sheets render`."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import grpc
import pytest
from pypdf import PdfReader

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.config.settings import Settings
from service.filling.create import create_sheet
from service.storage import db
from sheets.cli import main
from sheets.practice import practice_from
from tests.support.stack import ALL_KEY, Rest, Stack

AUTH = (("authorization", ALL_KEY),)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def _letter(rest: Rest, stack: Stack) -> int:
    body = {"SheetDefNum": stack.demo_sheet_defs[1], "PatNum": stack.demo_patients[1]}
    status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
    assert status == 200
    return int(sheet["SheetNum"])


async def test_pdf_route_returns_the_rendered_sheet(rest: Rest, stack: Stack) -> None:
    sheet_num = await _letter(rest, stack)
    status, pdf, response = await rest.request("GET", f"/api/v1/sheets/{sheet_num}/pdf")
    assert status == 200
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="sheet-{sheet_num}.pdf"'
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Dear Dr. Smith:" in text
    assert "Open Dental Sheets Demo Practice" in text


async def test_pdf_of_a_missing_sheet_is_404(rest: Rest) -> None:
    assert (await rest.request("GET", "/api/v1/sheets/4242/pdf"))[:2] == (404, "Sheet not found.")


async def test_render_sheet_pdf_over_grpc_is_an_http_body(stack: Stack, rest: Rest) -> None:
    sheet_num = await _letter(rest, stack)
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        reply = await SheetServiceStub(channel).RenderSheetPdf(
            pb.RenderSheetPdfRequest(sheet_num=sheet_num), metadata=AUTH
        )
    assert reply.content_type == "application/pdf"
    assert "Dear Dr. Smith:" in _text(reply.data)


async def _create_letter(url: str) -> int:
    engine = db.create_engine(url)
    try:
        return await create_sheet(
            engine, sheet_def_num=2, pat_num=2, internal_note="", practice=practice_from(Settings())
        )
    finally:
        await engine.dispose()


def test_sheets_render_writes_a_pdf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "seed-demo"]) == 0
    sheet_num = asyncio.run(_create_letter(url))
    output = tmp_path / "letter.pdf"
    assert main(["--database-url", url, "render", str(sheet_num), "-o", str(output)]) == 0
    assert "Dear Dr. Smith:" in _text(output.read_bytes())


def test_sheets_render_of_a_missing_sheet_fails_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert main(["--database-url", url, "seed-demo"]) == 0
    assert main(["--database-url", url, "render", "77", "-o", str(tmp_path / "x.pdf")]) == 1
    assert "Sheet not found." in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def _counter(metrics: bytes, name: str) -> int:
    (line,) = [line for line in metrics.decode().splitlines() if line.startswith(name + " ")]
    return int(float(line.split()[1]))


async def test_characters_no_font_has_are_counted_in_the_metrics(rest: Rest, stack: Stack) -> None:
    if rest.base != stack.rest_urls["in-process"]:
        pytest.skip("the renderer's counters are the service process's")
    sheet_num = await _letter(rest, stack)
    status, fields, _ = await rest.request("GET", "/api/v1/sheetfields", params={"SheetNum": str(sheet_num)})
    assert status == 200
    target = next(f for f in fields if f["FieldType"] in ("OutputText", "InputField"))
    hieroglyphs = "\U00013000\U00013001"  # in none of the fonts
    status, _, _ = await rest.request(
        "PUT", f"/api/v1/sheetfields/{target['SheetFieldNum']}", json={"FieldValue": hieroglyphs}
    )
    assert status == 200
    before = _counter(
        (await rest.request("GET", "/metrics", auth=None))[1], "sheets_pdf_replaced_characters_total"
    )

    assert (await rest.request("GET", f"/api/v1/sheets/{sheet_num}/pdf"))[0] == 200
    after = _counter(
        (await rest.request("GET", "/metrics", auth=None))[1], "sheets_pdf_replaced_characters_total"
    )
    assert after == before + 2

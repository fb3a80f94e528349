"""The service as an Open Dental API client meets it, end to end over real HTTP
on both gateways: headers as such clients send them (a GET without
Content-Type, `Accept: application/json`), Limit and Offset paging to the end
of a 2,500-sheet patient at 1000 a page, DateFormatString and
DateTimeFormatString, extra body fields and query parameters, fields on
create, gzip, and error bodies read as text."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from service.storage import db, models
from service.vocab.enums import SheetType
from tests.support.stack import ALL_KEY, Rest, Stack

# What Open Dental's own client code sends with every call.
HEADERS = {"Authorization": ALL_KEY, "Accept": "application/json"}
LETTER = datetime(2022, 5, 21, 14, 30, 0)


class Client:
    """An Open Dental API client: JSON in and out, every body read as text first."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        headers = dict(HEADERS)
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        async with self.session.request(
            method, self.base + "/api/v1" + path, params=params, data=data, headers=headers
        ) as response:
            return response.status, await response.text(), response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        status, text, _ = await self.call(method, path, **kwargs)
        assert status == 200, text
        return json.loads(text)


@pytest.fixture
async def client(rest: Rest) -> AsyncIterator[Client]:
    # No default headers of aiohttp's own but the ones any HTTP client sends.
    async with aiohttp.ClientSession(skip_auto_headers=("Accept-Encoding",)) as session:
        yield Client(session, rest.base)


@pytest.fixture
def phoenix(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's zone: UTC-7 all year."""
    monkeypatch.setenv("TZ", "America/Phoenix")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def _add_sheets(stack: Stack, pat_num: int, count: int) -> None:
    sheet = db.row(
        models.Sheet(
            PatNum=pat_num,
            SheetType=int(SheetType.PatientLetter),
            Description="Patient Letter",
            SheetDefNum=stack.demo_sheet_defs[1],
            DateTimeSheet=LETTER,
            DateTSheetEdited=LETTER,
        )
    )
    async with db.write_transaction(stack.engine) as conn:
        await conn.execute(sa.insert(models.SHEET), [sheet] * count)


async def _sheet_count(stack: Stack) -> int:
    async with stack.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(models.SHEET))).scalar_one())


async def test_paging_a_2500_sheet_patient_at_1000_a_page_reaches_every_sheet_once(
    client: Client, stack: Stack
) -> None:
    pat_num = stack.demo_patients[2]
    await _add_sheets(stack, pat_num, 2500)
    pages: list[list[dict[str, Any]]] = []
    offset = 0
    while True:
        # As Open Dental's clients page: Limit and Offset on every call, until a short page.
        page = await client.json(
            "GET", "/sheets", params={"PatNum": str(pat_num), "Limit": "1000", "Offset": str(offset)}
        )
        pages.append(page)
        offset += len(page)
        if len(page) < 1000:
            break
    assert [len(page) for page in pages] == [1000, 1000, 500]
    numbers = [sheet["SheetNum"] for page in pages for sheet in page]
    assert numbers == sorted(set(numbers))
    default = await client.json("GET", "/sheets", params={"PatNum": str(pat_num)})
    assert default == pages[0]
    status, text, _ = await client.call("GET", "/sheets", params={"PatNum": str(pat_num), "Limit": "1001"})
    assert (status, text) == (400, '"Limit is invalid. It must be from 1 to 1000."')


async def test_dates_come_in_the_formats_the_client_asks_for(
    client: Client, stack: Stack, phoenix: None
) -> None:
    pat_num = stack.demo_patients[2]
    await _add_sheets(stack, pat_num, 1)
    params = {"PatNum": str(pat_num), "DateTimeFormatString": "MM/dd/yyyy HH:mm"}
    (sheet,) = await client.json("GET", "/sheets", params=params)
    assert (sheet["DateTimeSheet"], sheet["DateTSheetEdited"]) == ("05/21/2022 14:30", "05/21/2022 14:30")
    one = await client.json(
        "GET",
        f"/sheets/{sheet['SheetNum']}",
        params={"datetimeformatstring": "dd/MM/yyyy HH:mm:ss zzz", "DateFormatString": "yyyy"},
    )
    assert one["DateTimeSheet"] == "21/05/2022 14:30:00 -07:00"
    # A POST and a PUT take them in the query string too; an unsigned field is .NET's MinValue.
    created = await client.json(
        "POST",
        "/sheets",
        params={"DateTimeFormatString": "yyyy"},
        body={"SheetDefNum": stack.demo_sheet_defs[3], "PatNum": pat_num},
    )
    assert created["DateTimeSheet"] == str(datetime.now().year)
    fields = await client.json("GET", "/sheetfields", params={"SheetNum": str(created["SheetNum"])})
    field = next(f for f in fields if f["FieldName"] == "ICEName")
    assert field["DateTimeSig"] == "0001-01-01 00:00:00"
    updated = await client.json(
        "PUT",
        f"/sheetfields/{field['SheetFieldNum']}",
        params={"DateTimeFormatString": "dddd d MMMM yyyy h:mm tt"},
        body={"FieldValue": "Mary Smith"},
    )
    assert (updated["FieldValue"], updated["DateTimeSig"]) == ("Mary Smith", "Monday 1 January 0001 12:00 AM")
    # Where an answer holds no date the parameters are ignored, as any unknown one.
    defs = await client.json("GET", "/sheetdefs", params={"DateTimeFormatString": "'open"})
    assert defs


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "it is empty."),
        ("'open", "the quote at position 1 is not closed."),
        ("y" * 101, "it is too long: at most 100 characters."),
        ("K", "'K' alone is not one of .NET's standard date formats."),
    ],
)
async def test_a_format_dotnet_would_refuse_is_400_and_changes_nothing(
    client: Client, stack: Stack, value: str, reason: str
) -> None:
    before = await _sheet_count(stack)
    status, text, _ = await client.call(
        "POST",
        "/sheets",
        params={"DateTimeFormatString": value},
        body={"SheetDefNum": stack.demo_sheet_defs[0], "PatNum": stack.demo_patients[0]},
    )
    assert (status, text) == (400, json.dumps(f"DateTimeFormatString is invalid: {reason}"))
    assert await _sheet_count(stack) == before


async def test_an_intake_apps_create_with_extra_fields_fills_the_answers_in_one_call(
    client: Client, stack: Stack
) -> None:
    pat_num = stack.demo_patients[1]
    body = {
        "PatNum": pat_num,
        "SheetDefNum": stack.demo_sheet_defs[3],
        "DateTimeSheet": "2026-12-07T16:00:00.000Z",
        "SheetFields": [
            {"FieldType": 1, "FieldName": "ICEName", "FieldValue": "Jane Doe", "IsRequired": True},
            {"FieldType": 1, "FieldName": "ICEPhone", "FieldValue": "(541) 555-0100", "IsRequired": False},
            {"FieldType": 8, "FieldName": "problem:Asthma", "RadioButtonValue": "Y"},
        ],
    }
    status, text, response = await client.call("POST", "/sheets", body=body)
    assert status == 200, text
    sheet = json.loads(text)
    assert response.headers["Location"] == f"/api/v1/sheets/{sheet['SheetNum']}"
    fields = await client.json(
        "GET", "/sheetfields", params={"SheetNum": str(sheet["SheetNum"]), "Limit": "1000", "Color": "red"}
    )
    values = {(f["FieldName"], f["FieldValue"]) for f in fields}
    assert {("ICEName", "Jane Doe"), ("ICEPhone", "(541) 555-0100")} <= values
    assert {("problem:Asthma", "X"), ("problem:Asthma", "")} <= values
    # The application's own look-up by definition: the parameter is not the route's, and is ignored.
    status, _, _ = await client.call("GET", "/sheetfields", params={"SheetDefNum": "2", "Limit": "5"})
    assert status == 200


async def test_an_answer_the_definition_has_no_field_for_creates_nothing(
    client: Client, stack: Stack
) -> None:
    before = await _sheet_count(stack)
    body = {
        "PatNum": stack.demo_patients[1],
        "SheetDefNum": stack.demo_sheet_defs[3],
        "SheetFields": [
            {"FieldName": "ICEName", "FieldValue": "Jane Doe"},
            {"FieldName": "problem:Gout", "RadioButtonValue": "Y"},
        ],
    }
    status, text, _ = await client.call("POST", "/sheets", body=body)
    assert (status, text) == (
        400,
        json.dumps("SheetFields 'problem:Gout': no field of this SheetDef has this FieldName."),
    )
    assert await _sheet_count(stack) == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "PatNum is required."),
        ({"PatNum": "0"}, "PatNum is invalid."),
        ({"PatNum": "99999"}, "Patient not found."),
    ],
)
async def test_error_bodies_read_as_text_are_a_json_string(
    client: Client, params: dict[str, str], message: str
) -> None:
    status, text, response = await client.call("GET", "/sheets", params=params)
    assert status in (400, 404)
    assert response.content_type == "application/json"
    assert text == f'"{message}"'


async def _raw(client: Client, path: str, accept_encoding: str | None) -> tuple[dict[str, str], bytes]:
    headers = dict(HEADERS)
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    async with (
        aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",)) as raw,
        raw.get(client.base + "/api/v1" + path, headers=headers) as response,
    ):
        assert response.status == 200
        return dict(response.headers), await response.read()


async def test_json_answers_over_1_kib_are_gzipped_for_a_client_that_accepts_gzip(
    client: Client, stack: Stack
) -> None:
    pat_num = stack.demo_patients[2]
    await _add_sheets(stack, pat_num, 1000)
    path = f"/sheets?PatNum={pat_num}"
    plain_headers, plain = await _raw(client, path, None)
    zipped_headers, zipped = await _raw(client, path, "gzip, deflate")
    assert "Content-Encoding" not in plain_headers
    assert zipped_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped) == plain
    assert len(json.loads(plain)) == 1000
    assert len(zipped) < len(plain) / 10
    refused_headers, _ = await _raw(client, path, "gzip;q=0, identity")
    assert "Content-Encoding" not in refused_headers


async def test_small_answers_and_pdfs_are_not_compressed(client: Client, stack: Stack) -> None:
    pat_num = stack.demo_patients[2]
    await _add_sheets(stack, pat_num, 1)
    (sheet,) = await client.json("GET", "/sheets", params={"PatNum": str(pat_num)})
    headers, body = await _raw(client, f"/sheets/{sheet['SheetNum']}", "gzip")
    assert len(body) < 1024
    assert "Content-Encoding" not in headers
    created = await client.json(
        "POST", "/sheets", body={"SheetDefNum": stack.demo_sheet_defs[3], "PatNum": pat_num}
    )
    headers, pdf = await _raw(client, f"/sheets/{created['SheetNum']}/pdf", "gzip")
    assert headers["Content-Type"] == "application/pdf"
    assert "Content-Encoding" not in headers
    assert pdf.startswith(b"%PDF")

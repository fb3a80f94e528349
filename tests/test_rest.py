"""The REST gateway, exact to Open Dental's contract; every test runs against
the in-process and the remote gateway."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from service import db, fill_tables, models
from service.contract import SERVICE, http_rule
from service.models import Sheet
from tests._open_dental import OPEN_DENTAL_SHEETS_EXAMPLE
from tests._stack import ALL_KEY, READ_KEY, Rest, Stack

SHEET_KEYS = [
    "SheetNum",
    "SheetType",
    "PatNum",
    "DateTimeSheet",
    "InternalNote",
    "Description",
    "IsWebForm",
    "SheetDefNum",
    "DocNum",
    "ClinicNum",
    "DateTSheetEdited",
]
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


async def _create(rest: Rest, stack: Stack, *, def_index: int = 1, patient: int = 0, **extra: Any) -> Any:
    body = {"SheetDefNum": stack.demo_sheet_defs[def_index], "PatNum": stack.demo_patients[patient], **extra}
    status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
    assert status == 200, sheet
    return sheet


async def test_create_sheet_answers_200_with_the_sheet_and_its_location(rest: Rest, stack: Stack) -> None:
    status, sheet, response = await rest.request(
        "POST",
        "/api/v1/sheets",
        json={
            "SheetDefNum": stack.demo_sheet_defs[1],
            "PatNum": stack.demo_patients[1],
            "InternalNote": "hi",
        },
    )
    assert status == 200
    assert list(sheet) == SHEET_KEYS
    assert response.headers["Location"] == f"/api/v1/sheets/{sheet['SheetNum']}"
    assert sheet["SheetType"] == "PatientLetter"
    assert sheet["PatNum"] == stack.demo_patients[1]
    assert sheet["InternalNote"] == "hi"
    assert sheet["IsWebForm"] == "false"
    assert sheet["Description"] == "Demo Patient Letter"
    assert DATETIME.match(sheet["DateTimeSheet"])
    assert sheet["DateTSheetEdited"] == sheet["DateTimeSheet"]
    assert isinstance(sheet["SheetNum"], int)
    assert isinstance(sheet["DocNum"], int)


async def test_list_sheets_returns_a_patients_sheets_in_order(rest: Rest, stack: Stack) -> None:
    created = [await _create(rest, stack, def_index=i % 5) for i in range(3)]
    await _create(rest, stack, patient=2)
    status, sheets, _ = await rest.request(
        "GET", "/api/v1/sheets", params={"PatNum": str(stack.demo_patients[0])}
    )
    assert status == 200
    assert sheets == created
    assert [list(s) for s in sheets] == [SHEET_KEYS] * 3


async def test_list_sheets_pages_with_offset_and_limit(rest: Rest, stack: Stack) -> None:
    created = [await _create(rest, stack) for _ in range(5)]
    pat = str(stack.demo_patients[0])
    status, page, _ = await rest.request(
        "GET", "/api/v1/sheets", params={"PatNum": pat, "Offset": "1", "Limit": "2"}
    )
    assert status == 200
    assert [s["SheetNum"] for s in page] == [s["SheetNum"] for s in created[1:3]]
    _, rest_page, _ = await rest.request("GET", "/api/v1/sheets", params={"PatNum": pat, "Offset": "4"})
    assert [s["SheetNum"] for s in rest_page] == [created[4]["SheetNum"]]


async def test_list_sheets_leaves_out_deleted_sheets(rest: Rest, stack: Stack) -> None:
    kept, deleted = await _create(rest, stack), await _create(rest, stack)
    async with db.write_transaction(stack.engine) as conn:
        await conn.execute(
            sa.update(models.SHEET)
            .where(models.SHEET.c.SheetNum == deleted["SheetNum"])
            .values(IsDeleted=True)
        )
    _, sheets, _ = await rest.request("GET", "/api/v1/sheets", params={"PatNum": str(stack.demo_patients[0])})
    assert [s["SheetNum"] for s in sheets] == [kept["SheetNum"]]
    status, body, _ = await rest.request("GET", f"/api/v1/sheets/{deleted['SheetNum']}")
    assert (status, body) == (404, "Sheet not found.")


async def test_list_sheets_of_a_patient_without_sheets_is_an_empty_array(rest: Rest, stack: Stack) -> None:
    status, body, _ = await rest.request(
        "GET", "/api/v1/sheets", params={"PatNum": str(stack.demo_patients[3])}
    )
    assert (status, body) == (200, [])


async def test_get_sheet_returns_the_created_sheet(rest: Rest, stack: Stack) -> None:
    sheet = await _create(rest, stack)
    status, body, _ = await rest.request("GET", f"/api/v1/sheets/{sheet['SheetNum']}")
    assert (status, body) == (200, sheet)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "PatNum is required."),
        ({"PatNum": "0"}, 400, "PatNum is invalid."),
        ({"PatNum": "-4"}, 400, "PatNum is invalid."),
        ({"PatNum": "99999"}, 404, "Patient not found."),
        ({"PatNum": "1", "Limit": "1001"}, 400, "Limit is invalid. It must be from 1 to 1000."),
        ({"PatNum": "1", "Limit": "0"}, 400, "Limit is invalid. It must be from 1 to 1000."),
        ({"PatNum": "1", "Offset": "-1"}, 400, "Offset is invalid. It must be 0 or more."),
    ],
)
async def test_list_sheets_refuses_bad_queries_with_an_explanation(
    rest: Rest, params: dict[str, str], status: int, message: str
) -> None:
    assert (await rest.request("GET", "/api/v1/sheets", params=params))[:2] == (status, message)


@pytest.mark.parametrize(
    "params", [{"PatNum": "abc"}, {"PatNum": "1.5"}, {"PatNum": "1x", "Color": "red"}, {"PatNum": "9" * 30}]
)
async def test_list_sheets_refuses_malformed_query_parameters(rest: Rest, params: dict[str, str]) -> None:
    status, body, _ = await rest.request("GET", "/api/v1/sheets", params=params)
    assert status == 400
    assert isinstance(body, str)
    assert body.endswith(".")


async def test_unknown_query_parameters_are_ignored_as_open_dental_ignores_them(
    rest: Rest, stack: Stack
) -> None:
    await _create(rest, stack)
    pat_num = str(stack.demo_patients[0])
    plain = await rest.request("GET", "/api/v1/sheets", params={"PatNum": pat_num})
    extra = await rest.request(
        "GET", "/api/v1/sheets", params={"PatNum": pat_num, "Color": "red", "SheetNum": "x"}
    )
    assert (extra[0], extra[1]) == (200, plain[1])
    assert len(plain[1]) == 1
    field_defs = await rest.request("GET", "/api/v1/sheetfields", params={"SheetDefNum": "2", "Limit": "2"})
    assert field_defs[0] == 200


async def test_unknown_body_fields_are_ignored_and_known_ones_keep_their_checks(
    rest: Rest, stack: Stack
) -> None:
    body = {
        "SheetDefNum": stack.demo_sheet_defs[1],
        "PatNum": stack.demo_patients[0],
        "DateTimeSheet": "2026-12-07T16:00:00.000Z",
        "Bogus": {"deep": [1, 2]},
    }
    sheet = await _create(rest, stack, DateTimeSheet=body["DateTimeSheet"], Bogus=body["Bogus"])
    assert sheet["PatNum"] == stack.demo_patients[0]
    assert sheet["DateTimeSheet"] != "2026-12-07 16:00:00"
    status, message, _ = await rest.request("POST", "/api/v1/sheets", json={**body, "PatNum": "one"})
    assert (status, message) == (400, "PatNum is invalid. It must be a whole number.")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"PatNum": 1}, 400, "SheetDefNum is required."),
        ({"SheetDefNum": 1}, 400, "PatNum is required."),
        ({"SheetDefNum": 0, "PatNum": 1}, 400, "SheetDefNum is invalid."),
        ({"SheetDefNum": 1, "PatNum": -1}, 400, "PatNum is invalid."),
        ({"SheetDefNum": 99999, "PatNum": 1}, 404, "SheetDef not found."),
        ({"SheetDefNum": 1, "PatNum": 99999}, 404, "Patient not found."),
    ],
)
async def test_create_sheet_refuses_missing_invalid_and_unknown_keys(
    rest: Rest, body: dict[str, Any], status: int, message: str
) -> None:
    assert (await rest.request("POST", "/api/v1/sheets", json=body))[:2] == (status, message)


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "[]",
        '"text"',
        '{"SheetDefNum": "one", "PatNum": 1}',
        '{"SheetDefNum": 1.5, "PatNum": 1}',
        '{"SheetDefNum": true, "PatNum": 1}',
        '{"SheetDefNum": 1, "PatNum": 1, "InternalNote": 5}',
        '{"SheetDefNum": 1, "PatNum": 1, "Bogus": 5, "InternalNote": 5}',
        b"\xff\xfe".decode("latin-1"),
    ],
)
async def test_create_sheet_refuses_malformed_bodies_and_writes_nothing(
    rest: Rest, stack: Stack, raw: str
) -> None:
    status, body, _ = await rest.request("POST", "/api/v1/sheets", data=raw.encode("latin-1"))
    assert status == 400, body
    assert isinstance(body, str)
    async with stack.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(models.SHEET))).scalar_one() == 0


async def test_create_sheet_refuses_an_unsupported_sheet_type(rest: Rest, stack: Stack) -> None:
    async with db.write_transaction(stack.engine) as conn:
        sheet_def = models.SheetDef(Description="Rx", SheetType=5, Width=850, Height=1100)
        result = await conn.execute(sa.insert(models.SHEETDEF).values(db.row(sheet_def)))
        number = result.inserted_primary_key[0]  # type: ignore[index]
    status, body, _ = await rest.request("POST", "/api/v1/sheets", json={"SheetDefNum": number, "PatNum": 1})
    assert status == 400
    assert "Consent, PatientLetter, PatientForm, MedicalHistory" in body


@pytest.mark.parametrize("note", ["x" * 70000, "é" * 40000])
async def test_create_sheet_refuses_an_over_long_internal_note(rest: Rest, stack: Stack, note: str) -> None:
    body = {"SheetDefNum": stack.demo_sheet_defs[0], "PatNum": 1, "InternalNote": note}
    assert (await rest.request("POST", "/api/v1/sheets", json=body))[:2] == (
        400,
        "InternalNote is too long: at most 65535 bytes of UTF-8.",
    )


async def test_an_over_size_body_is_413(rest: Rest) -> None:
    status, body, _ = await rest.request(
        "POST", "/api/v1/sheets", data=io.BytesIO(b"{" + b" " * (2 << 20) + b"}")
    )
    assert (status, body) == (413, "The request body is too large.")


async def test_unknown_route_is_404_and_wrong_method_405(rest: Rest) -> None:
    assert (await rest.request("GET", "/api/v1/nothing"))[:2] == (404, "Route not found.")
    status, body, response = await rest.request("DELETE", "/api/v1/sheets")
    assert (status, body) == (405, "Method not allowed on this route.")
    assert "GET" in response.headers["Allow"]


async def test_missing_or_wrong_key_is_401(rest: Rest) -> None:
    status, body, _ = await rest.request("GET", "/api/v1/sheetdefs", auth=None)
    assert status == 401
    assert "Authorization" in body
    assert (await rest.request("GET", "/api/v1/sheetdefs", auth="ODFHIR devkey/wrong"))[0] == 401
    assert (await rest.request("GET", "/api/v1/sheetdefs", auth="Bearer devkey/custkey"))[0] == 401


async def test_read_key_reads_but_may_not_write(rest: Rest, stack: Stack) -> None:
    assert (await rest.request("GET", "/api/v1/sheetdefs", auth=READ_KEY))[0] == 200
    body = {"SheetDefNum": stack.demo_sheet_defs[0], "PatNum": 1}
    status, message, _ = await rest.request("POST", "/api/v1/sheets", json=body, auth=READ_KEY)
    assert status == 401
    assert "read-only" in message


async def test_sheetdefs_list_filter_and_get(rest: Rest, stack: Stack) -> None:
    status, defs, _ = await rest.request("GET", "/api/v1/sheetdefs")
    assert status == 200
    assert [d["SheetDefNum"] for d in defs] == stack.demo_sheet_defs
    assert list(defs[0]) == ["SheetDefNum", "Description", "SheetType"]
    _, consents, _ = await rest.request("GET", "/api/v1/sheetdefs", params={"SheetType": "Consent"})
    assert [d["Description"] for d in consents] == ["Demo Consent"]
    status, one, _ = await rest.request("GET", f"/api/v1/sheetdefs/{defs[1]['SheetDefNum']}")
    assert (status, one) == (200, defs[1])
    assert (await rest.request("GET", "/api/v1/sheetdefs/99999"))[:2] == (404, "SheetDef not found.")
    assert (await rest.request("GET", "/api/v1/sheetdefs", params={"SheetType": "Bogus"}))[0] == 400


async def test_sheetfielddefs_list_and_get(rest: Rest, stack: Stack) -> None:
    number = stack.demo_sheet_defs[1]
    status, field_defs, _ = await rest.request(
        "GET", "/api/v1/sheetfielddefs", params={"SheetDefNum": str(number)}
    )
    assert status == 200
    assert field_defs
    assert {f["SheetDefNum"] for f in field_defs} == {number}
    assert list(field_defs[0]) == [
        "SheetFieldDefNum",
        "SheetDefNum",
        "FieldType",
        "FieldName",
        "FieldValue",
        "IsRequired",
    ]
    one = field_defs[0]
    assert (await rest.request("GET", f"/api/v1/sheetfielddefs/{one['SheetFieldDefNum']}"))[:2] == (200, one)
    assert (await rest.request("GET", "/api/v1/sheetfielddefs", params={"SheetDefNum": "99999"}))[:2] == (
        404,
        "SheetDef not found.",
    )


async def test_sheetfields_list_get_and_update(rest: Rest, stack: Stack) -> None:
    sheet = await _create(rest, stack, def_index=2)
    _, fields, _ = await rest.request(
        "GET", "/api/v1/sheetfields", params={"SheetNum": str(sheet["SheetNum"])}
    )
    assert list(fields[0]) == [
        "SheetFieldNum",
        "SheetNum",
        "FieldType",
        "FieldName",
        "FieldValue",
        "IsRequired",
        "ReportableName",
        "DateTimeSig",
    ]
    assert fields[0]["DateTimeSig"] == "0001-01-01 00:00:00"
    entry = next(f for f in fields if f["FieldType"] == "InputField")
    status, updated, _ = await rest.request(
        "PUT", f"/api/v1/sheetfields/{entry['SheetFieldNum']}", json={"FieldValue": "Ångström"}
    )
    assert status == 200
    assert updated == entry | {"FieldValue": "Ångström"}
    static = next(f for f in fields if f["FieldType"] == "StaticText")
    status, message, _ = await rest.request(
        "PUT", f"/api/v1/sheetfields/{static['SheetFieldNum']}", json={"FieldValue": "x"}
    )
    assert (status, message) == (400, "Only OutputText, InputField and CheckBox fields can be updated.")
    check = next(f for f in fields if f["FieldType"] == "CheckBox")
    path = f"/api/v1/sheetfields/{check['SheetFieldNum']}"
    assert (await rest.request("PUT", path, json={"FieldValue": "X"}))[0] == 200
    assert (await rest.request("PUT", path, json={"FieldValue": "yes"}))[0] == 400
    assert (await rest.request("PUT", path, json={}))[:2] == (400, "FieldValue is required.")
    assert (await rest.request("GET", "/api/v1/sheetfields/99999"))[:2] == (404, "SheetField not found.")


async def test_updating_a_field_moves_the_sheets_edit_time(rest: Rest, stack: Stack) -> None:
    sheet = await _create(rest, stack, def_index=2)
    async with db.write_transaction(stack.engine) as conn:
        await conn.execute(
            sa.update(models.SHEET)
            .where(models.SHEET.c.SheetNum == sheet["SheetNum"])
            .values(DateTSheetEdited=models.NO_DATETIME)
        )
    _, fields, _ = await rest.request(
        "GET", "/api/v1/sheetfields", params={"SheetNum": str(sheet["SheetNum"])}
    )
    entry = next(f for f in fields if f["FieldType"] == "InputField")
    await rest.request("PUT", f"/api/v1/sheetfields/{entry['SheetFieldNum']}", json={"FieldValue": "x"})
    _, after, _ = await rest.request("GET", f"/api/v1/sheets/{sheet['SheetNum']}")
    assert after["DateTSheetEdited"] != "0001-01-01 00:00:00"


def _with_json_names(template: str, json_names: dict[str, str]) -> str:
    """An http rule's path with its variables named as OpenAPI documents them (Open Dental's names)."""
    return re.sub(r"\{([^}=]+)\}", lambda m: "{" + json_names[m[1]] + "}", template)


async def test_openapi_document_is_valid_openapi_3_and_lists_every_route(rest: Rest) -> None:
    status, document, _ = await rest.request("GET", "/api/v1/openapi.json", auth=None)
    assert status == 200
    validate(document)
    # Read from the proto's own annotations, not from the gateway's routes.
    expected = set()
    for method in SERVICE.methods:
        rule = http_rule(method)
        verb = rule.WhichOneof("pattern")
        json_names = {f.name: f.json_name for f in method.input_type.fields}
        expected.add((verb, _with_json_names(getattr(rule, verb), json_names)))
    paths = document["paths"].items()
    listed = {(verb, path) for path, item in paths for verb in item if verb != "parameters"}
    assert len(expected) == len(SERVICE.methods) == 16
    assert listed == expected


async def test_open_dentals_example_sheets_are_reproduced_key_for_key(rest: Rest, stack: Stack) -> None:
    """Open Dental's documented GET /sheets response, for the same data."""
    examples = [
        (45, 7, "2021-11-16 02:45:38", "Custom Patient Letter", 25, "2022-01-23 08:33:02"),
        (47, 11, "2021-11-16 12:21:03", "Medical History Simple", 24, "2022-11-23 04:20:12"),
        (50, 13, "2022-03-07 10:25:00", "Exam", 20, "2022-03-07 10:25:22"),
    ]
    from datetime import datetime

    async with db.write_transaction(stack.engine) as conn:
        await conn.execute(
            sa.insert(models.PATIENT).values(db.row(models.Patient(LName="Doe"))).values(PatNum=123)
        )
        for num, kind, created, description, def_num, edited in examples:
            sheet = Sheet(
                PatNum=123,
                SheetType=kind,
                DateTimeSheet=datetime.fromisoformat(created),
                Description=description,
                SheetDefNum=def_num,
                DateTSheetEdited=datetime.fromisoformat(edited),
            )
            await conn.execute(sa.insert(models.SHEET).values(db.row(sheet) | {"SheetNum": num}))
    async with rest.session.get(
        rest.base + "/api/v1/sheets?PatNum=123", headers={"Authorization": ALL_KEY}
    ) as response:
        assert response.status == 200
        raw = (await response.read()).decode()
    expected = OPEN_DENTAL_SHEETS_EXAMPLE
    assert json.dumps(json.loads(raw), indent=1) == expected
    assert raw == json.dumps(json.loads(expected), separators=(",", ":"))


async def test_healthz_needs_no_key(rest: Rest) -> None:
    assert (await rest.request("GET", "/healthz", auth=None))[:2] == (200, "ok")


async def test_a_caller_without_a_key_is_refused_before_the_request_is_parsed(rest: Rest) -> None:
    status, _, _ = await rest.request("GET", "/api/v1/sheets", params={"Bogus": "1"}, auth=None)
    assert status == 401
    status, _, _ = await rest.request("POST", "/api/v1/sheets", data=b"{not json", auth=READ_KEY)
    assert status == 401


async def _raw_get(base: str, path: str, authorization: bytes) -> tuple[int, bytes]:
    """A request whose header bytes no HTTP client library would send."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"GET "
        + path.encode()
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
        + authorization
        + b"\r\n\r\n"
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("header", ["ODFHIR dév/cust".encode(), b"ODFHIR \xff\xfe/cust"])
async def test_an_authorization_header_that_is_not_ascii_is_401_not_500(rest: Rest, header: bytes) -> None:
    status, body = await _raw_get(rest.base, "/api/v1/sheetdefs", header)
    assert (status, body) == (401, b'"Invalid Authorization header. Use: ODFHIR DeveloperKey/CustomerKey."')


async def test_a_control_character_in_a_header_is_a_bad_request(rest: Rest) -> None:
    status, _ = await _raw_get(rest.base, "/api/v1/sheetdefs", b"ODFHIR a\x01b/c")
    assert status == 400


async def test_fields_of_a_deleted_sheet_are_gone_with_it(rest: Rest, stack: Stack) -> None:
    sheet = await _create(rest, stack, def_index=2)
    _, fields, _ = await rest.request(
        "GET", "/api/v1/sheetfields", params={"SheetNum": str(sheet["SheetNum"])}
    )
    async with db.write_transaction(stack.engine) as conn:
        await conn.execute(
            sa.update(models.SHEET).where(models.SHEET.c.SheetNum == sheet["SheetNum"]).values(IsDeleted=True)
        )
    params = {"SheetNum": str(sheet["SheetNum"])}
    assert (await rest.request("GET", "/api/v1/sheetfields", params=params))[:2] == (404, "Sheet not found.")
    assert (await rest.request("GET", "/api/v1/sheetfields"))[:2] == (200, [])
    path = f"/api/v1/sheetfields/{fields[0]['SheetFieldNum']}"
    assert (await rest.request("GET", path))[:2] == (404, "SheetField not found.")
    assert (await rest.request("PUT", path, json={"FieldValue": "x"}))[:2] == (404, "SheetField not found.")


async def test_api_keys_never_reach_the_logs(rest: Rest, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await rest.request("GET", "/api/v1/sheetdefs")
    await rest.request("GET", "/api/v1/sheetdefs", auth="ODFHIR devkey/wrongcustomer")
    await rest.request("POST", "/api/v1/sheets", json={"SheetDefNum": 1, "PatNum": 1}, auth=READ_KEY)
    for secret in ("custkey", "readcust", "wrongcustomer"):
        assert secret not in caplog.text


async def test_remote_gateway_with_its_target_down_is_503_with_an_explanation() -> None:
    from service.settings import Settings
    from sheets.remote import remote_gateway
    from tests._sftp_servers import free_port

    settings = Settings(http_listen="127.0.0.1:0")
    async with (
        remote_gateway(f"127.0.0.1:{free_port()}", settings) as gateway,
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{gateway.port}/api/v1/sheetdefs") as response,
    ):
        assert response.status == 503
        assert await response.json() == "The service is unavailable. Try again later."


async def test_create_sheet_takes_one_of_the_patients_appointments_and_refuses_another(
    rest: Rest, stack: Stack
) -> None:
    apt = fill_tables.APPOINTMENT.c
    async with stack.engine.connect() as conn:
        apt_num = (
            await conn.execute(sa.select(apt.AptNum).where(apt.PatNum == stack.demo_patients[0]))
        ).scalar()
    assert apt_num is not None
    sheet = await _create(rest, stack, AptNum=apt_num)
    assert sheet["PatNum"] == stack.demo_patients[0]
    body = {"SheetDefNum": stack.demo_sheet_defs[1], "PatNum": stack.demo_patients[1], "AptNum": apt_num}
    assert (await rest.request("POST", "/api/v1/sheets", json=body))[:2] == (
        400,
        "AptNum is not an appointment of this patient.",
    )
    assert (await rest.request("POST", "/api/v1/sheets", json=body | {"AptNum": -1}))[:2] == (
        400,
        "AptNum is invalid.",
    )
    async with stack.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(models.SHEET))).scalar_one() == 1

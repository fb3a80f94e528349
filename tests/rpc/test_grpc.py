"""SheetService over gRPC: statuses, explanations and BadRequest details."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from opendental.sheets.v1 import resources_pb2
from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.storage import fill_tables
from tests.support.stack import ALL_KEY, READ_KEY, Stack

if TYPE_CHECKING:
    from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceAsyncStub

AUTH = (("authorization", ALL_KEY),)


@pytest.fixture
async def stub(stack: Stack) -> AsyncIterator[SheetServiceAsyncStub]:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        yield SheetServiceStub(channel)


def _bad_request(error: grpc.aio.AioRpcError) -> error_details_pb2.BadRequest:
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw if isinstance(raw, bytes) else raw.encode())
    details = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(details)
    return details


async def test_create_then_list_and_get_sheet(stub: SheetServiceAsyncStub, stack: Stack) -> None:
    created = await stub.CreateSheet(
        pb.CreateSheetRequest(sheet_def_num=stack.demo_sheet_defs[0], pat_num=stack.demo_patients[0]),
        metadata=AUTH,
    )
    assert created.sheet.sheet_type == resources_pb2.SHEET_TYPE_CONSENT
    assert created.sheet.date_time_sheet.year >= 2026
    listed = await stub.ListSheets(pb.ListSheetsRequest(pat_num=stack.demo_patients[0]), metadata=AUTH)
    assert list(listed.sheets) == [created.sheet]
    got = await stub.GetSheet(pb.GetSheetRequest(sheet_num=created.sheet.sheet_num), metadata=AUTH)
    assert got.sheet == created.sheet


async def test_create_sheet_sets_the_values_it_is_given_and_refuses_a_name_it_does_not_know(
    stub: SheetServiceAsyncStub, stack: Stack
) -> None:
    medical = stack.demo_sheet_defs[3]
    given = [
        pb.SheetFieldValue(field_name="ICEName", field_value="Jane Doe"),
        pb.SheetFieldValue(field_name="problem:Asthma", radio_button_value="Y"),
    ]
    created = await stub.CreateSheet(
        pb.CreateSheetRequest(sheet_def_num=medical, pat_num=stack.demo_patients[1], sheet_fields=given),
        metadata=AUTH,
    )
    listed = await stub.ListSheetFields(
        pb.ListSheetFieldsRequest(sheet_num=created.sheet.sheet_num), metadata=AUTH
    )
    values = {(f.field_name, f.field_value) for f in listed.sheet_fields}
    assert {("ICEName", "Jane Doe"), ("problem:Asthma", "X"), ("problem:Asthma", "")} <= values
    before = await stub.ListSheets(pb.ListSheetsRequest(pat_num=stack.demo_patients[1]), metadata=AUTH)
    for item, message in (
        (
            pb.SheetFieldValue(field_name="Nope", field_value="x"),
            "SheetFields 'Nope': no field of this SheetDef",
        ),
        (pb.SheetFieldValue(field_value="x"), "SheetFields[1].FieldName is required."),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CreateSheet(
                pb.CreateSheetRequest(
                    sheet_def_num=medical, pat_num=stack.demo_patients[1], sheet_fields=[given[0], item]
                ),
                metadata=AUTH,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(caught.value.details()).startswith(message)
    after = await stub.ListSheets(pb.ListSheetsRequest(pat_num=stack.demo_patients[1]), metadata=AUTH)
    assert after == before


@pytest.mark.parametrize("compression", [grpc.Compression.Gzip, grpc.Compression.Deflate])
async def test_calls_compressed_as_the_client_asks_are_accepted(
    stack: Stack, compression: grpc.Compression
) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target, compression=compression) as channel:
        stub = SheetServiceStub(channel)
        created = await stub.CreateSheet(
            pb.CreateSheetRequest(
                sheet_def_num=stack.demo_sheet_defs[1],
                pat_num=stack.demo_patients[0],
                internal_note="x" * 4000,
            ),
            metadata=AUTH,
        )
        listed = await stub.ListSheets(
            pb.ListSheetsRequest(pat_num=stack.demo_patients[0]), metadata=AUTH, compression=compression
        )
    assert [s.internal_note for s in listed.sheets] == ["x" * 4000]
    assert listed.sheets[0] == created.sheet


async def test_every_read_rpc_answers(stub: SheetServiceAsyncStub, stack: Stack) -> None:
    created = await stub.CreateSheet(
        pb.CreateSheetRequest(sheet_def_num=stack.demo_sheet_defs[2], pat_num=stack.demo_patients[1]),
        metadata=AUTH,
    )
    fields = await stub.ListSheetFields(
        pb.ListSheetFieldsRequest(sheet_num=created.sheet.sheet_num), metadata=AUTH
    )
    assert fields.sheet_fields
    one = await stub.GetSheetField(
        pb.GetSheetFieldRequest(sheet_field_num=fields.sheet_fields[0].sheet_field_num), metadata=AUTH
    )
    assert one.sheet_field == fields.sheet_fields[0]
    defs = await stub.ListSheetDefs(pb.ListSheetDefsRequest(), metadata=AUTH)
    assert [d.sheet_def_num for d in defs.sheet_defs] == stack.demo_sheet_defs
    got = await stub.GetSheetDef(pb.GetSheetDefRequest(sheet_def_num=stack.demo_sheet_defs[0]), metadata=AUTH)
    assert got.sheet_def == defs.sheet_defs[0]
    field_defs = await stub.ListSheetFieldDefs(
        pb.ListSheetFieldDefsRequest(sheet_def_num=stack.demo_sheet_defs[0]), metadata=AUTH
    )
    one_def = await stub.GetSheetFieldDef(
        pb.GetSheetFieldDefRequest(sheet_field_def_num=field_defs.sheet_field_defs[0].sheet_field_def_num),
        metadata=AUTH,
    )
    assert one_def.sheet_field_def == field_defs.sheet_field_defs[0]


async def test_missing_key_is_unauthenticated(stub: SheetServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListSheetDefs(pb.ListSheetDefsRequest())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_read_key_on_a_write_is_permission_denied(stub: SheetServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSheet(
            pb.CreateSheetRequest(sheet_def_num=1, pat_num=1), metadata=(("authorization", READ_KEY),)
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "read-only" in (caught.value.details() or "")


async def test_invalid_argument_carries_the_explanation_and_bad_request_details(
    stub: SheetServiceAsyncStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListSheets(pb.ListSheetsRequest(), metadata=AUTH)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "PatNum is required."
    violation = _bad_request(caught.value).field_violations[0]
    assert (violation.field, violation.description) == ("PatNum", "PatNum is required.")


INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("method", "request_", "code", "message"),
    [
        ("ListSheets", pb.ListSheetsRequest(pat_num=0), INVALID, "PatNum is invalid."),
        ("ListSheets", pb.ListSheetsRequest(pat_num=424242), NOT_FOUND, "Patient not found."),
        (
            "ListSheets",
            pb.ListSheetsRequest(pat_num=1, limit=1001),
            INVALID,
            "Limit is invalid. It must be from 1 to 1000.",
        ),
        ("CreateSheet", pb.CreateSheetRequest(pat_num=1), INVALID, "SheetDefNum is required."),
        ("CreateSheet", pb.CreateSheetRequest(sheet_def_num=1), INVALID, "PatNum is required."),
        (
            "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=-2, pat_num=1),
            INVALID,
            "SheetDefNum is invalid.",
        ),
        (
            "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=1, pat_num=1, internal_note="x" * 65536),
            INVALID,
            "InternalNote is too long: at most 65535 bytes of UTF-8.",
        ),
        (
            "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=999, pat_num=1),
            NOT_FOUND,
            "SheetDef not found.",
        ),
        (
            "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=1, pat_num=9999),
            NOT_FOUND,
            "Patient not found.",
        ),
    ],
)
async def test_errors_have_the_status_and_explanation_of_the_error_table(
    stub: SheetServiceAsyncStub, method: str, request_: Message, code: grpc.StatusCode, message: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(request_, metadata=AUTH)
    assert (caught.value.code(), caught.value.details()) == (code, message)


async def test_wrong_key_is_unauthenticated(stub: SheetServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListSheetDefs(
            pb.ListSheetDefsRequest(), metadata=(("authorization", "ODFHIR devkey/nope"),)
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("GetSheet", "Sheet not found."),
        ("GetSheetField", "SheetField not found."),
        ("GetSheetDef", "SheetDef not found."),
        ("GetSheetFieldDef", "SheetFieldDef not found."),
    ],
)
async def test_get_of_a_missing_row_is_not_found(
    stub: SheetServiceAsyncStub, call: str, message: str
) -> None:
    request = {
        "GetSheet": pb.GetSheetRequest(sheet_num=777),
        "GetSheetField": pb.GetSheetFieldRequest(sheet_field_num=777),
        "GetSheetDef": pb.GetSheetDefRequest(sheet_def_num=777),
        "GetSheetFieldDef": pb.GetSheetFieldDefRequest(sheet_field_def_num=777),
    }[call]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, call)(request, metadata=AUTH)
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.NOT_FOUND, message)


async def test_updating_a_static_field_is_invalid_argument(stub: SheetServiceAsyncStub, stack: Stack) -> None:
    created = await stub.CreateSheet(
        pb.CreateSheetRequest(sheet_def_num=stack.demo_sheet_defs[0], pat_num=stack.demo_patients[0]),
        metadata=AUTH,
    )
    fields = await stub.ListSheetFields(
        pb.ListSheetFieldsRequest(sheet_num=created.sheet.sheet_num), metadata=AUTH
    )
    static = next(
        f for f in fields.sheet_fields if f.field_type == resources_pb2.SHEET_FIELD_TYPE_STATIC_TEXT
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.UpdateSheetField(
            pb.UpdateSheetFieldRequest(sheet_field_num=static.sheet_field_num, field_value="x"), metadata=AUTH
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_create_sheet_with_another_patients_appointment_is_invalid_argument_naming_apt_num(
    stub: SheetServiceAsyncStub, stack: Stack
) -> None:
    apt = fill_tables.APPOINTMENT.c
    async with stack.engine.connect() as conn:
        apt_num = (
            await conn.execute(sa.select(apt.AptNum).where(apt.PatNum == stack.demo_patients[0]))
        ).scalar()
    assert apt_num is not None
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateSheet(
            pb.CreateSheetRequest(
                sheet_def_num=stack.demo_sheet_defs[1], pat_num=stack.demo_patients[1], apt_num=apt_num
            ),
            metadata=AUTH,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "AptNum is not an appointment of this patient."
    assert [v.field for v in _bad_request(caught.value).field_violations] == ["AptNum"]

"""Open Dental's JSON dialect: output key for key and type for type, and every
way input can be refused."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2
from google.protobuf.message import Message
from google.type import date_pb2, datetime_pb2

from gateway.binding import body_to_message, query_to_message, response_to_od
from gateway.date_formats import date_texts, requested_formats
from gateway.decoder import collecting_ignored, parse_json_body
from gateway.encoder import to_od
from gateway.routes import Route, routes_from_service
from opendental.sheets.v1 import options_pb2, resources_pb2, sheet_service_pb2
from opendental.sheets.v1.resources_pb2 import SheetFieldType, SheetType
from service.contract.errors import InvalidArgument
from tests.support.open_dental import OPEN_DENTAL_SHEETS_EXAMPLE
from tests.support.protos import add_with_dependencies

SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"]
ROUTES = {route.method_name: route for route in routes_from_service(SERVICE)}
_F = descriptor_pb2.FieldDescriptorProto


def _dt(text: str) -> datetime_pb2.DateTime:
    day, time = text.split(" ")
    year, month, date = (int(p) for p in day.split("-"))
    hours, minutes, seconds = (int(p) for p in time.split(":"))
    return datetime_pb2.DateTime(
        year=year, month=month, day=date, hours=hours, minutes=minutes, seconds=seconds
    )


def _sheet(
    num: int, kind: SheetType.ValueType, created: str, description: str, def_num: int, edited: str
) -> resources_pb2.Sheet:
    return resources_pb2.Sheet(
        sheet_num=num,
        sheet_type=kind,
        pat_num=123,
        date_time_sheet=_dt(created),
        internal_note="",
        description=description,
        is_web_form=False,
        sheet_def_num=def_num,
        doc_num=0,
        clinic_num=0,
        date_t_sheet_edited=_dt(edited),
    )


# --- output ------------------------------------------------------------------


# The same three sheets as we store them.
OPEN_DENTAL_EXAMPLE_SHEETS = [
    (
        45,
        SheetType.SHEET_TYPE_PATIENT_LETTER,
        "2021-11-16 02:45:38",
        "Custom Patient Letter",
        25,
        "2022-01-23 08:33:02",
    ),
    (
        47,
        SheetType.SHEET_TYPE_MEDICAL_HISTORY,
        "2021-11-16 12:21:03",
        "Medical History Simple",
        24,
        "2022-11-23 04:20:12",
    ),
    (50, SheetType.SHEET_TYPE_EXAM_SHEET, "2022-03-07 10:25:00", "Exam", 20, "2022-03-07 10:25:22"),
]


def test_list_sheets_reproduces_open_dentals_example_key_for_key_and_type_for_type() -> None:
    response = sheet_service_pb2.ListSheetsResponse(
        sheets=[_sheet(*row) for row in OPEN_DENTAL_EXAMPLE_SHEETS]
    )
    body = response_to_od(ROUTES["ListSheets"], response)
    assert json.dumps(body, indent=1) == OPEN_DENTAL_SHEETS_EXAMPLE
    # Same text also pins the types: 45 (not "45"), "false" (not false).
    assert body == json.loads(OPEN_DENTAL_SHEETS_EXAMPLE)


def test_create_sheet_reproduces_open_dentals_example_response() -> None:
    sheet = _sheet(
        70,
        SheetType.SHEET_TYPE_PATIENT_LETTER,
        "2023-06-21 15:24:52",
        "Patient Letter",
        25,
        "2023-06-21 15:24:52",
    )
    sheet.pat_num = 465
    body = response_to_od(ROUTES["CreateSheet"], sheet_service_pb2.CreateSheetResponse(sheet=sheet))
    assert json.dumps(body, separators=(",", ":")) == (
        '{"SheetNum":70,"SheetType":"PatientLetter","PatNum":465,"DateTimeSheet":"2023-06-21 15:24:52",'
        '"InternalNote":"","Description":"Patient Letter","IsWebForm":"false","SheetDefNum":25,"DocNum":0,'
        '"ClinicNum":0,"DateTSheetEdited":"2023-06-21 15:24:52"}'
    )


@pytest.mark.parametrize(
    ("message", "keys"),
    [
        (
            resources_pb2.Sheet(),
            "SheetNum SheetType PatNum DateTimeSheet InternalNote Description IsWebForm SheetDefNum DocNum "
            "ClinicNum DateTSheetEdited",
        ),
        (
            resources_pb2.SheetField(),
            "SheetFieldNum SheetNum FieldType FieldName FieldValue IsRequired ReportableName DateTimeSig",
        ),
        (resources_pb2.SheetDef(), "SheetDefNum Description SheetType"),
        (
            resources_pb2.SheetFieldDef(),
            "SheetFieldDefNum SheetDefNum FieldType FieldName FieldValue IsRequired",
        ),
    ],
)
def test_every_resource_has_open_dentals_keys_in_open_dentals_order(message: Message, keys: str) -> None:
    assert list(to_od(message)) == keys.split()


def test_a_default_sheet_field_has_every_key_with_open_dentals_defaults() -> None:
    assert to_od(resources_pb2.SheetField()) == {
        "SheetFieldNum": 0,
        "SheetNum": 0,
        "FieldType": "",
        "FieldName": "",
        "FieldValue": "",
        "IsRequired": "false",
        "ReportableName": "",
        "DateTimeSig": "0001-01-01 00:00:00",
    }


def test_64_bit_keys_are_json_numbers_never_strings() -> None:
    body = to_od(resources_pb2.SheetDef(sheet_def_num=2**63 - 1))
    assert json.dumps(body["SheetDefNum"]) == "9223372036854775807"


def test_booleans_are_the_strings_true_and_false() -> None:
    assert to_od(resources_pb2.SheetFieldDef(is_required=True))["IsRequired"] == "true"
    assert to_od(resources_pb2.SheetFieldDef(is_required=False))["IsRequired"] == "false"


def test_enums_are_open_dentals_names() -> None:
    field = resources_pb2.SheetField(field_type=SheetFieldType.SHEET_FIELD_TYPE_CHECK_BOX)
    assert to_od(field)["FieldType"] == "CheckBox"
    assert to_od(resources_pb2.SheetDef(sheet_type=SheetType.SHEET_TYPE_NONE))["SheetType"] == "None"
    assert to_od(resources_pb2.SheetDef(sheet_type=SheetType.SHEET_TYPE_ERA))["SheetType"] == "ERA"


def test_an_unspecified_or_unknown_enum_is_an_empty_string() -> None:
    assert to_od(resources_pb2.SheetDef())["SheetType"] == ""
    unknown = resources_pb2.SheetDef()
    unknown.sheet_type = cast(SheetType.ValueType, 999)
    assert to_od(unknown)["SheetType"] == ""


def test_date_times_are_zero_padded_and_unset_is_open_dentals_min_value() -> None:
    sheet = resources_pb2.Sheet(date_time_sheet=datetime_pb2.DateTime(year=2024, month=2, day=3, hours=4))
    body = to_od(sheet)
    assert body["DateTimeSheet"] == "2024-02-03 04:00:00"
    assert body["DateTSheetEdited"] == "0001-01-01 00:00:00"
    early = to_od(resources_pb2.Sheet(date_time_sheet=datetime_pb2.DateTime(year=1, month=1, day=1)))
    assert early["DateTimeSheet"] == "0001-01-01 00:00:00"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("a\r\nb", "a b"), ("a\nb", "a b"), ("a\rb", "a b"), ("\r\n\r\n", "  "), ("plain", "plain")],
)
def test_line_breaks_in_text_come_out_as_a_space(stored: str, shown: str) -> None:
    assert to_od(resources_pb2.SheetField(field_value=stored))["FieldValue"] == shown


def test_response_body_selects_a_list_an_object_or_the_whole_message() -> None:
    fields = sheet_service_pb2.ListSheetFieldsResponse(
        sheet_fields=[resources_pb2.SheetField(sheet_field_num=3)]
    )
    listed = response_to_od(ROUTES["ListSheetFields"], fields)
    assert isinstance(listed, list)
    assert [f["SheetFieldNum"] for f in listed] == [3]
    assert response_to_od(ROUTES["ListSheets"], sheet_service_pb2.ListSheetsResponse()) == []
    one = sheet_service_pb2.GetSheetDefResponse(sheet_def=resources_pb2.SheetDef(sheet_def_num=4))
    assert response_to_od(ROUTES["GetSheetDef"], one) == {
        "SheetDefNum": 4,
        "Description": "",
        "SheetType": "",
    }
    export = sheet_service_pb2.ExportSheetSftpResponse(location="host/dir/sheet.pdf")
    assert response_to_od(ROUTES["ExportSheetSftp"], export) == {"location": "host/dir/sheet.pdf"}


def test_a_message_without_fields_is_an_empty_object() -> None:
    assert to_od(empty_pb2.Empty()) == {}


# --- a message of our own, for the field kinds the Sheets API does not use ----


def _thing_routes() -> dict[str, Route]:
    """`test.Thing` with one field of every kind, served by GET /things/{small}
    (everything else from the query) and PUT /things/{small} (body: `child`)."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    deps = (annotations_pb2.DESCRIPTOR, options_pb2.DESCRIPTOR, datetime_pb2.DESCRIPTOR, date_pb2.DESCRIPTOR)
    for dep in deps:
        add_with_dependencies(pool, dep, added)
    proto = descriptor_pb2.FileDescriptorProto(
        name="test/thing.proto", package="test", syntax="proto3", dependency=[d.name for d in deps]
    )
    color = proto.enum_type.add(name="Color")
    color.value.add(name="COLOR_UNSPECIFIED", number=0)
    red = color.value.add(name="COLOR_RED", number=1)
    red.options.Extensions[options_pb2.open_dental].CopyFrom(
        options_pb2.OpenDentalEnumValue(name="Red", value=0)
    )
    color.value.add(name="COLOR_BLUE", number=2)
    thing = proto.message_type.add(name="Thing")
    fields = [
        ("small", _F.TYPE_INT32, ""),
        ("count", _F.TYPE_UINT64, ""),
        ("ratio", _F.TYPE_DOUBLE, ""),
        ("score", _F.TYPE_FLOAT, ""),
        ("flag", _F.TYPE_BOOL, ""),
        ("flags", _F.TYPE_BOOL, "repeated"),
        ("day", _F.TYPE_MESSAGE, ".google.type.Date"),
        ("at", _F.TYPE_MESSAGE, ".google.type.DateTime"),
        ("blob", _F.TYPE_BYTES, ""),
        ("kind", _F.TYPE_ENUM, ".test.Color"),
        ("kinds", _F.TYPE_ENUM, "repeated .test.Color"),
        ("names", _F.TYPE_STRING, "repeated"),
        ("child", _F.TYPE_MESSAGE, ".test.Thing"),
        ("children", _F.TYPE_MESSAGE, "repeated .test.Thing"),
        ("class", _F.TYPE_STRING, ""),
    ]
    for number, (name, kind, extra) in enumerate(fields, start=1):
        field = thing.field.add(name=name, number=number, type=kind, json_name=name.title())
        field.label = _F.LABEL_REPEATED if extra.startswith("repeated") else _F.LABEL_OPTIONAL
        type_name = extra.removeprefix("repeated").strip()
        if type_name:
            field.type_name = type_name
    service = proto.service.add(name="Things")
    get = service.method.add(name="Get", input_type=".test.Thing", output_type=".test.Thing")
    get.options.Extensions[annotations_pb2.http].get = "/things/{small}"
    put = service.method.add(name="Put", input_type=".test.Thing", output_type=".test.Thing")
    put.options.Extensions[annotations_pb2.http].put = "/things/{small}"
    put.options.Extensions[annotations_pb2.http].body = "child"
    pool.Add(proto)
    return {r.method_name: r for r in routes_from_service(pool.FindServiceByName("test.Things"))}


THINGS = _thing_routes()


def _thing(**values: Any) -> Any:
    # Run-time classes have no typed attributes; Any keeps the tests readable.
    thing: Any = THINGS["Get"].input_type()
    for name, value in values.items():
        if isinstance(value, list):
            getattr(thing, name).extend(value)
        elif isinstance(value, Message):
            getattr(thing, name).CopyFrom(value)
        else:
            setattr(thing, name, value)
    return thing


def test_every_field_kind_has_its_open_dental_form() -> None:
    thing = _thing(
        small=-5,
        count=2**64 - 1,
        ratio=0.25,
        flag=True,
        flags=[True, False],
        blob=b"hi",
        kind=1,
        kinds=[1, 2, 0],
        names=["a\r\nb", "c"],
        **{"class": "x"},
    )
    thing.day.year, thing.day.month, thing.day.day = 2021, 11, 6
    thing.at.year, thing.at.month, thing.at.day = 987, 1, 2
    thing.children.add().small = 7
    body = to_od(thing)
    assert body == {
        "Small": -5,
        "Count": 18446744073709551615,
        "Ratio": 0.25,
        "Score": 0.0,
        "Flag": "true",
        "Flags": ["true", "false"],
        "Day": "2021-11-06",
        "At": "0987-01-02 00:00:00",
        "Blob": "aGk=",
        "Kind": "Red",
        "Kinds": ["Red", "COLOR_BLUE", ""],
        "Names": ["a b", "c"],
        "Child": None,
        "Children": [body["Children"][0]],
        "Class": "x",
    }
    child = body["Children"][0]
    assert (child["Small"], child["Day"], child["At"], child["Child"]) == (
        7,
        "0001-01-01",
        "0001-01-01 00:00:00",
        None,
    )


def test_requested_date_formats_reach_dates_and_date_times_at_any_depth() -> None:
    thing = _thing()
    thing.at.year, thing.at.month, thing.at.day, thing.at.hours = 2022, 5, 21, 14
    thing.day.year, thing.day.month, thing.day.day = 2022, 5, 21
    thing.child.at.CopyFrom(thing.at)
    thing.children.add().day.CopyFrom(thing.day)
    dates = date_texts({"DateFormatString": "dd.MM.yy", "DateTimeFormatString": "yyyyMMdd HH'h'"})
    body = response_to_od(THINGS["Get"], thing, dates)
    assert (body["At"], body["Day"], body["Child"]["At"], body["Children"][0]["Day"]) == (
        "20220521 14h",
        "21.05.22",
        "20220521 14h",
        "21.05.22",
    )
    # Unset is .NET's MinValue; only the format asked for changes.
    assert (body["Child"]["Day"], body["Children"][0]["At"]) == ("01.01.01", "00010101 00h")
    only_datetimes = response_to_od(THINGS["Get"], thing, date_texts({"DateTimeFormatString": "yyyy"}))
    assert (only_datetimes["At"], only_datetimes["Day"]) == ("2022", "2022-05-21")
    assert response_to_od(THINGS["Get"], thing)["At"] == "2022-05-21 14:00:00"


def test_a_stored_date_no_calendar_has_is_written_as_stored_in_any_format() -> None:
    thing = _thing()
    thing.at.year, thing.at.month, thing.at.day = 2022, 13, 40
    body = response_to_od(THINGS["Get"], thing, date_texts({"DateTimeFormatString": "dd/MM/yyyy"}))
    assert body["At"] == "2022-13-40 00:00:00"


def test_a_format_given_twice_or_refused_by_dotnet_is_an_invalid_argument() -> None:
    assert _refusal(
        lambda: requested_formats(
            ROUTES["ListSheets"], [("DateTimeFormatString", "d"), ("datetimeformatstring", "D")]
        )
    ) == ("Duplicate query parameter: 'DateTimeFormatString'.", "DateTimeFormatString")
    assert _refusal(lambda: date_texts({"DateFormatString": "'open"})) == (
        "DateFormatString is invalid: the quote at position 1 is not closed.",
        "DateFormatString",
    )
    # A route whose answer holds no date takes no format: the parameter is any unknown one.
    assert requested_formats(ROUTES["ListSheetDefs"], [("DateTimeFormatString", "'open")]) == {}


def test_a_set_nested_object_is_written_in_full() -> None:
    thing = _thing()
    thing.child.small = 1
    assert to_od(thing)["Child"] == to_od(_thing(small=1))


def test_a_non_finite_number_is_null_because_json_has_no_nan() -> None:
    assert to_od(_thing(ratio=float("nan")))["Ratio"] is None


# --- input: query strings and path parameters --------------------------------


def _query(route: Route, query: Any, path: dict[str, str] | None = None) -> Any:
    request = route.input_type()
    query_to_message(route, query, path or {}, request)
    return request


def _refusal(call: Callable[[], object]) -> tuple[str, str | None]:
    with pytest.raises(InvalidArgument) as raised:
        call()
    return raised.value.message, raised.value.field


def test_query_parameters_fill_the_request() -> None:
    request = _query(ROUTES["ListSheets"], [("PatNum", "123"), ("Offset", "400"), ("Limit", "-1")])
    assert (request.pat_num, request.offset, request.limit) == (123, 400, -1)
    assert request.HasField("limit")


def test_query_parameters_may_be_a_mapping() -> None:
    assert _query(ROUTES["ListSheets"], {"PatNum": "7"}).pat_num == 7


def test_query_parameter_names_match_in_any_case_as_in_open_dentals_dotnet_api() -> None:
    request = _query(ROUTES["ListSheets"], [("patnum", "5"), ("LIMIT", "3")])
    assert (request.pat_num, request.limit) == (5, 3)


def test_an_absent_query_parameter_stays_absent_for_the_service_to_judge() -> None:
    request = _query(ROUTES["ListSheets"], [])
    assert not request.HasField("pat_num")
    assert not request.HasField("offset")


@pytest.mark.parametrize("text", ["abc", "1.5", "+5", " 5", "5 ", "", "1_000", "\u0663", "0x10", "-", "1e3"])
def test_a_query_integer_must_be_plain_decimal_digits(text: str) -> None:
    assert _refusal(lambda: _query(ROUTES["ListSheets"], [("PatNum", text)])) == (
        "PatNum is invalid. It must be a whole number.",
        "PatNum",
    )


@pytest.mark.parametrize(
    ("name", "text", "low", "high"),
    [
        ("PatNum", "9" * 30, -(2**63), 2**63 - 1),
        ("PatNum", str(2**63), -(2**63), 2**63 - 1),
        ("PatNum", str(-(2**63) - 1), -(2**63), 2**63 - 1),
        ("Limit", str(2**31), -(2**31), 2**31 - 1),
        ("Offset", "9" * 5000, -(2**31), 2**31 - 1),
    ],
)
def test_a_query_integer_out_of_its_range_is_refused_naming_the_range(
    name: str, text: str, low: int, high: int
) -> None:
    assert _refusal(lambda: _query(ROUTES["ListSheets"], [(name, text)])) == (
        f"{name} is invalid. It must be a whole number from {low} to {high}.",
        name,
    )


def test_query_integers_at_the_ends_of_their_range_are_accepted() -> None:
    request = _query(ROUTES["ListSheets"], [("PatNum", str(-(2**63))), ("Limit", str(2**31 - 1))])
    assert (request.pat_num, request.limit) == (-(2**63), 2**31 - 1)


def _ignored_by(call: Callable[[], object]) -> list[str]:
    with collecting_ignored() as names:
        call()
    return names


def test_an_unknown_query_parameter_is_ignored_and_its_name_noted() -> None:
    request: Any = ROUTES["ListSheets"].input_type()
    names = _ignored_by(
        lambda: query_to_message(ROUTES["ListSheets"], [("PatNum", "1"), ("Color", "red")], {}, request)
    )
    assert (request.pat_num, names) == (1, ["Color"])
    assert "red" not in repr(names)


def test_a_path_bound_field_given_as_a_query_parameter_is_ignored() -> None:
    route = ROUTES["GetSheet"]
    request: Any = route.input_type()
    names = _ignored_by(lambda: query_to_message(route, [("SheetNum", "5")], {"sheet_num": "7"}, request))
    assert (request.sheet_num, names) == (7, ["SheetNum"])


def test_a_body_route_ignores_query_parameters() -> None:
    request = ROUTES["CreateSheet"].input_type()
    names = _ignored_by(lambda: query_to_message(ROUTES["CreateSheet"], [("PatNum", "1")], {}, request))
    assert (request.HasField("pat_num"), names) == (False, ["PatNum"])


def test_the_gateways_own_query_parameters_are_not_noted_as_ignored() -> None:
    request = ROUTES["ListSheets"].input_type()
    names = _ignored_by(
        lambda: query_to_message(
            ROUTES["ListSheets"],
            [("PatNum", "1"), ("datetimeformatstring", "yyyy")],
            {},
            request,
            skip=frozenset({"datetimeformatstring"}),
        )
    )
    assert names == []


def test_known_query_parameters_keep_their_checks_beside_unknown_ones() -> None:
    assert _refusal(lambda: _query(ROUTES["ListSheets"], [("Color", "red"), ("PatNum", "x")])) == (
        "PatNum is invalid. It must be a whole number.",
        "PatNum",
    )


@pytest.mark.parametrize("second", ["PatNum", "patnum"])
def test_a_query_parameter_given_twice_is_refused(second: str) -> None:
    assert _refusal(lambda: _query(ROUTES["ListSheets"], [("PatNum", "1"), (second, "2")])) == (
        "Duplicate query parameter: 'PatNum'.",
        "PatNum",
    )


def test_an_ignored_name_is_noted_short_and_printable_and_at_most_twenty() -> None:
    request = ROUTES["ListSheets"].input_type()
    query = [("\ud800\n" + "x" * 100, "1")] + [(f"Extra{n}", "1") for n in range(30)]
    names = _ignored_by(lambda: query_to_message(ROUTES["ListSheets"], query, {}, request))
    assert names[0] == "??" + "x" * 38 + "..."
    assert len(names) == 20
    names[0].encode("utf-8")


@pytest.mark.parametrize(("text", "kind"), [("Consent", 7), ("consent", 7), ("6", 7), ("0", 1), ("ERA", 22)])
def test_a_query_enum_is_open_dentals_name_in_any_case_or_its_integer(text: str, kind: int) -> None:
    assert _query(ROUTES["ListSheetDefs"], [("SheetType", text)]).sheet_type == kind


@pytest.mark.parametrize("text", ["Foo", "99", "-1", "SHEET_TYPE_CONSENT", "", "9" * 40])
def test_a_query_enum_that_names_no_value_is_refused(text: str) -> None:
    message, field = _refusal(lambda: _query(ROUTES["ListSheetDefs"], [("SheetType", text)]))
    assert message == f"SheetType '{text[:40]}{'...' if len(text) > 40 else ''}' is not a valid SheetType."
    assert field == "SheetType"


def test_path_parameters_convert_like_query_parameters() -> None:
    assert _query(ROUTES["GetSheet"], [], {"sheet_num": "45"}).sheet_num == 45
    assert _refusal(lambda: _query(ROUTES["GetSheet"], [], {"sheet_num": "DownloadSftp"})) == (
        "SheetNum is invalid. It must be a whole number.",
        "SheetNum",
    )


@pytest.mark.parametrize(("text", "flag"), [("true", True), ("False", False), ("TRUE", True)])
def test_a_query_boolean_is_true_or_false_in_any_case(text: str, flag: bool) -> None:
    assert _query(THINGS["Get"], [("Flag", text)]).flag is flag


@pytest.mark.parametrize("text", ["1", "yes", "", "t"])
def test_a_query_boolean_other_than_true_or_false_is_refused(text: str) -> None:
    assert _refusal(lambda: _query(THINGS["Get"], [("Flag", text)])) == (
        'Flag must be "true" or "false".',
        "Flag",
    )


def test_a_repeated_field_takes_its_query_parameter_once_per_value() -> None:
    request = _query(THINGS["Get"], [("Names", "a"), ("names", "b"), ("Kinds", "Red"), ("Kinds", "2")])
    assert list(request.names) == ["a", "b"]
    assert list(request.kinds) == [1, 2]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("Ratio", "1.5", 1.5),
        ("Ratio", "-2", -2.0),
        ("Ratio", "1e3", 1000.0),
        ("Blob", "aGk=", b"hi"),
        ("Count", str(2**64 - 1), 2**64 - 1),
        ("Kind", "red", 1),
        ("Kind", "COLOR_BLUE", 2),
    ],
)
def test_query_parameters_of_every_scalar_kind_are_read(name: str, text: str, expected: object) -> None:
    request = _query(THINGS["Get"], [(name, text)])
    assert getattr(request, name.lower()) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("Ratio", "nan", "Ratio is invalid. It must be a number."),
        ("Ratio", "inf", "Ratio is invalid. It must be a number."),
        ("Ratio", "1e400", "Ratio is invalid. It must be a number."),
        ("Ratio", "", "Ratio is invalid. It must be a number."),
        ("Blob", "!!", "Blob must be base64 text."),
        ("Count", "-1", "Count is invalid. It must be a whole number from 0 to 18446744073709551615."),
        ("Kind", "Blue", "Kind 'Blue' is not a valid Color."),
        ("Kind", "1", "Kind '1' is not a valid Color."),
        ("Names", "\ud800", "Names is invalid. It is not valid Unicode text."),
        ("Child", "x", "Child cannot be given in the URL."),
    ],
)
def test_query_parameters_of_every_kind_refuse_what_does_not_fit(name: str, text: str, message: str) -> None:
    assert _refusal(lambda: _query(THINGS["Get"], [(name, text)])) == (message, name)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("2021-11-16 02:45:38", (2021, 11, 16, 2, 45, 38)),
        ("2021-11-16T02:45", (2021, 11, 16, 2, 45, 0)),
        ("2021-11-16", (2021, 11, 16, 0, 0, 0)),
        ("0001-01-01 00:00:00", (1, 1, 1, 0, 0, 0)),
    ],
)
def test_a_date_time_is_read_in_open_dentals_format(text: str, parts: tuple[int, ...]) -> None:
    at = _query(THINGS["Get"], [("At", text)]).at
    assert (at.year, at.month, at.day, at.hours, at.minutes, at.seconds) == parts


@pytest.mark.parametrize(
    "text", ["2021-02-30 00:00:00", "2021-11-16 25:00:00", "yesterday", "2021-1-1", "0000-01-01", ""]
)
def test_a_date_time_that_is_no_calendar_time_is_refused(text: str) -> None:
    assert _refusal(lambda: _query(THINGS["Get"], [("At", text)])) == (
        'At must be a date and time as "yyyy-MM-dd HH:mm:ss".',
        "At",
    )


def test_a_date_is_read_as_yyyy_mm_dd() -> None:
    day = _query(THINGS["Get"], [("Day", "2024-02-29")]).day
    assert (day.year, day.month, day.day) == (2024, 2, 29)
    assert _refusal(lambda: _query(THINGS["Get"], [("Day", "2023-02-29")])) == (
        'Day must be a date as "yyyy-MM-dd".',
        "Day",
    )


# --- input: JSON bodies ------------------------------------------------------


def _body(
    route: Route, data: Any, path: dict[str, str] | None = None, ignored: list[str] | None = None
) -> Any:
    request = route.input_type()
    with collecting_ignored() as names:
        query_to_message(route, [], path or {}, request)
        body_to_message(route, data, request)
    if ignored is not None:
        ignored.extend(names)
    return request


def test_a_body_fills_the_request() -> None:
    request = _body(ROUTES["CreateSheet"], {"SheetDefNum": 25, "PatNum": 465, "InternalNote": "hi"})
    assert (request.sheet_def_num, request.pat_num, request.internal_note) == (25, 465, "hi")


def test_body_keys_match_in_any_case_as_in_open_dentals_dotnet_api() -> None:
    request = _body(ROUTES["CreateSheet"], {"sheetdefnum": 25, "PATNUM": 465})
    assert (request.sheet_def_num, request.pat_num) == (25, 465)


def test_null_is_the_same_as_leaving_the_key_out() -> None:
    request = _body(ROUTES["CreateSheet"], {"SheetDefNum": None, "PatNum": 1, "InternalNote": None})
    assert not request.HasField("sheet_def_num")
    assert not request.HasField("internal_note")


def test_an_empty_or_null_body_leaves_every_field_absent() -> None:
    assert not _body(ROUTES["CreateSheet"], None).ListFields()
    assert not _body(ROUTES["CreateSheet"], {}).ListFields()


def test_a_zero_key_is_kept_for_the_service_to_refuse_as_invalid() -> None:
    request = _body(ROUTES["CreateSheet"], {"SheetDefNum": 0})
    assert request.HasField("sheet_def_num")


def test_a_whole_number_written_as_a_float_is_accepted_like_dotnet_does() -> None:
    assert _body(ROUTES["CreateSheet"], {"PatNum": 5.0}).pat_num == 5


@pytest.mark.parametrize("value", [1.5, True, False, "1", [1], {"a": 1}, float("inf"), float("nan")])
def test_a_body_integer_must_be_a_json_whole_number(value: object) -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], {"PatNum": value})) == (
        "PatNum is invalid. It must be a whole number.",
        "PatNum",
    )


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1e19])
def test_a_body_integer_out_of_range_is_refused(value: object) -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], {"PatNum": value})) == (
        f"PatNum is invalid. It must be a whole number from {-(2**63)} to {2**63 - 1}.",
        "PatNum",
    )


@pytest.mark.parametrize("value", [5, 1.5, True, ["x"], {"x": 1}])
def test_a_body_string_must_be_a_json_string(value: object) -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], {"InternalNote": value})) == (
        "InternalNote must be a string.",
        "InternalNote",
    )


def test_a_string_with_a_lone_surrogate_is_refused_not_a_crash() -> None:
    data = parse_json_body(b'{"InternalNote": "a\\ud800b"}')
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], data)) == (
        "InternalNote is invalid. It is not valid Unicode text.",
        "InternalNote",
    )


def test_text_beyond_ascii_is_kept_as_sent() -> None:
    assert _body(ROUTES["UpdateSheetField"], {"FieldValue": "Ångström ✓"}).field_value == "Ångström ✓"


def test_an_unknown_body_key_is_ignored_and_its_name_noted() -> None:
    data = {"SheetDefNum": 1, "DateTimeSheet": "2026-12-07T16:00:00.000Z", "Foo": {"x": [1]}}
    names: list[str] = []
    request = _body(ROUTES["CreateSheet"], data, ignored=names)
    assert (request.sheet_def_num, names) == (1, ["DateTimeSheet", "Foo"])


def test_known_body_keys_keep_their_checks_beside_unknown_ones() -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], {"Foo": 1, "PatNum": "x"})) == (
        "PatNum is invalid. It must be a whole number.",
        "PatNum",
    )


def test_the_same_key_in_two_spellings_is_refused() -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], {"PatNum": 1, "patnum": 2})) == (
        "Duplicate field: 'patnum'.",
        "PatNum",
    )


@pytest.mark.parametrize("data", [[], [{"PatNum": 1}], "text", 5, True])
def test_a_body_that_is_not_an_object_is_refused(data: object) -> None:
    assert _refusal(lambda: _body(ROUTES["CreateSheet"], data)) == (
        "The request body must be a JSON object.",
        None,
    )


def test_a_route_without_a_body_refuses_one() -> None:
    assert _refusal(lambda: _body(ROUTES["ListSheets"], {}))[0] == "This route takes no request body."


def test_a_body_key_bound_to_the_path_must_repeat_the_paths_value() -> None:
    route, path = ROUTES["UpdateSheetField"], {"sheet_field_num": "7"}
    request = _body(route, {"SheetFieldNum": 7, "FieldValue": "x"}, path)
    assert (request.sheet_field_num, request.field_value) == (7, "x")
    assert _refusal(lambda: _body(route, {"SheetFieldNum": 8, "FieldValue": "x"}, path)) == (
        "SheetFieldNum in the body does not match the URL.",
        "SheetFieldNum",
    )


@pytest.mark.parametrize(
    ("value", "flag"), [(True, True), (False, False), ("true", True), ("FALSE", False), ("True", True)]
)
def test_a_body_boolean_is_json_true_false_or_the_strings(value: object, flag: bool) -> None:
    request = _body(THINGS["Put"], {"Flag": value}, {"small": "1"})
    assert request.child.flag is flag


@pytest.mark.parametrize("value", [1, 0, "yes", "", [True]])
def test_a_body_boolean_other_than_true_or_false_is_refused(value: object) -> None:
    assert _refusal(lambda: _body(THINGS["Put"], {"Flag": value}, {"small": "1"})) == (
        'Child.Flag must be "true" or "false".',
        "Child.Flag",
    )


@pytest.mark.parametrize(
    ("value", "kind"), [("Red", 1), ("RED", 1), (0, 1), ("0", 1), (2, 2), ("COLOR_BLUE", 2)]
)
def test_a_body_enum_is_a_name_in_any_case_or_open_dentals_integer(value: object, kind: int) -> None:
    assert _body(THINGS["Put"], {"Kind": value}, {"small": "1"}).child.kind == kind


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Green", "Child.Kind 'Green' is not a valid Color."),
        (1, "Child.Kind '1' is not a valid Color."),
        ("COLOR_UNSPECIFIED", "Child.Kind 'COLOR_UNSPECIFIED' is not a valid Color."),
        (True, "Child.Kind must be the name of a Color."),
        (1.0, "Child.Kind must be the name of a Color."),
        ([], "Child.Kind must be the name of a Color."),
    ],
)
def test_a_body_enum_that_names_no_value_is_refused(value: object, message: str) -> None:
    assert _refusal(lambda: _body(THINGS["Put"], {"Kind": value}, {"small": "1"})) == (message, "Child.Kind")


def test_a_body_may_be_one_field_the_route_names() -> None:
    request = _body(
        THINGS["Put"],
        {
            "Small": 3,
            "Ratio": 2,
            "Score": 0.5,
            "Flags": ["true", False],
            "Names": ["a", "b"],
            "Kinds": ["Red", 2],
            "Day": "2021-11-16",
            "At": "2021-11-16 02:45:38",
            "Blob": "aGk=",
            "Child": {"Small": 4},
            "Children": [{"Small": 5}, {}],
            "Class": "c",
        },
        {"small": "9"},
    )
    child = request.child
    assert request.small == 9
    assert (child.small, child.ratio, child.score, list(child.flags)) == (3, 2.0, 0.5, [True, False])
    assert (list(child.names), list(child.kinds), child.blob) == (["a", "b"], [1, 2], b"hi")
    assert (child.day.year, child.at.seconds, child.child.small) == (2021, 38, 4)
    assert [c.small for c in child.children] == [5, 0]
    assert getattr(child, "class") == "c"


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        (
            {"Child": {"Small": "x"}},
            "Child.Child.Small is invalid. It must be a whole number.",
            "Child.Child.Small",
        ),
        ({"Child": 5}, "Child.Child must be a JSON object.", "Child.Child"),
        ({"Children": {}}, "Child.Children must be a JSON array.", "Child.Children"),
        ({"Children": [None]}, "Child.Children must be a JSON object.", "Child.Children"),
        ({"Names": "a"}, "Child.Names must be a JSON array.", "Child.Names"),
        ({"Names": [1]}, "Child.Names must be a string.", "Child.Names"),
        ({"Ratio": "1.5"}, "Child.Ratio is invalid. It must be a number.", "Child.Ratio"),
        ({"Ratio": True}, "Child.Ratio is invalid. It must be a number.", "Child.Ratio"),
        ({"Blob": 5}, "Child.Blob must be base64 text.", "Child.Blob"),
        ({"Blob": "a"}, "Child.Blob must be base64 text.", "Child.Blob"),
        ({"At": 5}, 'Child.At must be a date and time as "yyyy-MM-dd HH:mm:ss".', "Child.At"),
        ({"Day": "2021-11-16 00:00:00"}, 'Child.Day must be a date as "yyyy-MM-dd".', "Child.Day"),
        (
            {"Count": -1},
            "Child.Count is invalid. It must be a whole number from 0 to 18446744073709551615.",
            "Child.Count",
        ),
    ],
)
def test_body_values_of_every_kind_refuse_what_does_not_fit(data: Any, message: str, field: str) -> None:
    assert _refusal(lambda: _body(THINGS["Put"], data, {"small": "1"})) == (message, field)


def test_an_unknown_key_inside_a_nested_object_is_ignored_and_noted_with_its_path() -> None:
    names: list[str] = []
    request = _body(THINGS["Put"], {"Child": {"Nope": 1, "Small": 4}}, {"small": "1"}, ignored=names)
    assert (request.child.child.small, names) == (4, ["Child.Child.Nope"])


# --- parsing the body --------------------------------------------------------


def test_a_body_is_parsed_as_utf8_json() -> None:
    assert parse_json_body('{"FieldValue": "Ångström"}'.encode()) == {"FieldValue": "Ångström"}


def test_a_byte_order_mark_is_allowed_as_dotnet_clients_send_one() -> None:
    assert parse_json_body(b'\xef\xbb\xbf{"PatNum": 1}') == {"PatNum": 1}


@pytest.mark.parametrize("raw", [b"", b"  \r\n\t"])
def test_an_empty_body_is_none(raw: bytes) -> None:
    assert parse_json_body(raw) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "Malformed JSON: Expecting property name enclosed in double quotes at line 1, column 2."),
        (b'{"a" 1}', "Malformed JSON: Expecting ':' delimiter at line 1, column 6."),
        (b"\xff\xfe{}", "Malformed JSON: the body is not UTF-8 text."),
        (b'"\xed\xa0\x80"', "Malformed JSON: the body is not UTF-8 text."),
        (b'{"a": NaN}', "Malformed JSON: NaN is not a JSON value."),
        (b"-Infinity", "Malformed JSON: -Infinity is not a JSON value."),
        (b"9" * 5000, "Malformed JSON: a number is too long."),
        (b"[" * 100_000, "Malformed JSON: it is nested too deeply."),
        (b'{"PatNum": 1, "PatNum": 2}', "Duplicate field: 'PatNum'."),
        (b'{"a": {"b": 1, "b": 1}}', "Duplicate field: 'b'."),
    ],
)
def test_a_body_that_is_not_json_is_refused_with_an_explanation(raw: bytes, message: str) -> None:
    assert _refusal(lambda: parse_json_body(raw))[0] == message


# --- nothing but InvalidArgument, whatever arrives ---------------------------


def _random_text(rng: random.Random) -> str:
    alphabet = [
        "a",
        "Z",
        "0",
        "9",
        "-",
        ".",
        " ",
        "\r",
        "\n",
        "\x00",
        "é",
        "✓",
        "\ud800",
        "\U0001f600",
        "'",
        '"',
    ]
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))


def _random_key(rng: random.Random, keys: list[str]) -> str:
    key = rng.choice(keys)
    return rng.choice([key, key.lower(), key.upper(), _random_text(rng)])


def _random_json(rng: random.Random, keys: list[str], depth: int = 0) -> Any:
    choice = rng.randrange(11 if depth < 3 else 9)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, 1, -1, 2**31, 2**63, -(2**64), rng.randrange(-(10**30), 10**30)])
    if choice == 3:
        return rng.choice([0.0, 1.5, -2.0, 1e300, float("inf"), float("nan")])
    if choice in (4, 5, 6):
        return rng.choice(
            [_random_text(rng), "true", "FALSE", "Consent", "2021-11-16 02:45:38", "aGk=", "12"]
        )
    if choice in (7, 8):
        return rng.choice(keys)
    if choice == 9:
        return [_random_json(rng, keys, depth + 1) for _ in range(rng.randrange(3))]
    return {_random_key(rng, keys): _random_json(rng, keys, depth + 1) for _ in range(rng.randrange(4))}


def _accepts_or_explains(call: Callable[[], object]) -> None:
    """The call succeeds, or refuses with a sentence that can go out as JSON."""
    try:
        call()
    except InvalidArgument as error:
        message = error.message
    else:
        return
    assert message.endswith("."), message
    message.encode("utf-8")


ALL_ROUTES = [*ROUTES.values(), *THINGS.values()]


@pytest.mark.parametrize("route", ALL_ROUTES, ids=lambda r: r.method_name)
def test_random_bodies_queries_and_paths_are_accepted_or_explained(route: Route) -> None:
    rng = random.Random(route.full_method)  # noqa: S311 - reproducible inputs, not secrets
    keys = [f.json_name for f in route.method_descriptor.input_type.fields] + ["Foo"]
    for _ in range(400):
        request = route.input_type()
        query = [(_random_key(rng, keys), _random_text(rng)) for _ in range(rng.randrange(3))]
        path = {name: rng.choice([_random_text(rng), "7", "-0", "1" * 25]) for name in route.path_fields}
        _accepts_or_explains(partial(query_to_message, route, query, path, request))
        if route.body:
            value = rng.choice([_random_json(rng, keys), {k: _random_json(rng, keys) for k in keys}])
            _accepts_or_explains(partial(body_to_message, route, value, request))


def test_random_bytes_as_a_body_are_parsed_or_explained() -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible inputs, not secrets
    pieces = [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b":",
        b",",
        b"1",
        b"-",
        b"e",
        b"null",
        b"\\u",
        b"\xff",
        b"\xc3",
        b" ",
    ]
    for _ in range(2000):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        _accepts_or_explains(partial(parse_json_body, raw))

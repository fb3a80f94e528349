"""Properties that hold for any input (hypothesis): the JSON dialect round trip,
the token filler, the SFTP address parser and the sheet-definition importer."""

from __future__ import annotations

import json
import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.binding import body_to_message, query_to_message
from gateway.decoder import parse_json_body
from gateway.encoder import to_od
from gateway.routes import Route, routes_from_service
from opendental.sheets.v1 import options_pb2
from service.admin.sheetdef_xml import SheetDefFileError, parse_sheetdef
from service.contract.descriptors import SERVICE
from service.contract.errors import InvalidArgument
from service.filling.filler import Filler, Practice
from service.sftp.address import DEFAULT_PORT, parse_sftp_address
from service.storage import db, models
from service.vocab.enums import SheetFieldType, SheetType
from sheets.cli import main

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)
ROUTES = {route.method_name: route for route in routes_from_service(SERVICE)}
_FD = FieldDescriptor
_INT_RANGES = {
    _FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.TYPE_INT64: (-(2**63), 2**63 - 1),
}
# Text a caller may send: any Unicode but surrogates, and no CR/LF (the dialect
# writes "\r\n" as a space, as Open Dental does, so those do not round-trip).
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=40)


def _field_values(field: Any) -> st.SearchStrategy[Any]:
    rules = field.GetOptions().Extensions[options_pb2.rules]
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        return st.integers(1 if rules.positive else low, high)
    if field.type == _FD.TYPE_STRING:
        return _TEXT
    if field.type == _FD.TYPE_BOOL:
        return st.booleans()
    if field.type == _FD.TYPE_ENUM:
        numbers = [
            v.number for v in field.enum_type.values if v.GetOptions().HasExtension(options_pb2.open_dental)
        ]
        return st.sampled_from(numbers)
    raise AssertionError(f"no strategy for {field.full_name}")


@st.composite
def _requests(draw: st.DrawFn, route: Route) -> Message:
    message = route.input_type()
    for field in message.DESCRIPTOR.fields:
        if field.type == _FD.TYPE_MESSAGE or (field.has_presence and not draw(st.booleans())):
            continue
        setattr(message, field.name, draw(_field_values(field)))
    return message


def _body_round_trip(route: Route, message: Message) -> Message:
    """What the gateway reads back from the dialect's own JSON of `message`."""
    data = {key: value for key, value in to_od(message).items() if key not in _path_keys(route)}
    path = {name: str(getattr(message, name)) for name in route.path_fields}
    decoded = route.input_type()
    query_to_message(route, [], path, decoded)
    body_to_message(route, parse_json_body(json.dumps(data).encode()), decoded)
    return decoded


def _path_keys(route: Route) -> set[str]:
    fields = route.method_descriptor.input_type.fields_by_name
    return {fields[name].json_name for name in route.path_fields}


@pytest.mark.parametrize("method", ["CreateSheet", "ExportSheetSftp", "UpdateSheetField"])
def test_the_json_dialect_reads_back_what_it_writes_for_every_body(method: str) -> None:
    route = ROUTES[method]

    @PROPERTY
    @given(_requests(route))
    def round_trip(message: Message) -> None:
        # The dialect writes every key (an unset optional as its zero): the
        # values read back are the values written.
        decoded = _body_round_trip(route, message)
        assert to_od(decoded) == to_od(message)

    round_trip()


@pytest.mark.parametrize("method", ["ListSheets", "ListSheetDefs", "ListSheetFields", "ListSheetFieldDefs"])
def test_the_json_dialect_reads_back_its_query_parameters(method: str) -> None:
    route = ROUTES[method]

    @PROPERTY
    @given(_requests(route))
    def round_trip(message: Message) -> None:
        items = [
            (key, value if isinstance(value, str) else json.dumps(value))
            for key, value in to_od(message).items()
        ]
        # Only what was set goes in the URL, as a client writes it.
        present = {
            f.json_name for f in message.DESCRIPTOR.fields if not f.has_presence or message.HasField(f.name)
        }
        decoded = route.input_type()
        query_to_message(route, [(k, v) for k, v in items if k in present], {}, decoded)
        assert decoded == message
        assert to_od(decoded) == to_od(message)

    round_trip()


NOW = datetime(2026, 12, 1, 9, 30)
PRACTICE = Practice("Practice", "1 Main", "", "Town", "OR", "97477", "5415550100")
_PATIENT_TEXT = (
    "FName",
    "LName",
    "MiddleI",
    "Preferred",
    "Address",
    "City",
    "State",
    "Zip",
    "Title",
    "Salutation",
)
_IDENTIFIER = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)


def _filler(values: dict[str, Any], sheet_type: SheetType) -> Filler:
    return Filler(db.row(models.Patient(**values)) | {"PatNum": 7}, PRACTICE, NOW, sheet_type)


@PROPERTY
@given(
    values=st.fixed_dictionaries(dict.fromkeys(_PATIENT_TEXT, _TEXT)),
    sheet_type=st.sampled_from(list(SheetType)),
    template=st.lists(st.one_of(_TEXT, _IDENTIFIER.map(lambda name: f"[{name}]")), max_size=8).map("".join),
    unknown=_IDENTIFIER.map(lambda name: f"[zzNotOpenDental{name}]"),
)
def test_the_token_filler_never_raises_and_keeps_tokens_it_does_not_know(
    values: dict[str, Any], sheet_type: SheetType, template: str, unknown: str
) -> None:
    filler = _filler(values, sheet_type)
    text = f"{template} {unknown} {template}"
    filled = filler.static_text(text)
    assert unknown in filled
    assert filler.value(SheetFieldType.StaticText, "", text, "") == filled
    # Without brackets there is nothing to replace.
    plain = template.replace("[", "(").replace("]", ")")
    assert filler.static_text(plain) == plain


_HOST = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
)
_SEGMENT = st.text(string.ascii_letters + string.digits + "-_ ", min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s not in (".", "..")
)


@PROPERTY
@given(
    host=_HOST,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    folders=st.lists(_SEGMENT, max_size=4),
    name=st.one_of(st.none(), _SEGMENT),
)
def test_the_sftp_address_parser_reads_what_an_address_says(
    host: str, port: int | None, folders: list[str], name: str | None
) -> None:
    authority = host if port is None else f"{host}:{port}"
    path = "/".join([*folders, f"{name}.pdf"] if name else folders)
    target = parse_sftp_address(f"{authority}/{path}")
    assert target.host == host
    assert target.port == (DEFAULT_PORT if port is None else port)
    assert target.filename == (f"{name}.pdf" if name else "sheet.pdf")
    assert target.location == f"{authority}/{target.path}"
    # Reading its own location back gives the same target.
    assert parse_sftp_address(target.location) == target


@PROPERTY
@given(st.text(max_size=80))
def test_the_sftp_address_parser_answers_any_text_with_a_target_or_a_clear_error(address: str) -> None:
    try:
        target = parse_sftp_address(address)
    except InvalidArgument as error:
        refused: InvalidArgument | None = error
    else:
        refused = None
        assert target.filename.lower().endswith(".pdf")
    if refused is not None:
        assert refused.field == "SftpAddress"
        assert refused.message.endswith(".")


GOOD_XML = (
    b'<?xml version="1.0"?><SheetDef><Description>Letter</Description><SheetType>PatientLetter</SheetType>'
    b"<FontSize>11</FontSize><FontName>Arial</FontName><Width>850</Width><Height>1100</Height>"
    b"<SheetFieldDefs><SheetFieldDef><FieldType>StaticText</FieldType><FieldName></FieldName>"
    b"<FieldValue>Dear [nameF],</FieldValue><XPos>50</XPos><YPos>60</YPos><Width>400</Width>"
    b"<Height>20</Height></SheetFieldDef></SheetFieldDefs></SheetDef>"
)


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    """The good export, cut short, with bytes spliced in, or with a value replaced."""
    data = GOOD_XML
    kind = draw(st.sampled_from(["cut", "splice", "value"]))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    tags = re.findall(rb"<(\w+)>[^<]*</\1>", data)
    tag = draw(st.sampled_from(tags))
    value = draw(st.text(max_size=12)).encode("utf-8", "surrogatepass")
    pattern = rb"<" + tag + rb">[^<]*</" + tag + rb">"
    return re.sub(pattern, b"<" + tag + b">" + value + b"</" + tag + b">", data, count=1)


@settings(PROPERTY, suppress_health_check=[HealthCheck.too_slow])
@given(_damaged())
def test_the_importer_refuses_a_damaged_export_with_a_clear_error(data: bytes) -> None:
    try:
        sheet_def, fields = parse_sheetdef(data)
    except SheetDefFileError as error:
        # Named for the file, saying what is wrong: nothing else escapes.
        message = str(error)
    else:
        message = ""
        assert sheet_def.Width > 0
        assert len(fields) <= 1
    assert not message or message.startswith("sheet definition: ")


@pytest.mark.parametrize(
    "damage", [GOOD_XML[:-20], GOOD_XML.replace(b"<Width>850", b"<Width>wide"), b"\xff\xfe"]
)
def test_an_import_with_one_damaged_file_writes_nothing(tmp_path: Path, damage: bytes) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(GOOD_XML)
    bad.write_bytes(damage)
    base = ["--data-dir", str(tmp_path)]
    assert main([*base, "init-db"]) == 0
    assert main([*base, "import-sheetdef", str(good), str(bad)]) == 1
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'sheets.db'}")
    try:
        with engine.connect() as conn:
            for table in (models.SHEETDEF, models.SHEETFIELDDEF):
                assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    finally:
        engine.dispose()
    assert main([*base, "import-sheetdef", str(good)]) == 0

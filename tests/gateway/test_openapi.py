"""The OpenAPI document built from the routes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.type import date_pb2, datetime_pb2
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from gateway.binding import response_to_od
from gateway.dotnet_dates import FormatError, formatter
from gateway.encoder import to_od
from gateway.openapi import build_openapi
from gateway.routes import routes_from_service
from opendental.sheets.v1 import resources_pb2, sheet_service_pb2
from opendental.sheets.v1.resources_pb2 import SheetFieldType, SheetType
from tests.support.protos import add_with_dependencies

SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"]
ROUTES = routes_from_service(SERVICE)
DOCUMENT = build_openapi(ROUTES, title="Open Dental Sheets API", version="1.2.3")
_F = descriptor_pb2.FieldDescriptorProto
OPERATIONS = {
    operation["operationId"]: (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
}


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s to the node they name."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = DOCUMENT["components"]["schemas"][name]
    return schema


def _conforms(instance: Any, schema: dict[str, Any]) -> bool:
    wrapper = {**schema, "components": DOCUMENT["components"]}
    return bool(OAS30Validator(wrapper).is_valid(instance))


def test_the_document_is_valid_openapi_3() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.0.3"
    assert DOCUMENT["info"]["title"] == "Open Dental Sheets API"
    assert DOCUMENT["info"]["version"] == "1.2.3"


def test_the_document_is_plain_json() -> None:
    assert json.loads(json.dumps(DOCUMENT)) == DOCUMENT


def test_every_route_is_an_operation_named_for_its_rpc() -> None:
    assert sorted(OPERATIONS) == sorted(m.name for m in SERVICE.methods)
    for route in ROUTES:
        _, method, operation = OPERATIONS[route.method_name]
        assert method == route.http_method.lower()
        assert operation["x-grpc-method"] == route.full_method


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        ("ListSheets", "/api/v1/sheets"),
        ("GetSheet", "/api/v1/sheets/{SheetNum}"),
        ("RenderSheetPdf", "/api/v1/sheets/{SheetNum}/pdf"),
        ("ExportSheetSftp", "/api/v1/sheets/DownloadSftp"),
        ("UpdateSheetField", "/api/v1/sheetfields/{SheetFieldNum}"),
        ("GetSheetFieldDef", "/api/v1/sheetfielddefs/{SheetFieldDefNum}"),
    ],
)
def test_paths_name_their_parameters_as_open_dental_does(operation: str, path: str) -> None:
    assert OPERATIONS[operation][0] == path


def test_routes_on_one_path_share_a_path_item() -> None:
    assert set(DOCUMENT["paths"]["/api/v1/sheetfields/{SheetFieldNum}"]) == {"get", "put"}
    assert set(DOCUMENT["paths"]["/api/v1/sheets"]) == {"get", "post"}


def test_operations_are_tagged_by_resource() -> None:
    assert OPERATIONS["ExportSheetSftp"][2]["tags"] == ["sheets"]
    assert OPERATIONS["ListSheetFieldDefs"][2]["tags"] == ["sheetfielddefs"]


def test_list_sheets_takes_its_query_parameters_with_their_rules() -> None:
    parameters = {p["name"]: p for p in OPERATIONS["ListSheets"][2]["parameters"]}
    assert list(parameters) == ["PatNum", "Offset", "Limit", "DateFormatString", "DateTimeFormatString"]
    assert {p["in"] for p in parameters.values()} == {"query"}
    assert parameters["PatNum"]["required"] is True
    assert parameters["PatNum"]["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
        "example": 1,
    }
    assert parameters["Offset"]["required"] is False
    # The API's own paging bounds: Offset from 0, Limit up to the page limit.
    assert parameters["Offset"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,
        "maximum": 2**31 - 1,
    }
    assert parameters["Limit"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 1,
        "maximum": 1000,
    }


def test_the_limit_maximum_is_the_configured_page_limit() -> None:
    document = build_openapi(ROUTES, title="T", version="1", page_limit=7)
    (limit,) = [
        p for p in document["paths"]["/api/v1/sheetdefs"]["get"]["parameters"] if p["name"] == "Limit"
    ]
    assert limit["schema"]["maximum"] == 7


def test_create_sheet_links_to_the_reads_of_the_sheet_it_created() -> None:
    links = OPERATIONS["CreateSheet"][2]["responses"]["200"]["links"]
    assert {name: link["parameters"] for name, link in links.items()} == {
        "GetSheet": {"path.SheetNum": "$response.body#/SheetNum"},
        "RenderSheetPdf": {"path.SheetNum": "$response.body#/SheetNum"},
        "ListSheetFields": {"query.SheetNum": "$response.body#/SheetNum"},
    }
    assert all(link["operationId"] == name for name, link in links.items())


def test_every_operation_documents_the_limits_it_can_hit() -> None:
    for _, _, operation in OPERATIONS.values():
        assert {"429", "503", "504"} <= set(operation["responses"])


def test_a_path_parameter_is_required_and_not_repeated_in_the_query() -> None:
    (parameter,) = [p for p in OPERATIONS["GetSheet"][2]["parameters"] if p["in"] == "path"]
    assert [p["name"] for p in OPERATIONS["GetSheet"][2]["parameters"] if p["in"] == "query"] == [
        "DateFormatString",
        "DateTimeFormatString",
    ]
    assert parameter | {"schema": None} == {
        "name": "SheetNum",
        "in": "path",
        "required": True,
        "schema": None,
    }
    assert parameter["schema"]["minimum"] == 1


def test_an_enum_query_parameter_lists_open_dentals_names() -> None:
    (parameter,) = [p for p in OPERATIONS["ListSheetDefs"][2]["parameters"] if p["name"] == "SheetType"]
    names, numbers = parameter["schema"]["anyOf"]
    assert names["enum"][:3] == ["LabelPatient", "LabelCarrier", "LabelReferral"]
    assert len(names["enum"]) == 29
    # Open Dental's integers are accepted too, and the document says which.
    assert numbers["type"] == "integer"
    assert len(numbers["enum"]) == 29
    assert "integer" in parameter["schema"]["description"]


def test_body_routes_take_no_query_parameters_but_the_date_formats() -> None:
    assert [p["name"] for p in OPERATIONS["CreateSheet"][2]["parameters"]] == [
        "DateFormatString",
        "DateTimeFormatString",
    ]
    assert "parameters" not in OPERATIONS["ExportSheetSftp"][2]


@pytest.mark.parametrize(
    ("operation", "takes"),
    [
        ("ListSheets", True),
        ("GetSheet", True),
        ("CreateSheet", True),
        ("ListSheetFields", True),
        ("GetSheetField", True),
        ("UpdateSheetField", True),
        ("ListSheetDefs", False),
        ("GetSheetDef", False),
        ("ListSheetFieldDefs", False),
        ("GetSheetFieldDef", False),
        ("RenderSheetPdf", False),
        ("ExportSheetSftp", False),
    ],
)
def test_the_date_formats_are_declared_where_the_answer_holds_a_date(operation: str, takes: bool) -> None:
    names = [p["name"] for p in OPERATIONS[operation][2].get("parameters", [])]
    assert ("DateTimeFormatString" in names, "DateFormatString" in names) == (takes, takes)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("dd/MM/yyyy HH:mm:ss zzz", True),
        ("d", True),
        ("'quoted' \\h %d", True),
        ("fffffff", True),
        ("K", False),
        ("ffffffff", False),
        ("'open", False),
        ("%", False),
        ("%%", False),
        ("a\\", False),
        ("yyyy\n", True),
    ],
)
def test_the_declared_format_pattern_takes_what_the_formatter_takes(text: str, valid: bool) -> None:
    (parameter,) = [
        p for p in OPERATIONS["ListSheets"][2]["parameters"] if p["name"] == "DateTimeFormatString"
    ]
    declared = re.search(parameter["schema"]["pattern"], text) is not None
    try:
        formatter(text)
    except FormatError:
        formatted = False
    else:
        formatted = True
    assert (declared, formatted) == (valid, valid)


def test_create_sheets_body_carries_the_field_rules() -> None:
    body = OPERATIONS["CreateSheet"][2]["requestBody"]
    assert body["required"] is True
    schema = _deref(body["content"]["application/json"]["schema"])
    assert list(schema["properties"]) == ["SheetDefNum", "PatNum", "InternalNote", "SheetFields", "AptNum"]
    assert schema["required"] == ["SheetDefNum", "PatNum"]
    items = _deref(schema["properties"]["SheetFields"]["items"])
    assert list(items["properties"]) == ["FieldName", "FieldValue", "RadioButtonValue"]
    assert items["required"] == ["FieldName"]
    assert items["properties"]["FieldValue"]["maxLength"] == 65535
    assert schema["properties"]["PatNum"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
        "example": 1,
    }
    assert schema["properties"]["InternalNote"] == {
        "type": "string",
        "maxLength": 65535,
        "x-maxBytes": 65535,
        "description": "At most 65535 bytes of UTF-8.",
        "nullable": True,
    }
    # Keys the gateway does not know are ignored, not refused.
    assert "additionalProperties" not in schema


def test_export_body_requires_all_four_keys() -> None:
    schema = _deref(OPERATIONS["ExportSheetSftp"][2]["requestBody"]["content"]["application/json"]["schema"])
    assert schema["required"] == ["SheetNum", "SftpAddress", "SftpUsername", "SftpPassword"]
    assert schema["properties"]["SftpAddress"]["maxLength"] == 1024


def test_update_sheet_fields_body_leaves_out_the_path_key() -> None:
    schema = _deref(OPERATIONS["UpdateSheetField"][2]["requestBody"]["content"]["application/json"]["schema"])
    assert list(schema["properties"]) == ["FieldValue"]
    assert schema["required"] == ["FieldValue"]


@pytest.mark.parametrize(
    ("operation", "status"),
    [("ListSheets", "200"), ("CreateSheet", "200"), ("ExportSheetSftp", "201"), ("RenderSheetPdf", "200")],
)
def test_the_success_response_has_the_routes_status(operation: str, status: str) -> None:
    responses = OPERATIONS[operation][2]["responses"]
    assert [code for code in responses if code.startswith("2")] == [status]


def test_create_sheet_answers_a_sheet_with_a_location_header() -> None:
    success = OPERATIONS["CreateSheet"][2]["responses"]["200"]
    assert success["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Sheet"}
    assert success["headers"]["Location"]["schema"] == {"type": "string"}


def test_export_answers_201_with_the_location_in_header_and_body() -> None:
    created = OPERATIONS["ExportSheetSftp"][2]["responses"]["201"]
    assert created["description"] == "Created"
    assert "Location" in created["headers"]
    schema = _deref(created["content"]["application/json"]["schema"])
    assert schema["properties"] == {"location": {"type": "string"}}


def test_list_routes_answer_a_json_array() -> None:
    schema = OPERATIONS["ListSheetFields"][2]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"type": "array", "items": {"$ref": "#/components/schemas/SheetField"}}


def test_the_pdf_route_answers_application_pdf() -> None:
    success = OPERATIONS["RenderSheetPdf"][2]["responses"]["200"]
    assert success["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_documents_its_errors_as_a_json_string(operation: str) -> None:
    responses = OPERATIONS[operation][2]["responses"]
    for status in ("400", "401", "404"):
        schema = _deref(_deref(responses[status])["content"]["application/json"]["schema"])
        assert schema["type"] == "string"


def test_an_over_size_body_is_documented_only_where_there_is_a_body() -> None:
    assert "413" in OPERATIONS["CreateSheet"][2]["responses"]
    assert "413" not in OPERATIONS["GetSheet"][2]["responses"]


def test_every_operation_needs_the_odfhir_authorization_header() -> None:
    assert DOCUMENT["security"] == [{"ODFHIR": []}]
    scheme = DOCUMENT["components"]["securitySchemes"]["ODFHIR"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "ODFHIR {DeveloperKey}/{CustomerKey}" in scheme["description"]


def test_the_sheet_schema_is_open_dentals_dialect() -> None:
    sheet = _schema("Sheet")
    assert list(sheet["properties"]) == list(to_od(resources_pb2.Sheet()))
    assert sheet["required"] == list(sheet["properties"])
    properties = sheet["properties"]
    assert properties["SheetNum"] == {"type": "integer", "format": "int64"}
    assert properties["IsWebForm"] == {"type": "string", "enum": ["true", "false"]}
    assert properties["SheetType"]["enum"][7] == "PatientLetter"
    # An answer's date-times follow DateTimeFormatString where a request gives one.
    assert "pattern" not in properties["DateTimeSheet"]
    assert "DateTimeFormatString" in properties["DateTimeSheet"]["description"]


def test_what_the_dialect_writes_conforms_to_the_schemas() -> None:
    sheet = resources_pb2.Sheet(
        sheet_num=45,
        sheet_type=SheetType.SHEET_TYPE_PATIENT_LETTER,
        pat_num=123,
        date_time_sheet=datetime_pb2.DateTime(year=2021, month=11, day=16, hours=2, minutes=45, seconds=38),
        description="Custom Patient Letter",
    )
    field = resources_pb2.SheetField(sheet_field_num=1, field_type=SheetFieldType.SHEET_FIELD_TYPE_CHECK_BOX)
    assert _conforms(to_od(sheet), _schema("Sheet"))
    assert _conforms(to_od(field), _schema("SheetField"))
    routes = {r.method_name: r for r in ROUTES}
    listed = response_to_od(routes["ListSheets"], sheet_service_pb2.ListSheetsResponse(sheets=[sheet, sheet]))
    success = OPERATIONS["ListSheets"][2]["responses"]["200"]["content"]["application/json"]["schema"]
    assert _conforms(listed, success)
    assert not _conforms([{**to_od(sheet), "IsWebForm": False}], success)


def test_an_empty_route_list_is_still_a_valid_document() -> None:
    document = build_openapi([], title="Nothing", version="0")
    validate(document)
    assert document["paths"] == {}


def _thing_document() -> dict[str, Any]:
    """A service whose `test.Thing` (one field of every kind, containing
    itself) is both a request body and a response."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    deps = (annotations_pb2.DESCRIPTOR, datetime_pb2.DESCRIPTOR, date_pb2.DESCRIPTOR)
    for dep in deps:
        add_with_dependencies(pool, dep, added)
    proto = descriptor_pb2.FileDescriptorProto(
        name="test/thing.proto", package="test", syntax="proto3", dependency=[d.name for d in deps]
    )
    thing = proto.message_type.add(name="Thing")
    kinds = [
        ("count", _F.TYPE_UINT64, ""),
        ("small", _F.TYPE_UINT32, ""),
        ("ratio", _F.TYPE_DOUBLE, ""),
        ("blob", _F.TYPE_BYTES, ""),
        ("day", _F.TYPE_MESSAGE, ".google.type.Date"),
        ("names", _F.TYPE_STRING, ""),
        ("child", _F.TYPE_MESSAGE, ".test.Thing"),
    ]
    for number, (name, kind, type_name) in enumerate(kinds, start=1):
        field = thing.field.add(name=name, number=number, type=kind, json_name=name.title())
        field.label = _F.LABEL_REPEATED if name == "names" else _F.LABEL_OPTIONAL
        if type_name:
            field.type_name = type_name
    service = proto.service.add(name="Things")
    for name, verb in (("Put", "put"), ("Post", "post")):
        method = service.method.add(name=name, input_type=".test.Thing", output_type=".test.Thing")
        setattr(method.options.Extensions[annotations_pb2.http], verb, "/things/{small}")
        method.options.Extensions[annotations_pb2.http].body = "*"
    get = service.method.add(name="Get", input_type=".test.Thing", output_type=".test.Thing")
    get.options.Extensions[annotations_pb2.http].get = "/things"
    get.options.Extensions[annotations_pb2.http].additional_bindings.add(get="/things/all")
    pool.Add(proto)
    return build_openapi(routes_from_service(pool.FindServiceByName("test.Things")), title="T", version="1")


def test_a_message_used_as_request_and_response_gets_a_schema_for_each() -> None:
    document = _thing_document()
    validate(document)
    schemas = document["components"]["schemas"]
    assert set(schemas) == {"Error", "Thing", "ThingBody", "ThingInput"}
    assert schemas["Thing"]["required"] == list(schemas["Thing"]["properties"])
    assert "Small" not in schemas["ThingBody"]["properties"]
    assert schemas["ThingBody"]["properties"]["Child"] == {"$ref": "#/components/schemas/ThingInput"}
    assert schemas["ThingInput"]["properties"]["Child"] == {"$ref": "#/components/schemas/ThingInput"}
    assert schemas["Thing"]["properties"]["Child"] == {"$ref": "#/components/schemas/Thing"}


def test_every_field_kind_has_a_schema_in_the_dialect() -> None:
    properties = _thing_document()["components"]["schemas"]["Thing"]["properties"]
    assert properties["Count"] == {"type": "integer", "minimum": 0}
    assert properties["Small"] == {"type": "integer", "format": "int64", "minimum": 0}
    assert properties["Ratio"] == {"type": "number", "format": "double"}
    assert properties["Blob"] == {"type": "string", "format": "byte"}
    assert "pattern" not in properties["Day"]
    assert properties["Day"]["description"].startswith("yyyy-MM-dd;")
    assert properties["Names"] == {"type": "array", "items": {"type": "string"}}


def test_operation_ids_stay_unique_and_queries_leave_out_objects() -> None:
    document = _thing_document()
    get = document["paths"]["/things"]["get"]
    assert "Child" not in [p["name"] for p in get["parameters"]]
    assert "Day" in [p["name"] for p in get["parameters"]]
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert sorted(ids) == ["Get", "Get2", "Post", "Put"]

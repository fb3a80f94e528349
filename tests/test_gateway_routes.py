"""REST routes derived from the proto's google.api.http annotations."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from google.api import annotations_pb2, http_pb2, httpbody_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from google.type import datetime_pb2

from gateway.routes import Route, location, routes_from_service
from opendental.sheets.v1 import options_pb2, resources_pb2, sheet_service_pb2
from tests._protos import add_with_dependencies

SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"]
ROUTES = {route.method_name: route for route in routes_from_service(SERVICE)}
_F = descriptor_pb2.FieldDescriptorProto


def test_every_sheet_service_rpc_has_exactly_one_route() -> None:
    routes = routes_from_service(SERVICE)
    assert [r.method_name for r in routes] == [m.name for m in SERVICE.methods]
    assert len(routes) == 16


@pytest.mark.parametrize(
    ("method", "http_method", "path", "path_fields", "body", "response_body", "status", "template"),
    [
        ("ListSheets", "GET", "/api/v1/sheets", (), "", "sheets", 200, ""),
        ("GetSheet", "GET", "/api/v1/sheets/{sheet_num}", ("sheet_num",), "", "sheet", 200, ""),
        ("CreateSheet", "POST", "/api/v1/sheets", (), "*", "sheet", 200, "/api/v1/sheets/{SheetNum}"),
        ("ExportSheetSftp", "POST", "/api/v1/sheets/DownloadSftp", (), "*", "", 201, "{location}"),
        ("RenderSheetPdf", "GET", "/api/v1/sheets/{sheet_num}/pdf", ("sheet_num",), "", "", 200, ""),
        ("ListSheetFields", "GET", "/api/v1/sheetfields", (), "", "sheet_fields", 200, ""),
        (
            "GetSheetField",
            "GET",
            "/api/v1/sheetfields/{sheet_field_num}",
            ("sheet_field_num",),
            "",
            "sheet_field",
            200,
            "",
        ),
        (
            "UpdateSheetField",
            "PUT",
            "/api/v1/sheetfields/{sheet_field_num}",
            ("sheet_field_num",),
            "*",
            "sheet_field",
            200,
            "",
        ),
        ("ListSheetDefs", "GET", "/api/v1/sheetdefs", (), "", "sheet_defs", 200, ""),
        (
            "GetSheetDef",
            "GET",
            "/api/v1/sheetdefs/{sheet_def_num}",
            ("sheet_def_num",),
            "",
            "sheet_def",
            200,
            "",
        ),
        ("ListSheetFieldDefs", "GET", "/api/v1/sheetfielddefs", (), "", "sheet_field_defs", 200, ""),
        (
            "GetSheetFieldDef",
            "GET",
            "/api/v1/sheetfielddefs/{sheet_field_def_num}",
            ("sheet_field_def_num",),
            "",
            "sheet_field_def",
            200,
            "",
        ),
    ],
)
async def test_route_has_open_dentals_method_path_and_status(
    method: str,
    http_method: str,
    path: str,
    path_fields: tuple[str, ...],
    body: str,
    response_body: str,
    status: int,
    template: str,
) -> None:
    route = ROUTES[method]
    assert (route.http_method, route.path, route.path_fields) == (http_method, path, path_fields)
    assert (route.body, route.response_body) == (body, response_body)
    assert (route.success_status, route.location_template) == (status, template)
    # The path aiohttp serves matches the URL a client sends, and its match_info keys are path_fields.
    router = web.Application().router
    router.add_route(route.http_method, route.aiohttp_path, _never_called)
    concrete = re.sub(r"\{[^}]*\}", "7", path)
    info = await router.resolve(make_mocked_request(http_method, concrete))
    assert info.http_exception is None, concrete
    assert dict(info) == dict.fromkeys(path_fields, "7")


async def _never_called(request: web.Request) -> web.Response:
    raise AssertionError("routing only")


def test_route_carries_the_grpc_method_and_message_classes() -> None:
    route = ROUTES["ListSheets"]
    assert route.full_method == "/opendental.sheets.v1.SheetService/ListSheets"
    assert route.input_type is sheet_service_pb2.ListSheetsRequest
    assert route.output_type is sheet_service_pb2.ListSheetsResponse
    assert route.method_descriptor is SERVICE.methods_by_name["ListSheets"]


def test_only_the_pdf_route_returns_an_http_body() -> None:
    assert ROUTES["RenderSheetPdf"].output_type is httpbody_pb2.HttpBody
    assert [r.method_name for r in ROUTES.values() if r.returns_http_body] == ["RenderSheetPdf"]


def test_location_of_a_created_sheet_is_its_url() -> None:
    response = sheet_service_pb2.CreateSheetResponse(sheet=resources_pb2.Sheet(sheet_num=70))
    assert location(ROUTES["CreateSheet"], response) == "/api/v1/sheets/70"


def test_location_of_an_sftp_export_is_the_written_file_path() -> None:
    response = sheet_service_pb2.ExportSheetSftpResponse(location="sftp.example:2222/Sheets/Exam.pdf")
    assert location(ROUTES["ExportSheetSftp"], response) == "sftp.example:2222/Sheets/Exam.pdf"


def test_location_never_carries_a_control_character_into_the_header() -> None:
    response = sheet_service_pb2.ExportSheetSftpResponse(location="host/a\r\nSet-Cookie: x\x00.pdf")
    assert location(ROUTES["ExportSheetSftp"], response) == "host/a Set-Cookie: x .pdf"


def test_location_is_none_for_a_route_without_a_template() -> None:
    response = sheet_service_pb2.ListSheetsResponse(sheets=[resources_pb2.Sheet(sheet_num=1)])
    assert location(ROUTES["ListSheets"], response) is None


# A service of our own, in its own pool, to exercise what SheetService does not use.


def _service(**rules: Any) -> ServiceDescriptor:
    """A service with one method `Call(Req) returns (Resp)` bound by `rules`
    (HttpRule fields) and, with `rest`, a (rest_response)."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    for file in (annotations_pb2.DESCRIPTOR, options_pb2.DESCRIPTOR, datetime_pb2.DESCRIPTOR):
        add_with_dependencies(pool, file, added)
    proto = descriptor_pb2.FileDescriptorProto(
        name="test/routes.proto",
        package="test",
        syntax="proto3",
        dependency=[
            annotations_pb2.DESCRIPTOR.name,
            options_pb2.DESCRIPTOR.name,
            datetime_pb2.DESCRIPTOR.name,
        ],
    )
    request = proto.message_type.add(name="Req")
    for number, (name, kind) in enumerate(
        [
            ("id", _F.TYPE_INT64),
            ("name", _F.TYPE_STRING),
            ("tags", _F.TYPE_STRING),
            ("when", _F.TYPE_MESSAGE),
        ],
        start=1,
    ):
        field = request.field.add(name=name, number=number, type=kind, json_name=name.title())
        field.label = _F.LABEL_REPEATED if name == "tags" else _F.LABEL_OPTIONAL
        if kind == _F.TYPE_MESSAGE:
            field.type_name = ".google.type.DateTime"
    response = proto.message_type.add(name="Resp")
    response.field.add(name="item", number=1, type=_F.TYPE_MESSAGE, type_name=".test.Req", json_name="Item")
    response.field.add(
        name="items",
        number=2,
        type=_F.TYPE_MESSAGE,
        type_name=".test.Req",
        json_name="Items",
        label=_F.LABEL_REPEATED,
    )
    method = proto.service.add(name="Svc").method.add(
        name="Call", input_type=".test.Req", output_type=".test.Resp"
    )
    rest = rules.pop("rest", None)
    if rest is not None:
        method.options.Extensions[options_pb2.rest_response].CopyFrom(rest)
    http = method.options.Extensions[annotations_pb2.http]
    for key, value in rules.items():
        if key == "additional_bindings":
            http.additional_bindings.extend(value)
        elif key == "custom":
            http.custom.CopyFrom(value)
        else:
            setattr(http, key, value)
    pool.Add(proto)
    return pool.FindServiceByName("test.Svc")


def test_additional_bindings_become_routes_of_the_same_method() -> None:
    extra = http_pb2.HttpRule(delete="/v1/things/{id}")
    routes = routes_from_service(_service(get="/v1/things/{id}", additional_bindings=[extra]))
    assert [(r.method_name, r.http_method, r.path) for r in routes] == [
        ("Call", "GET", "/v1/things/{id}"),
        ("Call", "DELETE", "/v1/things/{id}"),
    ]


def test_a_custom_verb_rule_is_served_with_its_method() -> None:
    custom = http_pb2.CustomHttpPattern(kind="head", path="/v1/things")
    (route,) = routes_from_service(_service(custom=custom))
    assert (route.http_method, route.path) == ("HEAD", "/v1/things")


def test_a_method_without_an_http_rule_has_no_route() -> None:
    assert routes_from_service(_service()) == []


def test_body_may_name_one_request_field() -> None:
    (route,) = routes_from_service(_service(post="/v1/things/{id}", body="name"))
    assert (route.body, route.path_fields) == ("name", ("id",))


def test_a_default_rest_response_is_200_without_location() -> None:
    (route,) = routes_from_service(_service(get="/v1/things"))
    assert (route.success_status, route.location_template) == (200, "")


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"get": "/v1/things/{id.value}"}, "unsupported segment"),
        ({"get": "/v1/things/{id=things/*}"}, "unsupported segment"),
        ({"get": "/v1/things/**"}, "unsupported segment"),
        ({"get": "/v1/things/{id}:run"}, "unsupported segment"),
        ({"get": "/v1/things/x{id}"}, "unsupported segment"),
        ({"get": "/v1//things"}, "unsupported segment"),
        ({"get": "v1/things"}, "does not start with '/'"),
        ({"get": "/v1/things/{nope}"}, "not a field of test.Req"),
        ({"get": "/v1/things/{tags}"}, "not a scalar"),
        ({"get": "/v1/things/{when}"}, "not a scalar"),
        ({"get": "/v1/things/{id}/{id}"}, "twice"),
        ({"post": "/v1/things", "body": "nope"}, "not a field of test.Req"),
        ({"post": "/v1/things/{id}", "body": "id"}, "also bound to the path"),
        ({"get": "/v1/things", "response_body": "nope"}, "not a field of test.Resp"),
        ({"get": "/v1/things", "rest": options_pb2.RestResponse(location="/v1/{Nope}")}, "names {Nope}"),
        ({"get": "/v1/things", "rest": options_pb2.RestResponse(location="/v1/{Item}")}, "not a scalar key"),
        (
            {
                "get": "/v1/things",
                "response_body": "items",
                "rest": options_pb2.RestResponse(location="/{Id}"),
            },
            "single message",
        ),
        (
            {"get": "/v1/things", "response_body": "item", "rest": options_pb2.RestResponse(location="/{Id")},
            "unbalanced brace",
        ),
        (
            {
                "get": "/v1/things",
                "response_body": "item",
                "rest": options_pb2.RestResponse(location="/{Tags}"),
            },
            "not a scalar key",
        ),
    ],
)
def test_a_rule_the_gateway_cannot_serve_fails_when_routes_are_built(
    rules: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=r"test\.Svc\.Call") as raised:
        routes_from_service(_service(**rules))
    assert problem in str(raised.value)


def test_location_reads_the_rest_body_after_response_body_selection() -> None:
    rest = options_pb2.RestResponse(status=201, location="/v1/things/{Id}?name={Name}")
    (route,) = routes_from_service(_service(post="/v1/things", body="*", response_body="item", rest=rest))
    response = route.output_type()
    # A class built at run time has no typed attributes.
    item = cast(Any, response).item
    item.id = 9
    item.name = "a\nb"
    assert route.success_status == 201
    assert location(route, response) == "/v1/things/9?name=a b"


def test_route_is_hashable_and_comparable_for_use_as_a_key() -> None:
    routes = routes_from_service(SERVICE)
    assert routes == routes_from_service(SERVICE)
    assert isinstance(Route.__hash__(routes[0]), int)

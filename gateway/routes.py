"""REST routes derived from the proto's `google.api.http` annotations.

A route is everything the gateway needs to serve one binding of one RPC: the
HTTP method and path, which request fields come from the path and the body,
which part of the response is the REST body, and the success status and
`Location` header from `(rest_response)`. Nothing here is written per method;
a proto that asks for something the gateway cannot serve fails loudly when the
routes are built, never on a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.api import annotations_pb2, httpbody_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from gateway.encoder import scalar_to_text
from opendental.sheets.v1 import options_pb2
from service.contract import message_type

_HTTP_BODY: str = httpbody_pb2.HttpBody.DESCRIPTOR.full_name
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SEGMENT_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LITERAL_SEGMENT = re.compile(r"[^{}*:/]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Route:
    """One REST binding of one RPC."""

    method_name: str
    full_method: str
    http_method: str
    path: str
    aiohttp_path: str
    path_fields: tuple[str, ...]
    body: str
    response_body: str
    success_status: int
    location_template: str
    input_type: type[Message]
    output_type: type[Message]
    method_descriptor: MethodDescriptor

    @property
    def returns_http_body(self) -> bool:
        """The response is raw bytes (`google.api.HttpBody`), not JSON."""
        return self.method_descriptor.output_type.full_name == _HTTP_BODY


def routes_from_service(service: ServiceDescriptor) -> list[Route]:
    """Every binding (including `additional_bindings`) of every method with a
    `google.api.http` rule, in declaration order; raises ValueError for a rule
    the gateway cannot serve."""
    routes: list[Route] = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        rule = options.Extensions[annotations_pb2.http]
        rest = options.Extensions[options_pb2.rest_response]
        for binding in (rule, *rule.additional_bindings):
            routes.append(_route(service, method, binding, rest))
    return routes


def _route(
    service: ServiceDescriptor, method: MethodDescriptor, rule: Any, rest: options_pb2.RestResponse
) -> Route:
    where = f"{method.full_name}: google.api.http"
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise ValueError(f"{where} has no pattern")
    if kind == "custom":
        http_method, path = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, path = kind.upper(), getattr(rule, kind)
    aiohttp_path, path_fields = _parse_template(path, method.input_type, where)
    body: str = rule.body
    if body not in ("", "*"):
        body_field = _top_level_field(method.input_type, body, f"{where} body")
        if body_field.name in path_fields:
            raise ValueError(f"{where} body {body!r} is also bound to the path")
    response_body: str = rule.response_body
    if response_body:
        _top_level_field(method.output_type, response_body, f"{where} response_body")
    template = rest.location
    if template:
        # Built now so that a bad template fails at startup; cached for location().
        _location_parts(template, method.output_type, response_body, method.full_name)
    return Route(
        method_name=method.name,
        full_method=f"/{service.full_name}/{method.name}",
        http_method=http_method,
        path=path,
        aiohttp_path=aiohttp_path,
        path_fields=path_fields,
        body=body,
        response_body=response_body,
        success_status=rest.status or 200,
        location_template=template,
        input_type=message_factory.GetMessageClass(method.input_type),
        output_type=message_factory.GetMessageClass(method.output_type),
        method_descriptor=method,
    )


def _parse_template(path: str, request: Descriptor, where: str) -> tuple[str, tuple[str, ...]]:
    """Only literal segments and whole-segment `{field}` variables: they map
    one-to-one onto aiohttp's router, and anything richer (`{a.b}`, `{x=*}`,
    `**`, `:verb`) would need a matcher of our own."""
    if not path.startswith("/"):
        raise ValueError(f"{where} path {path!r} does not start with '/'")
    fields: list[str] = []
    for segment in path[1:].split("/"):
        variable = _SEGMENT_VARIABLE.fullmatch(segment)
        if variable:
            field = _top_level_field(request, variable.group(1), f"{where} path {path!r}")
            if field.is_repeated or field.type == FieldDescriptor.TYPE_MESSAGE:
                raise ValueError(f"{where} path {path!r} binds {field.name!r}, which is not a scalar")
            if field.name in fields:
                raise ValueError(f"{where} path {path!r} binds {field.name!r} twice")
            fields.append(field.name)
        elif not _LITERAL_SEGMENT.fullmatch(segment):
            raise ValueError(f"{where} path {path!r} has an unsupported segment {segment!r}")
    # The placeholders are the proto field names, so aiohttp's match_info is
    # keyed the way Route.path_fields is.
    return path, tuple(fields)


def _top_level_field(message: Descriptor, name: str, where: str) -> FieldDescriptor:
    field = message.fields_by_name.get(name)
    if field is None:
        raise ValueError(f"{where} names {name!r}, which is not a field of {message.full_name}")
    return field


def location(route: Route, response: Message) -> str | None:
    """The `Location` header for a response, or None when the method has none.

    Placeholders are the JSON names of the REST body object's keys (after
    `response_body`), so the template reads like the body the client gets:
    `/api/v1/sheets/{SheetNum}`, or `{location}` for ExportSheetSftp.
    """
    if not route.location_template:
        return None
    parts = _location_parts(
        route.location_template,
        route.method_descriptor.output_type,
        route.response_body,
        route.method_descriptor.full_name,
    )
    return "".join(part if isinstance(part, str) else part(response) for part in parts)


@cache
def _location_parts(
    template: str, response: Descriptor, response_body: str, where: str
) -> tuple[str | Callable[[Message], str], ...]:
    body = response
    if response_body:
        outer = response.fields_by_name[response_body]
        if outer.is_repeated or outer.type != FieldDescriptor.TYPE_MESSAGE:
            raise ValueError(f"{where}: a Location needs a single message as the REST body")
        body = message_type(outer)
    by_json = {field.json_name: field for field in body.fields}
    parts: list[str | Callable[[Message], str]] = []
    position = 0
    for placeholder in _PLACEHOLDER.finditer(template):
        parts.append(template[position : placeholder.start()])
        field = by_json.get(placeholder.group(1))
        if field is None or field.is_repeated or field.type == FieldDescriptor.TYPE_MESSAGE:
            raise ValueError(
                f"{where}: Location {template!r} names {placeholder.group(0)}, "
                f"which is not a scalar key of {body.name}"
            )
        parts.append(_location_value(response_body, field))
        position = placeholder.end()
    parts.append(template[position:])
    if any(isinstance(part, str) and ("{" in part or "}" in part) for part in parts):
        raise ValueError(f"{where}: Location {template!r} has an unbalanced brace")
    return tuple(part for part in parts if part != "")


def _location_value(response_body: str, field: FieldDescriptor) -> Callable[[Message], str]:
    name = field.name
    text = scalar_to_text(field)

    def convert(value: Any) -> str:
        # A header cannot carry control characters (aiohttp refuses CR/LF).
        return _CONTROL.sub(" ", text(value))

    if response_body:
        return lambda response: convert(getattr(getattr(response, response_body), name))
    return lambda response: convert(getattr(response, name))

"""The OpenAPI 3.0 document of the REST gateway, built from its routes.

Schemas describe Open Dental's dialect as `gateway.encoder` writes it (string
booleans, enum names, "yyyy-MM-dd HH:mm:ss" date-times, 64-bit integers as
numbers) and carry the `(rules)` of request fields as required / minimum /
maxLength, so the document, the gateway and the validations cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway.date_formats import DATE_FORMAT, takes_date_formats
from gateway.date_formats import PARAMETERS as DATE_PARAMETERS
from gateway.dotnet_dates import FORMAT_PATTERN, MAX_FORMAT_LENGTH
from gateway.encoder import (
    DATE_MESSAGE,
    DATE_PATTERN,
    DATETIME_MESSAGE,
    DATETIME_PATTERN,
    UNSET_DATE,
    UNSET_DATETIME,
)
from gateway.routes import Route
from opendental.sheets.v1 import options_pb2
from service.contract import DATABASE_WRITE_METHODS, enum_type, message_type, od_enum_values

_FD = FieldDescriptor
_Schema = dict[str, Any]
# (format, minimum, maximum): the ranges the dialect's parsers accept.
_INT_FORMATS: dict[int, tuple[str | None, int, int]] = {
    **dict.fromkeys((_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32), ("int32", -(2**31), 2**31 - 1)),
    **dict.fromkeys((_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64), ("int64", -(2**63), 2**63 - 1)),
    # OpenAPI has no unsigned formats: int64 holds every uint32, uint64 has none.
    **dict.fromkeys((_FD.TYPE_UINT32, _FD.TYPE_FIXED32), ("int64", 0, 2**32 - 1)),
    **dict.fromkeys((_FD.TYPE_UINT64, _FD.TYPE_FIXED64), (None, 0, 2**64 - 1)),
}
# The paging fields of list requests, which the API bounds itself :
# Offset from 0, Limit from 1 to the configured page limit.
_PAGING = frozenset(("offset", "limit"))
_SECURITY_SCHEME = "ODFHIR"
_ERRORS = {
    "400": ("BadRequest", "The request is invalid; the body says why."),
    "401": ("Unauthorized", "The Authorization header is missing or wrong, or the key may not do this."),
    "404": ("NotFound", "The route or a record it names does not exist."),
    "429": (
        "TooManyRequests",
        "A limit was reached (renders in progress, or the key's rate); see Retry-After.",
    ),
    "503": ("Unavailable", "The database is unreachable; the body says so. Try again later."),
    "504": ("Timeout", "The request did not finish within the time limit."),
}
_TOO_LARGE = ("PayloadTooLarge", "The request body is too large.")
_DATABASE_FULL = (
    "InsufficientStorage",
    "The database is out of space (or its server out of memory): nothing was saved. No Retry-After: "
    "retrying helps only once an administrator makes room.",
)
_HTTP_BODY_MEDIA_TYPE = "application/pdf"

# How a schema describes its message: in a request, `(rules).required` says
# which keys must be there; in a response, every key always is.
_REQUEST, _RESPONSE = "request", "response"


def build_openapi(
    routes: Sequence[Route], *, title: str, version: str, page_limit: int = 1000
) -> dict[str, Any]:
    """An OpenAPI 3.0.3 document with one operation per route.

    `page_limit` is the largest `Limit` the API accepts (SHEETS_PAGE_LIMIT).
    """
    schemas = _Schemas(page_limit)
    # Responses first: a message that is also a request body keeps its plain
    # name for what clients read back, and the input variant gets the suffix.
    successes = [_success(route, schemas) for route in routes]
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    names = [_unique(route.method_name, operation_ids) for route in routes]
    for route, success in zip(routes, successes, strict=True):
        links = _links(route, routes, names)
        if links:
            success["links"] = links
    for route, success, name in zip(routes, successes, names, strict=True):
        operation = _operation(route, schemas, name, success)
        paths.setdefault(_openapi_path(route), {})[route.http_method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Open Dental's Sheets API. Bodies use Open Dental's JSON: PascalCase keys, integers as "
                'numbers, booleans as "true"/"false", enums by name, date-times as "yyyy-MM-dd HH:mm:ss" '
                "(DateFormatString and DateTimeFormatString ask for others). Keys and query parameters the "
                "API does not know are ignored. Errors are a JSON string holding a one-sentence explanation."
            ),
        },
        "security": [{_SECURITY_SCHEME: []}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "responses": {
                name: _error_response(description)
                for name, description in (*_ERRORS.values(), _TOO_LARGE, _DATABASE_FULL)
            },
            "securitySchemes": {
                _SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`ODFHIR {DeveloperKey}/{CustomerKey}`, as for Open Dental's API.",
                }
            },
        },
    }


def _links(route: Route, routes: Sequence[Route], names: Sequence[str]) -> dict[str, Any]:
    """OpenAPI links from a write's answer to the reads of what it wrote.

    A write answering one record (CreateSheet's Sheet) links to every GET that
    takes that record's key, its first field (`SheetNum`), by path or query:
    GET /sheets/{SheetNum}, /sheets/{SheetNum}/pdf, /sheetfields?SheetNum=.
    A stateful fuzzer follows them to chain calls.
    """
    if route.http_method == "GET" or route.returns_http_body:
        return {}
    body = route.method_descriptor.output_type
    pointer = ""
    if route.response_body:
        outer = body.fields_by_name[route.response_body]
        if outer.is_repeated or outer.type != _FD.TYPE_MESSAGE:
            return {}
        body = message_type(outer)
    if not body.fields or body.fields[0].type == _FD.TYPE_MESSAGE:
        return {}
    key = body.fields[0].json_name
    pointer = f"$response.body#/{key}"
    links: dict[str, Any] = {}
    for other, name in zip(routes, names, strict=True):
        if other.http_method != "GET":
            continue
        request = other.method_descriptor.input_type
        by_json = {field.json_name: field for field in request.fields}
        field = by_json.get(key)
        if field is None or field.is_repeated:
            continue
        where = "path" if field.name in other.path_fields else "query"
        links[name] = {
            "operationId": name,
            "parameters": {f"{where}.{key}": pointer},
            "description": f"The {key} of the answer, for {other.http_method} {_openapi_path(other)}.",
        }
    return links


def _is_list_request(field: FieldDescriptor) -> bool:
    request = field.containing_type
    return request is not None and request.name.startswith("List")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}{n}"
    taken.add(candidate)
    return candidate


def _openapi_path(route: Route) -> str:
    # Clients see Open Dental's names, so the template does too: {SheetNum}.
    path = route.path
    fields = route.method_descriptor.input_type.fields_by_name
    for name in route.path_fields:
        path = path.replace("{" + name + "}", "{" + fields[name].json_name + "}")
    return path


def _operation(route: Route, schemas: _Schemas, operation_id: str, success: dict[str, Any]) -> dict[str, Any]:
    request = route.method_descriptor.input_type
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [_tag(route)],
        "x-grpc-method": route.full_method,
    }
    parameters = [_parameter(request.fields_by_name[name], "path", schemas) for name in route.path_fields] + [
        _parameter(field, "query", schemas) for field in _query_fields(route)
    ]
    if takes_date_formats(route):
        parameters += [_date_format_parameter(name) for name in DATE_PARAMETERS]
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = _request_body(route, schemas)
    responses: dict[str, Any] = {str(route.success_status): success}
    for status, (name, _) in _ERRORS.items():
        responses[status] = {"$ref": f"#/components/responses/{name}"}
    if route.body:
        responses["413"] = {"$ref": f"#/components/responses/{_TOO_LARGE[0]}"}
    if route.method_name in DATABASE_WRITE_METHODS:
        responses["507"] = {"$ref": f"#/components/responses/{_DATABASE_FULL[0]}"}
    operation["responses"] = responses
    return operation


def _date_format_parameter(name: str) -> dict[str, Any]:
    default, kind = ("yyyy-MM-dd", "dates") if name == DATE_FORMAT else ("yyyy-MM-dd HH:mm:ss", "date-times")
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": (
            f"How the answer writes its {kind}: a .NET date and time format string "
            f"(default {default}), e.g. dd/MM/yyyy HH:mm:ss zzz. zzz is the service's UTC offset; "
            "names and separators are the office culture's (SHEETS_CULTURE)."
        ),
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_FORMAT_LENGTH,
            "pattern": FORMAT_PATTERN,
            "example": default,
        },
    }


def _tag(route: Route) -> str:
    # The resource: the segment after /api/v1, e.g. "sheets".
    segments = [s for s in route.path.split("/") if s and not s.startswith("{")]
    if len(segments) > 2:
        return segments[2]
    return segments[-1] if segments else route.method_name


def _query_fields(route: Route) -> list[FieldDescriptor]:
    if route.body == "*":
        return []
    bound = {*route.path_fields, route.body}
    return [
        field
        for field in route.method_descriptor.input_type.fields
        if field.name not in bound and _text_bindable(field)
    ]


def _text_bindable(field: FieldDescriptor) -> bool:
    return field.type != _FD.TYPE_MESSAGE or message_type(field).full_name in (DATETIME_MESSAGE, DATE_MESSAGE)


def _parameter(field: FieldDescriptor, where: str, schemas: _Schemas) -> dict[str, Any]:
    rules = field.GetOptions().Extensions[options_pb2.rules]
    parameter: dict[str, Any] = {
        "name": field.json_name,
        "in": where,
        "required": where == "path" or rules.required,
        "schema": schemas.field(field, _REQUEST),
    }
    return parameter


def _request_body(route: Route, schemas: _Schemas) -> dict[str, Any]:
    request = route.method_descriptor.input_type
    if route.body == "*":
        schema = schemas.message(request, _REQUEST, exclude=frozenset(route.path_fields))
        required = any(
            field.GetOptions().Extensions[options_pb2.rules].required
            for field in request.fields
            if field.name not in route.path_fields
        )
    else:
        field = request.fields_by_name[route.body]
        schema = schemas.field(field, _REQUEST)
        required = field.GetOptions().Extensions[options_pb2.rules].required
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _success(route: Route, schemas: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(route.success_status).phrase}
    if route.returns_http_body:
        response["content"] = {_HTTP_BODY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}
    else:
        output = route.method_descriptor.output_type
        if route.response_body:
            schema = schemas.field(output.fields_by_name[route.response_body], _RESPONSE)
        else:
            schema = schemas.message(output, _RESPONSE)
        response["content"] = {"application/json": {"schema": schema}}
    if route.location_template:
        response["headers"] = {
            "Location": {
                "description": f"Where the result is: {route.location_template}",
                "schema": {"type": "string"},
            }
        }
    return response


def _error_schema() -> _Schema:
    return {
        "type": "string",
        "description": "A one-sentence explanation in Open Dental's style.",
        "example": "PatNum is required.",
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


class _Schemas:
    """Component schemas, registered as routes reach them; each message gets
    one per way it is used (request / response) and set of excluded fields."""

    def __init__(self, page_limit: int = 1000) -> None:
        self._page_limit = page_limit
        # Seeded so that a message named Error cannot take the name.
        self.components: dict[str, _Schema] = {"Error": _error_schema()}
        self._names: dict[tuple[str, str, frozenset[str]], str] = {}

    def message(self, descriptor: Descriptor, mode: str, exclude: frozenset[str] = frozenset()) -> _Schema:
        key = (descriptor.full_name, mode, exclude)
        name = self._names.get(key)
        if name is None:
            name = self._name_for(descriptor, mode, exclude)
            self._names[key] = name
            # Registered before it is built, so a message may contain itself.
            self.components[name] = {}
            self.components[name] = self._object(descriptor, mode, exclude)
        return {"$ref": f"#/components/schemas/{name}"}

    def _name_for(self, descriptor: Descriptor, mode: str, exclude: frozenset[str]) -> str:
        # Plain message names read best; suffixes only when a message is used
        # more than one way (or two packages share a name).
        base = descriptor.name + ("Body" if exclude else "")
        suffixed = base + ("Input" if mode == _REQUEST else "Output")
        for candidate in (base, suffixed):
            if candidate not in self.components:
                return candidate
        return _unique(suffixed, set(self.components))

    def _object(self, descriptor: Descriptor, mode: str, exclude: frozenset[str]) -> _Schema:
        properties: dict[str, _Schema] = {}
        required: list[str] = []
        for field in descriptor.fields:
            if field.name in exclude:
                continue
            value = self.field(field, mode)
            if mode == _RESPONSE or field.GetOptions().Extensions[options_pb2.rules].required:
                required.append(field.json_name)
            elif "$ref" not in value:
                # The gateway reads an optional key given as null as absent (as .NET does).
                value = {**value, "nullable": True}
            properties[field.json_name] = value
        schema: _Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        # Keys the gateway does not know are ignored, as Open Dental's API ignores them.
        return schema

    def field(self, field: FieldDescriptor, mode: str) -> _Schema:
        schema = self._value(field, mode)
        if field.is_repeated:
            return {"type": "array", "items": schema}
        return schema

    def _value(self, field: FieldDescriptor, mode: str) -> _Schema:
        rules = field.GetOptions().Extensions[options_pb2.rules]
        kind = field.type
        if kind in _INT_FORMATS:
            int_format, minimum, maximum = _INT_FORMATS[kind]
            schema: _Schema = {"type": "integer"}
            if int_format:
                schema["format"] = int_format
            if mode == _RESPONSE:
                # What the service answers needs no range; unsigned says it is not negative.
                if minimum == 0:
                    schema["minimum"] = 0
                return schema
            # A request states every bound the gateway and the API enforce.
            if rules.positive:
                minimum = 1
                # Key 1 is what a first record gets: examples that reach real rows.
                schema["example"] = 1
            if field.name in _PAGING and _is_list_request(field):
                minimum, maximum = (0, maximum) if field.name == "offset" else (1, self._page_limit)
            schema["minimum"] = minimum
            schema["maximum"] = maximum
            return schema
        if kind == _FD.TYPE_STRING:
            schema = {"type": "string"}
            if rules.max_length:
                # JSON Schema counts characters; the column's limit is bytes of UTF-8.
                schema["maxLength"] = rules.max_length
                schema["x-maxBytes"] = rules.max_length
                schema["description"] = f"At most {rules.max_length} bytes of UTF-8."
            return schema
        if kind == _FD.TYPE_BOOL:
            schema = {"type": "string", "enum": ["true", "false"]}
            if mode == _REQUEST:
                schema["description"] = 'Also accepted: JSON true/false, and "true"/"false" in any case.'
            return schema
        if kind == _FD.TYPE_ENUM:
            values = od_enum_values(enum_type(field))
            schema = {"type": "string", "enum": [value.name for value in values]}
            if mode == _REQUEST:
                # What the gateway takes: the name, or Open Dental's integer for it.
                numbers = {"type": "integer", "enum": [value.od_value for value in values]}
                name = enum_type(field).name
                return {
                    "anyOf": [schema, numbers],
                    "description": f"A {name} name (in any case) or Open Dental's integer for it.",
                }
            return schema
        if kind in (_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE):
            return {"type": "number", "format": "float" if kind == _FD.TYPE_FLOAT else "double"}
        if kind == _FD.TYPE_BYTES:
            return {"type": "string", "format": "byte"}
        message = message_type(field)
        if message.full_name == DATETIME_MESSAGE:
            schema = {
                "type": "string",
                "pattern": DATETIME_PATTERN,
                "example": "2021-11-16 02:45:38",
                "description": f"yyyy-MM-dd HH:mm:ss, local time; {UNSET_DATETIME} when unset.",
            }
            if mode == _RESPONSE:
                # DateTimeFormatString may ask for another format.
                del schema["pattern"]
                schema["description"] += " DateTimeFormatString gives another format."
            return schema
        if message.full_name == DATE_MESSAGE:
            schema = {
                "type": "string",
                "pattern": DATE_PATTERN,
                "example": "2021-11-16",
                "description": f"yyyy-MM-dd; {UNSET_DATE} when unset.",
            }
            if mode == _RESPONSE:
                del schema["pattern"]
                schema["description"] += " DateFormatString gives another format."
            return schema
        return self.message(message, mode)

"""A route's request bound from the URL and the body, and its response body:
the dialect's decoder and encoder applied where the route's `google.api.http`
rule says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.message import Message

from gateway.decoder import assign, fill, from_text, ignore, inputs, query_inputs
from gateway.encoder import DateTexts, response_encoder
from gateway.routes import Route
from service.contract import InvalidArgument


def response_to_od(route: Route, response: Message, dates: DateTexts | None = None) -> Any:
    """The REST body of a response: the `response_body` field (a list for a
    repeated field) or, without one, the whole message; dates as `dates` says
    where a request asks for other formats."""
    return response_encoder(route.method_descriptor.output_type, route.response_body, dates)(response)


def body_to_message(route: Route, data: Any, request: Message) -> None:
    """Fill `request` from a parsed JSON body (`parse_json_body`).

    Call after `query_to_message`: a body key bound to the path is accepted
    only when it repeats the path's value.
    """
    if not route.body:
        raise InvalidArgument("This route takes no request body.")
    if data is None:
        return
    table = inputs(request.DESCRIPTOR)
    if route.body == "*":
        if type(data) is not dict:
            raise InvalidArgument("The request body must be a JSON object.")
        fill(request, data, table, "", route.path_fields)
        return
    field = table.by_name[route.body]
    assign(request, field, field.from_json(data, field.json_name), field.json_name)


def query_to_message(
    route: Route,
    query: Mapping[str, str] | Sequence[tuple[str, str]],
    path: Mapping[str, str],
    request: Message,
    skip: frozenset[str] = frozenset(),
) -> None:
    """Fill `request` from the path parameters (keyed by proto field name, as
    aiohttp's match_info is for `Route.aiohttp_path`) and the query string.

    Query parameters are the request fields bound to neither the path nor the
    body; a parameter may appear once unless its field is repeated. Any other
    parameter is ignored (its name noted, see `decoder.collecting_ignored`),
    except the gateway's own (`skip`: folded names), which it reads itself.
    """
    table = inputs(request.DESCRIPTOR)
    for name in route.path_fields:
        text = path.get(name)
        if text is not None:
            field = table.by_name[name]
            assign(request, field, from_text(field, text), field.json_name)
    items = query.items() if isinstance(query, Mapping) else query
    if not items:
        return
    allowed = query_inputs(request.DESCRIPTOR, route.path_fields, route.body)
    seen: set[str] = set()
    for key, text in items:
        found = allowed.find(key)
        if found is None:
            if key.lower() not in skip:
                ignore(key)
            continue
        if found.name in seen and not found.repeated:
            raise InvalidArgument(f"Duplicate query parameter: '{found.json_name}'.", field=found.json_name)
        seen.add(found.name)
        value = from_text(found, text)
        if found.repeated:
            value = [value]
        assign(request, found, value, found.json_name)

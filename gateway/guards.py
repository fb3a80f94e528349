"""The gateway's own bounds: a time limit per request, and malformed HTTP
treated as the caller's mistake it is (400, one INFO line, no traceback)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from google.protobuf.descriptor import FieldDescriptor

from gateway.routes import Route
from service.contract import DeadlineExceeded

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
protocol_log = logging.getLogger("gateway.http")
_FD = FieldDescriptor
_INTEGER_TYPES = frozenset(
    (
        _FD.TYPE_INT32,
        _FD.TYPE_INT64,
        _FD.TYPE_UINT32,
        _FD.TYPE_UINT64,
        _FD.TYPE_SINT32,
        _FD.TYPE_SINT64,
        _FD.TYPE_FIXED32,
        _FD.TYPE_FIXED64,
        _FD.TYPE_SFIXED32,
        _FD.TYPE_SFIXED64,
    )
)


def request_timeout(seconds: float) -> Middleware:
    """Cancel a request's work after `seconds` and answer 504 (Open Dental's API allows 60 s)."""
    shown = f"{seconds:g}"

    @web.middleware
    async def bounded(request: web.Request, handler: _Handler) -> web.StreamResponse:
        try:
            async with asyncio.timeout(seconds):
                return await handler(request)
        except TimeoutError:
            raise DeadlineExceeded(f"The request did not finish within {shown} seconds.") from None

    return bounded


class ProtocolLog(logging.LoggerAdapter[logging.Logger]):
    """The logger aiohttp's connection handler reports to.

    aiohttp answers a request it cannot parse (a bad header byte, a broken
    request line) with 400 itself, but logs it with a full traceback at ERROR:
    a caller's malformed request is not the server's failure.
    """

    def __init__(self, logger: logging.Logger = protocol_log) -> None:
        super().__init__(logger, {})

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            # Only the kind of error: the parser's message can quote the request's
            # bytes, an Authorization value among them.
            self.logger.info("malformed HTTP request answered 400: %s", type(exc_info).__name__)
            return
        self.logger.error(msg, *args, exc_info=exc_info, **kwargs)


def router_path(route: Route) -> str:
    """The route's path for aiohttp's router, integer keys matching digits only.

    Otherwise `/sheets/{SheetNum}` also matches `/sheets/DownloadSftp`, and a
    GET there would reach GetSheet (400) instead of answering 405, as the
    OpenAPI document (where SheetNum is an integer) says it should.
    """
    path = route.aiohttp_path
    fields = route.method_descriptor.input_type.fields_by_name
    for name in route.path_fields:
        if fields[name].type in _INTEGER_TYPES:
            path = path.replace("{" + name + "}", "{" + name + ":-?[0-9]+}")
    return path

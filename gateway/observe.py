"""Request ids, one log line and metrics for every REST request (the outermost middleware)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from telemetry.logs import get_logger
from telemetry.metrics import Metrics
from telemetry.request_context import developer_key, end_request, note_keys, request_id, start_request

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
REQUEST_ID = "X-Request-Id"


def _positive(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 20 and int(value) > 0 else None


def observe_requests(metrics: Metrics) -> Middleware:
    """`X-Request-Id` in and out, `sheets_http_*` metrics and the access line."""
    log = get_logger("sheets.access")

    @web.middleware
    async def observe(request: web.Request, handler: _Handler) -> web.StreamResponse:
        rid = request_id(request.headers.get(REQUEST_ID))
        start_request(rid, developer_key=developer_key(request.headers.get("Authorization")))
        note_keys(
            PatNum=_positive(request.query.get("PatNum")),
            SheetNum=_positive(request.query.get("SheetNum")),
        )
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        in_flight = metrics.series(metrics.in_flight, "rest")
        in_flight.inc()
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID] = rid
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID] = rid
            raise
        finally:
            seconds = time.perf_counter() - started
            in_flight.dec()
            metrics.series(metrics.http_requests, request.method, route, str(status)).inc()
            metrics.series(metrics.http_seconds, request.method, route).observe(seconds)
            line = log.debug if route in _QUIET and status < 400 else log.info
            line(
                "request",
                surface="rest",
                method=request.method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 3),
            )
            end_request()

    return observe

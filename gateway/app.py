"""The REST gateway: aiohttp routes built from the proto's google.api.http
annotations, speaking Open Dental's JSON dialect."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from google.api import httpbody_pb2

from gateway.dialect import body_to_message, parse_json_body, query_to_message, response_to_od
from gateway.invokers import Invoker
from gateway.openapi import build_openapi
from gateway.routes import Route, location, routes_from_service
from service.api import SERVICE
from service.errors import SheetsError
from service.metrics import Metrics

log = logging.getLogger(__name__)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

# Statuses aiohttp raises itself, with Open Dental-style explanations.
_HTTP_EXPLANATIONS = {
    HTTPStatus.NOT_FOUND: "Route not found.",
    HTTPStatus.METHOD_NOT_ALLOWED: "Method not allowed on this route.",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is too large.",
}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(message, status=status, headers=headers, dumps=_dumps)


def _measured(metrics: Metrics) -> Middleware:
    @web.middleware
    async def measure(request: web.Request, handler: _Handler) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.observe(f"{request.method} {route}", str(response.status), time.perf_counter() - started)
        return response

    return measure


@web.middleware
async def _errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Every failure becomes a status and a JSON-string explanation; never a 500 for bad input."""
    try:
        return await handler(request)
    except SheetsError as error:
        return _error(error.http_status, error.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        explanation = _HTTP_EXPLANATIONS.get(HTTPStatus(exc.status), exc.reason)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(exc.status, explanation, headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error.")


def _pdf_name(route: Route, request: web.Request) -> str:
    keys = "-".join(request.match_info.get(f, "") for f in route.path_fields)
    return f"sheet-{keys}.pdf" if keys else "sheet.pdf"


def _handler(route: Route, invoker: Invoker) -> _Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        invoker.authenticate(route, authorization)
        message = route.input_type()
        query_to_message(route, list(request.query.items()), request.match_info, message)
        if route.body:
            body_to_message(route, parse_json_body(await request.read()), message)
        response = await invoker(route, message, authorization)
        if isinstance(response, httpbody_pb2.HttpBody):
            return web.Response(
                body=response.data,
                content_type=response.content_type or "application/octet-stream",
                headers={"Content-Disposition": f'inline; filename="{_pdf_name(route, request)}"'},
            )
        headers = {}
        where = location(route, response)
        if where:
            headers["Location"] = where
        return web.json_response(
            response_to_od(route, response), status=route.success_status, headers=headers, dumps=_dumps
        )

    return handle


def create_app(
    invoker: Invoker, *, max_body_bytes: int = 1 << 20, service_metrics: Metrics | None = None
) -> web.Application:
    """The gateway application over an invoker (in-process or remote).

    `/metrics` shows the gateway's HTTP counters, and the service API's when it
    runs in this process.
    """
    metrics = Metrics("sheets_http", "HTTP requests by route and status.", ("route", "status"))
    app = web.Application(middlewares=[_measured(metrics), _errors], client_max_size=max_body_bytes)
    routes = routes_from_service(SERVICE)
    for route in routes:
        app.router.add_route(route.http_method, route.aiohttp_path, _handler(route, invoker))
    openapi = build_openapi(routes, title="Open Dental Sheets API", version="1.0.0")

    async def openapi_json(_: web.Request) -> web.Response:
        return web.json_response(openapi, dumps=_dumps)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response("ok", dumps=_dumps)

    async def metrics_text(_: web.Request) -> web.Response:
        text = metrics.render() + (service_metrics.render() if service_metrics else "")
        return web.Response(text=text, content_type="text/plain", headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/v1/openapi.json", openapi_json)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_text)
    return app


async def start_gateway(
    app: web.Application, listen: str, *, grace: float = 10.0
) -> tuple[web.AppRunner, int]:
    """Serve app on `host:port` (port 0 picks one); returns the runner and the port.

    On cleanup, requests in flight get `grace` seconds to finish.
    """
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=grace)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]"), int(port))
    await site.start()
    server: Any = site._server
    bound = int(server.sockets[0].getsockname()[1])
    log.info("REST gateway listening on %s (port %d)", listen, bound)
    return runner, bound

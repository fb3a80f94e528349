"""The REST gateway: aiohttp routes built from the proto's google.api.http
annotations, speaking Open Dental's JSON dialect."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from http import HTTPStatus

from aiohttp import web
from google.api import httpbody_pb2

from gateway import guards
from gateway.binding import body_to_message, query_to_message, response_to_od
from gateway.date_formats import FOLDED, date_texts, requested_formats, takes_date_formats
from gateway.decoder import collecting_ignored, parse_json_body
from gateway.dotnet_dates import EN_US
from gateway.invokers import Invoker
from gateway.observe import observe_requests
from gateway.openapi import build_openapi
from gateway.routes import Route, location, routes_from_service
from service.contract import SERVICE, SheetsError
from service.vocab import DateCulture
from telemetry.metrics import CONTENT_TYPE, Metrics
from telemetry.request_context import note_keys, note_message

log = logging.getLogger(__name__)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INVOKER = web.AppKey("invoker", Invoker)
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


# Statuses aiohttp raises itself, with Open Dental-style explanations.
_HTTP_EXPLANATIONS = {
    HTTPStatus.NOT_FOUND: "Route not found.",
    HTTPStatus.METHOD_NOT_ALLOWED: "Method not allowed on this route.",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is too large.",
}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(message, status=status, headers=headers, dumps=_dumps)


@web.middleware
async def _errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Every failure becomes a status and a JSON-string explanation; never a 500 for bad input."""
    try:
        return await handler(request)
    except SheetsError as error:
        retry_after = getattr(error, "retry_after", None)
        return _error(
            error.http_status, error.message, {"Retry-After": str(retry_after)} if retry_after else None
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        explanation = _HTTP_EXPLANATIONS.get(HTTPStatus(exc.status), exc.reason)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(exc.status, explanation, headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error.")


# JSON answers longer than this go gzip-compressed to a client that accepts it
# (a page of 1000 sheets is about 250 KB); PDFs are compressed already.
COMPRESS_ABOVE = 1024


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value takes gzip (by name or `*`, not with q=0)."""
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        name, _, weight = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(weight) > 0
            except ValueError:
                return False
        return True
    return False


@web.middleware
async def _compress_json(request: web.Request, handler: _Handler) -> web.StreamResponse:
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
        and len(response.body) > COMPRESS_ABOVE
    ):
        response.headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("Accept-Encoding", "")):
            response.enable_compression(web.ContentCoding.gzip)
    return response


def _pdf_name(route: Route, request: web.Request) -> str:
    keys = "-".join(request.match_info.get(f, "") for f in route.path_fields)
    return f"sheet-{keys}.pdf" if keys else "sheet.pdf"


def _handler(route: Route, culture: DateCulture) -> _Handler:
    skip = FOLDED if takes_date_formats(route) else frozenset()

    async def handle(request: web.Request) -> web.StreamResponse:
        invoker = request.app[INVOKER]
        authorization = request.headers.get("Authorization")
        invoker.authenticate(route, authorization)
        message = route.input_type()
        query = list(request.query.items())
        # Checked before the call: a format .NET would refuse changes nothing.
        dates = date_texts(requested_formats(route, query), culture) if skip else None
        with collecting_ignored() as ignored:
            query_to_message(route, query, request.match_info, message, skip)
            if route.body:
                body_to_message(route, parse_json_body(await request.read()), message)
        note_message(message)
        if ignored:
            note_keys(ignored=ignored)
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
            response_to_od(route, response, dates), status=route.success_status, headers=headers, dumps=_dumps
        )

    return handle


def create_app(
    open_invoker: Callable[[], AbstractAsyncContextManager[Invoker]],
    *,
    metrics: Metrics,
    max_body_bytes: int = 1 << 20,
    request_timeout: float = 60.0,
    page_limit: int = 1000,
    culture: DateCulture = EN_US,
) -> web.Application:
    """The gateway application over an invoker (in-process or remote), which
    `open_invoker` opens when the application starts and closes when it stops.

    `/metrics` exports `metrics` (the service's own when it runs in this
    process); `/readyz` is 200 only when the invoker finds the service ready (naming
    what an operator should know meanwhile, such as a full database).
    `culture` names the days and months and gives the separators of the
    date formats a request asks for.
    """
    app = web.Application(
        middlewares=[
            observe_requests(metrics),
            _compress_json,
            _errors,
            guards.request_timeout(request_timeout),
        ],
        client_max_size=max_body_bytes,
    )

    async def invoker_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_invoker() as invoker:
            app[INVOKER] = invoker
            yield

    app.cleanup_ctx.append(invoker_ctx)
    routes = routes_from_service(SERVICE)
    for route in routes:
        app.router.add_route(route.http_method, guards.router_path(route), _handler(route, culture))
    openapi = build_openapi(routes, title="Open Dental Sheets API", version="1.0.0", page_limit=page_limit)

    async def openapi_json(_: web.Request) -> web.Response:
        return web.json_response(openapi, dumps=_dumps)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response("ok", dumps=_dumps)

    async def readyz(request: web.Request) -> web.Response:
        problem, note = await request.app[INVOKER].readiness()
        if problem:
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, f"Not ready: {problem}.")
        return web.json_response(f"Ready, but {note}." if note else "ready", dumps=_dumps)

    async def metrics_text(_: web.Request) -> web.Response:
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"}
        )

    app.router.add_get("/api/v1/openapi.json", openapi_json)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_text)
    return app


class Gateway:
    """A serving gateway: its port, and a graceful stop (idempotent)."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner: web.AppRunner | None = runner
        self.port = 0

    async def stop(self) -> None:
        """Stop taking requests; those in flight get the grace period to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


@asynccontextmanager
async def serving(
    app: web.Application, listen: str, *, grace: float = 10.0, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Gateway]:
    """Serve app on `host:port` (port 0 picks one), HTTPS with `ssl_context`,
    until the block ends (or `Gateway.stop`)."""
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=grace, logger=guards.ProtocolLog())
    await runner.setup()
    gateway = Gateway(runner)
    try:
        await web.TCPSite(runner, host.strip("[]"), int(port), ssl_context=ssl_context).start()
        gateway.port = int(runner.addresses[0][1])
        mode = "TLS" if ssl_context else "plaintext"
        log.info("REST gateway listening on %s (port %d, %s)", listen, gateway.port, mode)
        yield gateway
    finally:
        await gateway.stop()

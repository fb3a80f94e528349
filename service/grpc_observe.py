"""Request ids, one log line and metrics for every unary gRPC call."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from telemetry.logs import get_logger
from telemetry.metrics import Metrics
from telemetry.request_context import (
    REQUEST_ID_HEADER,
    developer_key,
    end_request,
    note_message,
    request_id,
    start_request,
)

_QUIET_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str | bytes]:
    return dict(details.invocation_metadata or ())


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Takes `x-request-id` from the metadata (or makes one) and returns it as
    initial metadata; logs one line and counts each call when it ends.

    Health checks log at debug level: a load balancer asks every few seconds.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._log = get_logger("sheets.access")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._observed(handler.unary_unary, handler_call_details),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _observed(
        self, behavior: Callable[[Any, Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
        full_method = details.method
        method = full_method.rsplit("/", 1)[-1]
        level = logging.DEBUG if full_method.startswith(_QUIET_PREFIXES) else logging.INFO
        metrics = self._metrics
        log = self._log

        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            metadata = _metadata(details)
            rid = request_id(metadata.get(REQUEST_ID_HEADER))
            start_request(rid, developer_key=developer_key(metadata.get("authorization")))
            await context.send_initial_metadata(((REQUEST_ID_HEADER, rid),))
            note_message(request)
            in_flight = metrics.in_flight.labels("grpc")
            in_flight.inc()
            started = time.perf_counter()
            code = grpc.StatusCode.UNKNOWN
            try:
                response = await behavior(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except BaseException:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                seconds = time.perf_counter() - started
                in_flight.dec()
                name = code.name if isinstance(code, grpc.StatusCode) else str(code)
                metrics.grpc_requests.labels(method, name).inc()
                metrics.grpc_seconds.labels(method).observe(seconds)
                log.log(
                    level,
                    "request",
                    surface="grpc",
                    method=full_method,
                    status=name,
                    duration_ms=round(seconds * 1000, 3),
                )
                end_request()

        return observed

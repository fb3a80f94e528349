"""Request ids, one log line and metrics for every gRPC call, unary or streaming."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

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
_Context = grpc.aio.ServicerContext[Any, Any]


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str | bytes]:
    return dict(details.invocation_metadata or ())


def _code_name(code: object) -> str:
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class _Call:
    """One call being observed: its id bound and returned, its end logged and counted."""

    def __init__(self, observer: ObservingInterceptor, details: grpc.HandlerCallDetails, *, stream: bool):
        self._observer = observer
        self._details = details
        # A stream lasts as long as its caller wants (a health Watch, hours): it is counted
        # and logged, but its time is no latency and stays out of the duration histogram.
        self._stream = stream
        self._started = 0.0
        self._in_flight = observer.metrics.series(observer.metrics.in_flight, "grpc")

    async def start(self, request: object, context: _Context) -> None:
        metadata = _metadata(self._details)
        rid = request_id(metadata.get(REQUEST_ID_HEADER))
        start_request(rid, developer_key=developer_key(metadata.get("authorization")))
        await context.send_initial_metadata(((REQUEST_ID_HEADER, rid),))
        if isinstance(request, Message):  # a request stream names nothing until it is read
            note_message(request)
        self._in_flight.inc()
        self._started = time.perf_counter()

    def end(self, context: _Context, failure: BaseException | None) -> None:
        if failure is None:
            code: object = context.code() or grpc.StatusCode.OK
        elif isinstance(failure, asyncio.CancelledError):
            code = context.code() or grpc.StatusCode.CANCELLED  # the caller went away
        else:
            code = context.code() or grpc.StatusCode.UNKNOWN
        seconds = time.perf_counter() - self._started
        self._in_flight.dec()
        full_method = self._details.method
        method = full_method.rsplit("/", 1)[-1]
        name = _code_name(code)
        metrics = self._observer.metrics
        metrics.series(metrics.grpc_requests, method, name).inc()
        if not self._stream:
            metrics.series(metrics.grpc_seconds, method).observe(seconds)
        level = logging.DEBUG if full_method.startswith(_QUIET_PREFIXES) else logging.INFO
        self._observer.log.log(
            level,
            "request",
            surface="grpc",
            method=full_method,
            status=name,
            duration_ms=round(seconds * 1000, 3),
        )
        end_request()


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Takes `x-request-id` from the metadata (or makes one) and returns it as
    initial metadata; logs one line and counts each call when it ends, a stream
    when its last message has gone (or its caller cancelled: CANCELLED).

    Health checks and reflection log at debug level: a load balancer asks every
    few seconds. The duration histogram is of unary calls only: a stream's time
    is its caller's choice. Handlers that are not coroutines (the synchronous
    API) pass through unobserved.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.log = get_logger("sheets.access")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        codecs: dict[str, Any] = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        details = handler_call_details
        if handler.unary_unary is not None:
            behavior = self._answered(handler.unary_unary, details, stream=False)
            return handler if behavior is None else grpc.unary_unary_rpc_method_handler(behavior, **codecs)
        if handler.stream_unary is not None:
            behavior = self._answered(handler.stream_unary, details, stream=True)
            return handler if behavior is None else grpc.stream_unary_rpc_method_handler(behavior, **codecs)
        if handler.unary_stream is not None:
            behavior = self._streamed(handler.unary_stream, details)
            return handler if behavior is None else grpc.unary_stream_rpc_method_handler(behavior, **codecs)
        if handler.stream_stream is not None:
            behavior = self._streamed(handler.stream_stream, details)
            return handler if behavior is None else grpc.stream_stream_rpc_method_handler(behavior, **codecs)
        return handler

    def _answered(
        self, behavior: Callable[..., Any], details: grpc.HandlerCallDetails, *, stream: bool
    ) -> Callable[[Any, _Context], Awaitable[Any]] | None:
        """A call with one response; `stream`: its request is a stream."""
        if not inspect.iscoroutinefunction(behavior):
            return None

        async def observed(request: Any, context: _Context) -> Any:
            call = _Call(self, details, stream=stream)
            await call.start(request, context)
            try:
                response = await behavior(request, context)
            except BaseException as exc:
                call.end(context, exc)
                raise
            call.end(context, None)
            return response

        return observed

    def _streamed(
        self, behavior: Callable[..., Any], details: grpc.HandlerCallDetails
    ) -> Callable[[Any, _Context], Any] | None:
        """A call with a response stream: written with `context.write` (a coroutine,
        as health's Watch) or yielded (an async generator, as reflection)."""
        if inspect.isasyncgenfunction(behavior):

            async def yielded(request: Any, context: _Context) -> AsyncIterator[Any]:
                call = _Call(self, details, stream=True)
                await call.start(request, context)
                try:
                    async for response in behavior(request, context):
                        yield response
                except BaseException as exc:
                    call.end(context, exc)
                    raise
                call.end(context, None)

            return yielded
        if inspect.iscoroutinefunction(behavior):

            async def written(request: Any, context: _Context) -> None:
                call = _Call(self, details, stream=True)
                await call.start(request, context)
                try:
                    await behavior(request, context)
                except BaseException as exc:
                    call.end(context, exc)
                    raise
                call.end(context, None)

            return written
        return None

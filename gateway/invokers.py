"""How the gateway reaches the service: in process, or over a gRPC channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message

from gateway.routes import Route
from service.api import SheetsApi
from service.errors import HTTP_STATUS_BY_GRPC_CODE, SheetsError


class Invoker(Protocol):
    """Calls one RPC with its request and the caller's Authorization value."""

    async def __call__(self, route: Route, request: Message, authorization: str | None) -> Message: ...


class InProcessInvoker:
    """The fast path: the service API in this process, no network hop, through
    the same auth, validation and error table as gRPC."""

    def __init__(self, api: SheetsApi) -> None:
        self._api = api

    async def __call__(self, route: Route, request: Message, authorization: str | None) -> Message:
        return await self._api.call(route.method_name, request, authorization)


class RemoteError(SheetsError):
    """A status that came back from a remote gRPC server."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.grpc_code = code.name
        self.http_status = HTTP_STATUS_BY_GRPC_CODE.get(code.name, 500)


class RemoteInvoker:
    """Calls a gRPC target over one shared channel."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 60.0) -> None:
        self._channel = channel
        self._timeout = timeout
        self._stubs: dict[str, Callable[..., Awaitable[Any]]] = {}

    def _stub(self, route: Route) -> Callable[..., Awaitable[Any]]:
        stub = self._stubs.get(route.full_method)
        if stub is None:
            stub = self._channel.unary_unary(
                route.full_method,
                request_serializer=route.input_type.SerializeToString,
                response_deserializer=route.output_type.FromString,
            )
            self._stubs[route.full_method] = stub
        return stub

    async def __call__(self, route: Route, request: Message, authorization: str | None) -> Message:
        metadata = (("authorization", authorization),) if authorization else None
        try:
            response: Message = await self._stub(route)(request, metadata=metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise RemoteError(exc.code(), exc.details() or exc.code().name) from None
        return response

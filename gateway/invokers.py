"""How the gateway reaches the service: in process, or over a gRPC channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.routes import Route
from service.contract import (
    WRITE_METHODS,
    ResourceExhausted,
    SheetsError,
    from_grpc_code,
    refuse_unreadable,
)
from telemetry.request_context import REQUEST_ID_HEADER, current_request_id


class ServiceApi(Protocol):
    """The service API as the gateway calls it in process (`service.api.SheetsApi`)."""

    def authenticate(self, method_name: str, authorization: str | None) -> None: ...

    async def call(self, method_name: str, request: Message, authorization: str | None) -> Message: ...


class KeyCheck(Protocol):
    """An Authorization check (`service.contract.auth.Authenticator`)."""

    def check(self, authorization: str | None, *, write: bool) -> None: ...


class Invoker(Protocol):
    """Calls one RPC with its request and the caller's Authorization value."""

    def authenticate(self, route: Route, authorization: str | None) -> None:
        """Refuse a caller before its request is even parsed (raises `service.contract.errors`)."""

    async def __call__(self, route: Route, request: Message, authorization: str | None) -> Message: ...

    async def readiness(self) -> tuple[str, str]:
        """What keeps the service behind from being ready (one sentence), or "", and what an
        operator should know while it is ready (the database is full), or "" (`GET /readyz`)."""
        ...


class InProcessInvoker:
    """The fast path: the service API in this process, no network hop, through
    the same auth, validation and error table as gRPC."""

    def __init__(
        self, api: ServiceApi, readiness: Callable[[], Awaitable[tuple[str, str]]] | None = None
    ) -> None:
        self._api = api
        self._readiness = readiness

    async def readiness(self) -> tuple[str, str]:
        return await self._readiness() if self._readiness is not None else ("", "")

    def authenticate(self, route: Route, authorization: str | None) -> None:
        self._api.authenticate(route.method_name, authorization)

    async def __call__(self, route: Route, request: Message, authorization: str | None) -> Message:
        return await self._api.call(route.method_name, request, authorization)


# What a caller is told when the status came from the transport (the target is
# down, a deadline passed), not from our service: gRPC's own text names
# internal addresses and is not an explanation in Open Dental's style.
_TRANSPORT_MESSAGES = {
    grpc.StatusCode.UNAVAILABLE: "The service is unavailable. Try again later.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "The service did not answer in time.",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "The response is too large.",
}


def _violated_field(details: bytes) -> str | None:
    """The field a google.rpc.BadRequest in the status details names, if any."""
    try:
        status = status_pb2.Status.FromString(details)
    except DecodeError:
        return None
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request) and bad_request.field_violations:
            return bad_request.field_violations[0].field or None
    return None


def _reason(details: bytes) -> str:
    """The reason a google.rpc.ErrorInfo in the status details names, if any."""
    try:
        status = status_pb2.Status.FromString(details)
    except DecodeError:
        return ""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return str(info.reason)
    return ""


def _retry_after(error: grpc.aio.AioRpcError) -> int | None:
    value = dict(error.trailing_metadata() or ()).get("retry-after")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _remote_error(error: grpc.aio.AioRpcError) -> SheetsError:
    """The error the target raised, as its own class (a NOT_FOUND is a NotFound)."""
    code = error.code()
    details = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    if details is not None:
        raw = details if isinstance(details, bytes) else details.encode()
        rebuilt = from_grpc_code(
            code.name, error.details() or code.name, field=_violated_field(raw), reason=_reason(raw)
        )
        if isinstance(rebuilt, ResourceExhausted):
            rebuilt.retry_after = _retry_after(error)
        return rebuilt
    # The status came from the transport, not from our service.
    return from_grpc_code(code.name, _TRANSPORT_MESSAGES.get(code, "Internal error."))


class RemoteInvoker:
    """Calls a gRPC target over one shared channel (the gateway authenticates first)."""

    def __init__(
        self, channel: grpc.aio.Channel, *, authenticator: KeyCheck | None = None, timeout: float = 60.0
    ) -> None:
        self._channel = channel
        self._timeout = timeout
        self._stubs: dict[str, Callable[..., Awaitable[Any]]] = {}
        # With keys of its own, the gateway refuses callers before parsing; the
        # target checks every call again either way.
        self._auth = authenticator

    def authenticate(self, route: Route, authorization: str | None) -> None:
        refuse_unreadable(authorization)
        if self._auth is not None:
            self._auth.check(authorization, write=route.method_name in WRITE_METHODS)

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
        metadata = [("authorization", authorization)] if authorization else []
        rid = current_request_id()
        if rid:
            metadata.append((REQUEST_ID_HEADER, rid))
        try:
            response: Message = await self._stub(route)(
                request, metadata=metadata or None, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise _remote_error(exc) from None
        return response

    async def readiness(self) -> tuple[str, str]:
        """The target's gRPC health ("" when SERVING; health has no room for a note)."""
        try:
            reply = await health_pb2_grpc.HealthStub(self._channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.aio.AioRpcError as exc:
            return f"the gRPC target does not answer ({exc.code().name})", ""
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            return "the gRPC target is not serving", ""
        return "", ""


def in_process(
    api: ServiceApi, readiness: Callable[[], Awaitable[tuple[str, str]]] | None = None
) -> Callable[[], AbstractAsyncContextManager[Invoker]]:
    """What `create_app` opens to call `api` in this process (nothing to open or close);
    `readiness` answers `GET /readyz`."""
    return lambda: nullcontext(InProcessInvoker(api, readiness))


@asynccontextmanager
async def remote(
    target: str,
    *,
    authenticator: KeyCheck | None = None,
    call_timeout: float = 60.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> AsyncIterator[RemoteInvoker]:
    """A channel to the gRPC `target` for as long as the gateway runs (TLS with `credentials`)."""
    # PDFs of many pages exceed gRPC's default 4 MB limit on what a client
    # receives, and so may a page of 1000 sheets or fields whose 64 KiB texts are full.
    options = [("grpc.max_receive_message_length", 96 << 20)]
    channel = (
        grpc.aio.secure_channel(target, credentials, options=options)
        if credentials is not None
        else grpc.aio.insecure_channel(target, options=options)
    )
    async with channel:
        yield RemoteInvoker(channel, authenticator=authenticator, timeout=call_timeout)

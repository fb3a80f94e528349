"""The gRPC server: health and reflection (v1alpha and v1) on a real port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from service.config.settings import Settings
from service.render.pool import PdfRenderer
from service.rpc.server import GrpcServer
from sheets.stack import running_service


@pytest.fixture
async def server(sqlite_url: str, renderer: PdfRenderer) -> AsyncIterator[GrpcServer]:
    settings = Settings(database_url=sqlite_url, grpc_listen="127.0.0.1:0", gateway=False)
    async with running_service(settings, renderer=renderer) as running:
        yield running.grpc


async def _list_services(channel: grpc.aio.Channel, method: str) -> list[str]:
    call = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = call(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    return [s.name async for r in responses for s in r.list_services_response.service]


async def test_health_reports_serving_for_the_server_and_sheet_service(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "opendental.sheets.v1.SheetService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("version", ["v1alpha", "v1"])
async def test_reflection_lists_sheet_service(server: GrpcServer, version: str) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        names = await _list_services(
            channel, f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        )
    assert "opendental.sheets.v1.SheetService" in names
    assert "grpc.health.v1.Health" in names


async def test_graceful_stop_reports_not_serving(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        await server.health.enter_graceful_shutdown()
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING

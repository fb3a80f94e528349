"""The gRPC server: SheetService, health and reflection on one port."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from opendental.sheets.v1 import sheet_service_pb2, sheet_service_pb2_grpc

log = logging.getLogger(__name__)

SHEET_SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"].full_name
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


def _add_reflection(server: grpc.aio.Server, services: Sequence[str]) -> None:
    """Reflection v1alpha (grpcurl 1.8) and v1 (newer tools) from one servicer.

    grpcio-reflection serves only v1alpha; v1's messages are the same on the
    wire, so the same servicer answers under v1's name.
    """
    names = [*services, reflection.SERVICE_NAME, REFLECTION_V1]
    servicer = reflection.aio.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": handler}),)
    )


@dataclass
class GrpcServer:
    """A started server, its port and its health servicer."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer

    async def stop(self, grace: float) -> None:
        """Graceful stop: NOT_SERVING first, in-flight calls finish within `grace`."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_grpc_server(
    listen: str,
    servicer: sheet_service_pb2_grpc.SheetServiceServicer,
    *,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> GrpcServer:
    """Start serving on `listen` (`host:port`, port 0 picks a free one)."""
    server = grpc.aio.server(interceptors=interceptors)
    sheet_service_pb2_grpc.add_SheetServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _add_reflection(server, [SHEET_SERVICE, health.SERVICE_NAME])
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    await server.start()
    for name in ("", SHEET_SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("gRPC listening on %s (port %d)", listen, port)
    return GrpcServer(server, port, health_servicer)

"""The gRPC server: SheetService, health and reflection on one port."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from opendental.sheets.v1 import (
    sheet_event_service_pb2,
    sheet_event_service_pb2_grpc,
    sheet_service_pb2,
    sheet_service_pb2_grpc,
)

log = logging.getLogger("service.server")

SHEET_SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"].full_name
SHEET_EVENT_SERVICE = sheet_event_service_pb2.DESCRIPTOR.services_by_name["SheetEventService"].full_name
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
_V1ALPHA = "grpc.reflection.v1alpha"
_V1 = "grpc.reflection.v1"


def _register_reflection_v1() -> None:
    """Put grpc/reflection/v1/reflection.proto in the default pool, so that
    reflection can describe the v1 service it lists.

    grpcio-reflection ships only v1alpha's file; v1's is the same file under
    v1's package (the messages are the same on the wire), so it is derived from it.
    """
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(REFLECTION_V1)
        return
    except KeyError:
        pass
    v1 = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(v1)
    v1.name = "grpc/reflection/v1/reflection.proto"
    v1.package = _V1
    v1.options.Clear()
    for message in v1.message_type:
        for field in message.field:
            if field.type_name:
                field.type_name = field.type_name.replace(f".{_V1ALPHA}.", f".{_V1}.")
    for service in v1.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
            method.output_type = method.output_type.replace(f".{_V1ALPHA}.", f".{_V1}.")
    pool.Add(v1)


def _add_reflection(server: grpc.aio.Server, services: Sequence[str]) -> None:
    """Reflection v1alpha (grpcurl 1.8) and v1 (newer tools) from one servicer.

    grpcio-reflection serves only v1alpha; v1's messages are the same on the
    wire, so the same servicer answers under v1's name, and v1's file is in
    the pool for every listed service to be described.
    """
    _register_reflection_v1()
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
    credentials: grpc.ServerCredentials | None = None,
    events: sheet_event_service_pb2_grpc.SheetEventServiceServicer | None = None,
) -> GrpcServer:
    """Start serving on `listen` (`host:port`, port 0 picks a free one), with
    TLS when given `credentials`, and the sheet event stream when given `events`."""
    server = grpc.aio.server(interceptors=interceptors)
    sheet_service_pb2_grpc.add_SheetServiceServicer_to_server(servicer, server)
    services = [SHEET_SERVICE]
    if events is not None:
        sheet_event_service_pb2_grpc.add_SheetEventServiceServicer_to_server(events, server)
        services.append(SHEET_EVENT_SERVICE)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    _add_reflection(server, [*services, health.SERVICE_NAME])
    if credentials is None:
        port = server.add_insecure_port(listen)
    else:
        port = server.add_secure_port(listen, credentials)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    await server.start()
    for name in ("", SHEET_SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("gRPC listening on %s (port %d, %s)", listen, port, "TLS" if credentials else "plaintext")
    return GrpcServer(server, port, health_servicer)

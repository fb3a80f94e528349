"""The gRPC edge: the servicer, the server (health, reflection), request observation and readiness."""

from service.rpc.health import ReadinessProbe
from service.rpc.observe import ObservingInterceptor
from service.rpc.server import SHEET_SERVICE, GrpcServer, start_grpc_server
from service.rpc.servicer import SheetServicer, status_details
from service.rpc.watch import SheetEventServicer

__all__ = [
    "SHEET_SERVICE",
    "GrpcServer",
    "ObservingInterceptor",
    "ReadinessProbe",
    "SheetEventServicer",
    "SheetServicer",
    "start_grpc_server",
    "status_details",
]

"""One error table for both surfaces.

The domain raises these; the gRPC edge turns them into a status code and
message, the REST edge into an HTTP status and a JSON-string body. Messages are
one sentence in Open Dental's style ("PatNum is required.") and never carry a
secret. Codes are gRPC status names, so the domain needs no grpc import.
"""

from __future__ import annotations

from http import HTTPStatus


class SheetsError(Exception):
    """Base of every error the service reports to a caller."""

    grpc_code: str = "INTERNAL"
    http_status: int = HTTPStatus.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The request field at fault (Open Dental's name), for google.rpc.BadRequest.
        self.field = field


class InvalidArgument(SheetsError):
    grpc_code = "INVALID_ARGUMENT"
    http_status = HTTPStatus.BAD_REQUEST


class FailedPrecondition(SheetsError):
    grpc_code = "FAILED_PRECONDITION"
    http_status = HTTPStatus.BAD_REQUEST


class OutOfRange(SheetsError):
    grpc_code = "OUT_OF_RANGE"
    http_status = HTTPStatus.BAD_REQUEST


class Unauthenticated(SheetsError):
    grpc_code = "UNAUTHENTICATED"
    http_status = HTTPStatus.UNAUTHORIZED


class PermissionDenied(SheetsError):
    # Open Dental answers 401 to a key that lacks the permission.
    grpc_code = "PERMISSION_DENIED"
    http_status = HTTPStatus.UNAUTHORIZED


class NotFound(SheetsError):
    grpc_code = "NOT_FOUND"
    http_status = HTTPStatus.NOT_FOUND


class AlreadyExists(SheetsError):
    grpc_code = "ALREADY_EXISTS"
    http_status = HTTPStatus.CONFLICT


class Aborted(SheetsError):
    grpc_code = "ABORTED"
    http_status = HTTPStatus.CONFLICT


class ResourceExhausted(SheetsError):
    grpc_code = "RESOURCE_EXHAUSTED"
    http_status = HTTPStatus.TOO_MANY_REQUESTS


class DeadlineExceeded(SheetsError):
    grpc_code = "DEADLINE_EXCEEDED"
    http_status = HTTPStatus.GATEWAY_TIMEOUT


class Unavailable(SheetsError):
    grpc_code = "UNAVAILABLE"
    http_status = HTTPStatus.SERVICE_UNAVAILABLE


class Unimplemented(SheetsError):
    grpc_code = "UNIMPLEMENTED"
    http_status = HTTPStatus.NOT_IMPLEMENTED


class Internal(SheetsError):
    pass


# gRPC status name -> HTTP status, for statuses that arrive from a remote
# server (the gateway in front of a gRPC target) rather than as our exceptions.
HTTP_STATUS_BY_GRPC_CODE: dict[str, int] = {
    cls.grpc_code: cls.http_status
    for cls in (
        InvalidArgument,
        FailedPrecondition,
        OutOfRange,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        AlreadyExists,
        Aborted,
        ResourceExhausted,
        DeadlineExceeded,
        Unavailable,
        Unimplemented,
        Internal,
    )
} | {
    "OK": HTTPStatus.OK,
    "CANCELLED": 499,
    "UNKNOWN": HTTPStatus.INTERNAL_SERVER_ERROR,
    "DATA_LOSS": HTTPStatus.INTERNAL_SERVER_ERROR,
}

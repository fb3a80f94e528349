"""One error table for both surfaces.

The domain raises these; the gRPC edge turns them into a status code and
message, the REST edge into an HTTP status and a JSON-string body. Messages are
one sentence in Open Dental's style ("PatNum is required.") and never carry a
secret. Codes are gRPC status names, so the domain needs no grpc import.
A class that shares its parent's status but not its HTTP status (DatabaseFull:
RESOURCE_EXHAUSTED, 507) names a `reason`, sent as google.rpc.ErrorInfo.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar

_REGISTRY: dict[str, type[SheetsError]] = {}
# Classes that share a status with their parent but answer otherwise on REST, by their reason.
_BY_REASON: dict[str, type[SheetsError]] = {}


class SheetsError(Exception):
    """Base of every error the service reports to a caller.

    Each subclass that names a `grpc_code` is registered under it: the class is
    the status, so an error rebuilt from a code (`from_grpc_code`) is the same
    class the service raised, and no instance ever re-labels its status.
    """

    grpc_code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = HTTPStatus.INTERNAL_SERVER_ERROR
    # A subclass that keeps its parent's status but not its HTTP status names itself:
    # the reason travels in gRPC's google.rpc.ErrorInfo, so the remote edge rebuilds it.
    reason: ClassVar[str] = ""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The request field at fault (Open Dental's name), for google.rpc.BadRequest.
        self.field = field

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reason = cls.__dict__.get("reason")
        if reason:
            if reason in _BY_REASON:
                raise TypeError(f"{reason} is already {_BY_REASON[reason].__name__}'s")
            _BY_REASON[reason] = cls
        code = cls.__dict__.get("grpc_code")
        if code is None:
            return
        if code in _REGISTRY:
            raise TypeError(f"{code} is already {_REGISTRY[code].__name__}'s")
        _REGISTRY[code] = cls


def from_grpc_code(code: str, message: str, *, field: str | None = None, reason: str = "") -> SheetsError:
    """The error of gRPC status `code` (its name, e.g. "NOT_FOUND"), or of its `reason` where a
    class of that status names it; Unknown for a code no class has."""
    kind = _BY_REASON.get(reason)
    if kind is None or kind.grpc_code != code:
        kind = _REGISTRY.get(code, Unknown)
    return kind(message, field=field)


class Cancelled(SheetsError):
    grpc_code = "CANCELLED"
    http_status = 499  # the client went away (nginx's code; HTTP has none)


class Unknown(SheetsError):
    grpc_code = "UNKNOWN"
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR


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
    """A limit was reached; `retry_after` is whole seconds to wait (REST's Retry-After,
    gRPC's `retry-after` trailer), when the limit knows."""

    grpc_code = "RESOURCE_EXHAUSTED"
    http_status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = None if retry_after is None else max(1, retry_after)


class DatabaseFull(ResourceExhausted):
    """The database has no room for a write: its disk, tablespace or quota is full, or its
    server is out of memory. Not an outage (reads are served) and not the caller's rate:
    REST's 507 Insufficient Storage, and no Retry-After (waiting frees no space)."""

    http_status = HTTPStatus.INSUFFICIENT_STORAGE
    reason = "DATABASE_FULL"


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
    grpc_code = "INTERNAL"
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR


class DataLoss(SheetsError):
    grpc_code = "DATA_LOSS"
    http_status = HTTPStatus.INTERNAL_SERVER_ERROR


# gRPC status name -> HTTP status, as every class above declares it.
HTTP_STATUS_BY_GRPC_CODE: dict[str, int] = {"OK": HTTPStatus.OK} | {
    code: cls.http_status for code, cls in _REGISTRY.items()
}

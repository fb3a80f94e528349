"""The contract: the SheetService descriptor, the error tree (one class per gRPC status), the
rules each request is validated by, and the `ODFHIR` key check. Generated code and the stdlib only:
the remote gateway loads it without the ORM, the renderer or the SFTP client."""

from service.contract import errors
from service.contract.auth import (
    ApiKey,
    Authenticator,
    Permission,
    customer_key,
    parse_api_keys,
    refuse_unreadable,
)
from service.contract.descriptors import (
    DATABASE_WRITE_METHODS,
    FIELD_TYPE_TO_PROTO,
    SERVICE,
    SHEET_TYPE_TO_OD,
    SHEET_TYPE_TO_PROTO,
    WRITE_METHODS,
    enum_type,
    is_header_text,
    message_type,
    od_enum_values,
)
from service.contract.errors import (
    DatabaseFull,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    SheetsError,
    Unauthenticated,
    Unavailable,
    from_grpc_code,
)
from service.contract.validation import validate

__all__ = [
    "DATABASE_WRITE_METHODS",
    "FIELD_TYPE_TO_PROTO",
    "SERVICE",
    "SHEET_TYPE_TO_OD",
    "SHEET_TYPE_TO_PROTO",
    "WRITE_METHODS",
    "ApiKey",
    "Authenticator",
    "DatabaseFull",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "Permission",
    "ResourceExhausted",
    "SheetsError",
    "Unauthenticated",
    "Unavailable",
    "customer_key",
    "enum_type",
    "errors",
    "from_grpc_code",
    "is_header_text",
    "message_type",
    "od_enum_values",
    "parse_api_keys",
    "refuse_unreadable",
    "validate",
]

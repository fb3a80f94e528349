"""One error tree: each class is its gRPC status, rebuilt as the same class at the remote edge."""

from __future__ import annotations

import grpc
import pytest

from gateway.invokers import remote
from gateway.openapi import build_openapi
from gateway.routes import routes_from_service
from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.contract import errors
from service.contract.descriptors import DATABASE_WRITE_METHODS, SERVICE
from tests.support.stack import ALL_KEY, Stack

# The table of statuses every surface answers.
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 401,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "DEADLINE_EXCEEDED": 504,
    "UNAVAILABLE": 503,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "CANCELLED": 499,
}


@pytest.mark.parametrize("code", [c.name for c in grpc.StatusCode if c is not grpc.StatusCode.OK])
def test_every_grpc_status_is_one_class_with_its_http_status(code: str) -> None:
    error = errors.from_grpc_code(code, "Explained.", field="PatNum")

    assert type(error).grpc_code == code
    assert type(error).http_status == HTTP_STATUS[code]
    assert (error.message, error.field) == ("Explained.", "PatNum")
    assert errors.HTTP_STATUS_BY_GRPC_CODE[code] == HTTP_STATUS[code]


def test_a_second_class_for_a_registered_code_is_refused() -> None:
    with pytest.raises(TypeError, match="NOT_FOUND"):

        class AnotherNotFound(errors.SheetsError):
            grpc_code = "NOT_FOUND"


def test_subclasses_without_a_code_of_their_own_keep_their_parents() -> None:
    class SheetNotFound(errors.NotFound):
        pass

    assert errors.from_grpc_code("NOT_FOUND", "x").__class__ is errors.NotFound
    assert SheetNotFound("x").grpc_code == "NOT_FOUND"


async def test_a_remote_targets_statuses_are_raised_as_the_services_own_classes(stack: Stack) -> None:
    routes = {route.method_name: route for route in routes_from_service(SERVICE)}
    async with remote(stack.grpc_target) as invoker:
        with pytest.raises(errors.NotFound) as missing:
            await invoker(routes["GetSheet"], pb.GetSheetRequest(sheet_num=999_999), ALL_KEY)
        with pytest.raises(errors.InvalidArgument) as invalid:
            await invoker(routes["ListSheets"], pb.ListSheetsRequest(), ALL_KEY)
        with pytest.raises(errors.Unauthenticated):
            await invoker(routes["ListSheets"], pb.ListSheetsRequest(pat_num=1), None)
    assert missing.value.message == "Sheet not found."
    assert (invalid.value.message, invalid.value.field) == ("PatNum is required.", "PatNum")


def test_a_full_database_is_resource_exhausted_with_its_own_http_status_rebuilt_by_its_reason() -> None:
    full = errors.from_grpc_code("RESOURCE_EXHAUSTED", "The database is full.", reason="DATABASE_FULL")
    assert type(full) is errors.DatabaseFull
    assert (full.grpc_code, full.http_status, full.retry_after) == ("RESOURCE_EXHAUSTED", 507, None)
    # Without its reason (or with another status) the code's own class answers, as before.
    assert type(errors.from_grpc_code("RESOURCE_EXHAUSTED", "Too many.")) is errors.ResourceExhausted
    assert type(errors.from_grpc_code("INTERNAL", "x", reason="DATABASE_FULL")) is errors.Internal


def test_the_openapi_document_lists_507_on_the_routes_that_write_the_database() -> None:
    document = build_openapi(routes_from_service(SERVICE), title="t", version="1")
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) == len(SERVICE.methods)
    for operation in operations:
        writes = operation["x-grpc-method"].rpartition("/")[2] in DATABASE_WRITE_METHODS
        assert ("507" in operation["responses"]) is writes, operation["x-grpc-method"]
    assert "InsufficientStorage" in document["components"]["responses"]
    assert {
        "CreateSheet",
        "UpdateSheetField",
        "CreateSubscription",
        "UpdateSubscription",
        "DeleteSubscription",
    } == DATABASE_WRITE_METHODS

"""SheetService over gRPC: each method hands its request to the service API
and turns `service.contract.errors` into a status (message = the explanation, with
google.rpc.BadRequest details for invalid arguments, google.rpc.ErrorInfo for
an error class that names a reason)."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import grpc
from google.api import httpbody_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1 import sheet_service_pb2_grpc
from service.api import SheetsApi
from service.contract import InvalidArgument, SheetsError

log = logging.getLogger("service.servicer")
_M = TypeVar("_M", bound=Message)
# google.rpc.ErrorInfo's domain for the service's own reasons.
ERROR_DOMAIN = "sheets.opendental"


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode()
    return None


def status_details(error: SheetsError) -> bytes:
    """google.rpc.Status with BadRequest details, as trailing metadata wants it."""
    status = status_pb2.Status(code=getattr(code_pb2, error.grpc_code), message=error.message)
    if isinstance(error, InvalidArgument):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field or "", description=error.message
        )
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    if error.reason:
        status.details.add().Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))
    return bytes(status.SerializeToString())


class SheetServicer(sheet_service_pb2_grpc.SheetServiceServicer):
    """The gRPC edge of the service API."""

    def __init__(self, api: SheetsApi) -> None:
        self._api = api

    async def _call(
        self, name: str, request: Message, context: grpc.aio.ServicerContext[Any, Any], kind: type[_M]
    ) -> _M:
        try:
            response = await self._api.call(name, request, _authorization(context))
        except SheetsError as error:
            details = status_details(error)
            trailing: tuple[tuple[str, str | bytes], ...] = (("grpc-status-details-bin", details),)
            retry_after = getattr(error, "retry_after", None)
            if retry_after:
                trailing += (("retry-after", str(retry_after)),)
            await context.abort(grpc.StatusCode[error.grpc_code], error.message, trailing_metadata=trailing)
        assert isinstance(response, kind)
        return response

    async def ListSheets(self, request: pb.ListSheetsRequest, context: Any) -> pb.ListSheetsResponse:
        return await self._call("ListSheets", request, context, pb.ListSheetsResponse)

    async def GetSheet(self, request: pb.GetSheetRequest, context: Any) -> pb.GetSheetResponse:
        return await self._call("GetSheet", request, context, pb.GetSheetResponse)

    async def CreateSheet(self, request: pb.CreateSheetRequest, context: Any) -> pb.CreateSheetResponse:
        return await self._call("CreateSheet", request, context, pb.CreateSheetResponse)

    async def ExportSheetSftp(
        self, request: pb.ExportSheetSftpRequest, context: Any
    ) -> pb.ExportSheetSftpResponse:
        return await self._call("ExportSheetSftp", request, context, pb.ExportSheetSftpResponse)

    async def RenderSheetPdf(self, request: pb.RenderSheetPdfRequest, context: Any) -> httpbody_pb2.HttpBody:
        return await self._call("RenderSheetPdf", request, context, httpbody_pb2.HttpBody)

    async def ListSheetFields(
        self, request: pb.ListSheetFieldsRequest, context: Any
    ) -> pb.ListSheetFieldsResponse:
        return await self._call("ListSheetFields", request, context, pb.ListSheetFieldsResponse)

    async def GetSheetField(self, request: pb.GetSheetFieldRequest, context: Any) -> pb.GetSheetFieldResponse:
        return await self._call("GetSheetField", request, context, pb.GetSheetFieldResponse)

    async def UpdateSheetField(
        self, request: pb.UpdateSheetFieldRequest, context: Any
    ) -> pb.UpdateSheetFieldResponse:
        return await self._call("UpdateSheetField", request, context, pb.UpdateSheetFieldResponse)

    async def ListSheetDefs(self, request: pb.ListSheetDefsRequest, context: Any) -> pb.ListSheetDefsResponse:
        return await self._call("ListSheetDefs", request, context, pb.ListSheetDefsResponse)

    async def GetSheetDef(self, request: pb.GetSheetDefRequest, context: Any) -> pb.GetSheetDefResponse:
        return await self._call("GetSheetDef", request, context, pb.GetSheetDefResponse)

    async def ListSheetFieldDefs(
        self, request: pb.ListSheetFieldDefsRequest, context: Any
    ) -> pb.ListSheetFieldDefsResponse:
        return await self._call("ListSheetFieldDefs", request, context, pb.ListSheetFieldDefsResponse)

    async def GetSheetFieldDef(
        self, request: pb.GetSheetFieldDefRequest, context: Any
    ) -> pb.GetSheetFieldDefResponse:
        return await self._call("GetSheetFieldDef", request, context, pb.GetSheetFieldDefResponse)

    async def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, context: Any
    ) -> pb.CreateSubscriptionResponse:
        return await self._call("CreateSubscription", request, context, pb.CreateSubscriptionResponse)

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Any
    ) -> pb.ListSubscriptionsResponse:
        return await self._call("ListSubscriptions", request, context, pb.ListSubscriptionsResponse)

    async def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, context: Any
    ) -> pb.UpdateSubscriptionResponse:
        return await self._call("UpdateSubscription", request, context, pb.UpdateSubscriptionResponse)

    async def DeleteSubscription(
        self, request: pb.DeleteSubscriptionRequest, context: Any
    ) -> pb.DeleteSubscriptionResponse:
        return await self._call("DeleteSubscription", request, context, pb.DeleteSubscriptionResponse)

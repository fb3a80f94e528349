"""WatchSheets: the sheet changes as a gRPC server stream, replayed from a cursor,
then followed live, for internal clients.

The gRPC edge of the events subsystem, imported by the composition root alone
(not through the package, which the service API imports)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import grpc

from opendental.sheets.v1 import sheet_event_service_pb2 as pb
from opendental.sheets.v1 import sheet_event_service_pb2_grpc
from service.contract import SheetsError, validate
from service.events import EventStore, Watermark
from service.rpc.servicer import status_details
from service.storage import convert, now_seconds


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode()
    return None


class SheetEventServicer(sheet_event_service_pb2_grpc.SheetEventServiceServicer):
    """The stream reads the `sheet` table every `tick` seconds, a batch at a time, the seconds that have
    ended (as delivery does: a sheet edited twice within a second comes once, with its last edit)."""

    def __init__(
        self,
        store: EventStore,
        *,
        authenticate: Callable[[str, str | None], None],
        tick_seconds: float,
        batch_size: int,
        settle_seconds: int,
    ) -> None:
        self._store = store
        self._authenticate = authenticate
        self._tick = tick_seconds
        self._batch = batch_size
        self._settle = timedelta(seconds=settle_seconds)

    async def WatchSheets(
        self, request: pb.WatchSheetsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.WatchSheetsResponse]:
        try:
            self._authenticate("WatchSheets", _authorization(context))
            validate(request)
            since = Watermark.from_cursor(request.cursor) if request.cursor else Watermark(now_seconds())
        except SheetsError as error:
            trailing = (("grpc-status-details-bin", status_details(error)),)
            await context.abort(grpc.StatusCode[error.grpc_code], error.message, trailing_metadata=trailing)
        pat_num = request.pat_num if request.HasField("pat_num") else None
        yield pb.WatchSheetsResponse(cursor=since.cursor())
        # Ends when the caller cancels or its deadline passes (grpc cancels this generator).
        while True:
            until = now_seconds() - self._settle
            try:
                changes = await self._store.changes(
                    since=since, limit=self._batch, until=until, pat_num=pat_num
                )
            except self._store.database_errors:
                changes = []  # the database is away: look again next tick, the stream stays open
            for change in changes:
                since = Watermark.at(change.changed, change.sheet_num)
                yield pb.WatchSheetsResponse(sheet=convert.sheet(change.row), cursor=since.cursor())
            if len(changes) < self._batch:
                await asyncio.sleep(self._tick)

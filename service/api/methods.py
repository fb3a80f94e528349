"""The service API: every SheetService method, behind one auth check and one
set of validations, shared by the gRPC servicer and the in-process gateway.

Methods take and return the proto messages and raise `service.contract.errors`; the
edges translate those exactly once. Statements live in `service.api.store`, the
row -> message converters in `service.storage.convert`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from google.api import httpbody_pb2
from google.protobuf.message import Message

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.api.limits import RateLimiter, WorkLimiter
from service.api.store import SheetStore
from service.api.worker_reader import SourceUnavailable
from service.config import Settings
from service.contract import (
    SERVICE,
    SHEET_TYPE_TO_OD,
    WRITE_METHODS,
    Authenticator,
    Internal,
    InvalidArgument,
    NotFound,
    SheetsError,
    Unavailable,
    customer_key,
    validate,
)
from service.events import EventStore, SubscriptionsApi
from service.filling import GivenValue, Practice
from service.render import WARM_DEFINITIONS, PdfRenderer
from service.sftp import check_target, parse_sftp_address, upload_pdf
from service.storage import convert
from service.vocab import culture
from telemetry.metrics import Metrics

log = logging.getLogger("service.api")
_Method = Callable[..., Awaitable[Message]]


def python_name(method_name: str) -> str:
    """The API's method for an RPC: ListSheets -> list_sheets."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method_name).lower()


class SheetsApi:
    """Open Dental's Sheets API over one store. The converted sheets it keeps for lists read again
    (`SHEETS_LIST_CACHE_SIZE`) are its own, dropped when it `close`s."""

    def __init__(
        self,
        *,
        store: SheetStore,
        settings: Settings,
        authenticator: Authenticator,
        renderer: PdfRenderer,
        practice: Practice,
        metrics: Metrics | None = None,
        subscriptions: SubscriptionsApi | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._auth = authenticator
        self._renderer = renderer
        self._practice = practice
        self._work = WorkLimiter(concurrency=settings.max_concurrent_renders, queue=settings.render_queue)
        self._rate = (
            RateLimiter(rate=settings.rate_limit, burst=settings.rate_burst) if settings.rate_limit else None
        )
        self.metrics = metrics or Metrics()
        self.listed_sheets = convert.ListedSheets(settings.list_cache_size)
        # Subscriptions belong to the customer key that made them: their methods take the caller's too.
        self.subscriptions = subscriptions or SubscriptionsApi(
            EventStore(store.engine, database_errors=store.database_errors, capacity=store.capacity),
            max_per_key=settings.events_max_subscriptions,
            allowed_hosts=settings.events_allowed_hosts,
            allow_http=settings.events_allow_http,
        )
        self._owned: set[str] = set()
        self._methods: Mapping[str, _Method] = self._method_table()

    def _method_table(self) -> dict[str, _Method]:
        """One implementation per RPC of the service descriptor, or the API does not start."""
        table = {}
        for method in SERVICE.methods:
            implementation = getattr(self, python_name(method.name), None)
            if implementation is None:
                implementation = getattr(self.subscriptions, python_name(method.name), None)
                self._owned.add(method.name)
            if not callable(implementation):
                raise TypeError(f"{type(self).__name__} implements no {method.full_name}")
            table[method.name] = implementation
        return table

    def close(self) -> None:
        """Drop what this API keeps of patients' sheets (its owner calls this as it stops serving)."""
        self.listed_sheets.clear()

    def authenticate(self, method_name: str, authorization: str | None) -> None:
        """The auth check alone, for an edge that must refuse before it parses a request."""
        self._auth.check(authorization, write=method_name in WRITE_METHODS)

    async def call(self, method_name: str, request: Message, authorization: str | None) -> Message:
        """Authenticate, validate, then run one method; raises only `service.contract.errors`
        (the store has made database failures those already: anything else is INTERNAL)."""
        started = time.perf_counter()
        outcome = "OK"
        try:
            self.authenticate(method_name, authorization)
            if self._rate is not None:
                self._rate.admit(customer_key(authorization))
            validate(request)
            if method_name in self._owned:
                return await self._methods[method_name](request, customer_key(authorization))
            return await self._methods[method_name](request)
        except SheetsError as error:
            outcome = error.grpc_code
            raise
        except asyncio.CancelledError:
            outcome = "CANCELLED"  # the caller went away (or its deadline passed)
            raise
        except Exception:
            outcome = "INTERNAL"
            log.exception("%s failed", method_name)
            raise Internal("Internal error.") from None
        finally:
            self.metrics.observe(method_name, outcome, time.perf_counter() - started)

    def _page(self, request: Any) -> tuple[int, int]:
        maximum = self._settings.page_limit
        offset = request.offset if request.HasField("offset") else 0
        limit = request.limit if request.HasField("limit") else maximum
        if offset < 0:
            raise InvalidArgument("Offset is invalid. It must be 0 or more.", field="Offset")
        if not 1 <= limit <= maximum:
            raise InvalidArgument(f"Limit is invalid. It must be from 1 to {maximum}.", field="Limit")
        return offset, limit

    async def list_sheets(self, request: pb.ListSheetsRequest) -> pb.ListSheetsResponse:
        offset, limit = self._page(request)
        rows = await self._store.list_sheets(pat_num=request.pat_num, offset=offset, limit=limit)
        response = pb.ListSheetsResponse()
        self.listed_sheets.add(response.sheets, rows)
        return response

    async def get_sheet(self, request: pb.GetSheetRequest) -> pb.GetSheetResponse:
        return pb.GetSheetResponse(
            sheet=convert.sheet(await self._store.get_sheet(sheet_num=request.sheet_num))
        )

    async def create_sheet(self, request: pb.CreateSheetRequest) -> pb.CreateSheetResponse:
        sheet_num = await self._store.create_sheet(
            sheet_def_num=request.sheet_def_num,
            pat_num=request.pat_num,
            internal_note=request.internal_note,
            practice=self._practice,
            culture=culture(self._settings.culture),
            values=[
                GivenValue(
                    name=item.field_name,
                    value=item.field_value if item.HasField("field_value") else None,
                    radio_button_value=(
                        item.radio_button_value if item.HasField("radio_button_value") else None
                    ),
                )
                for item in request.sheet_fields
            ],
            apt_num=request.apt_num,
        )
        return pb.CreateSheetResponse(sheet=convert.sheet(await self._store.get_sheet(sheet_num=sheet_num)))

    async def _render(self, sheet_num: int) -> bytes:
        with self.metrics.rendering():
            return await self._render_pdf(sheet_num)

    async def _render_pdf(self, sheet_num: int) -> bytes:
        # The event loop only dispatches: a worker reads the sheet itself where
        # it can (SQLite), or gets the driver's rows to build the mappings from.
        source = self._store.worker_reader
        if source is not None:
            try:
                pdf = await self._renderer.render_stored(source, sheet_num)
            except SourceUnavailable as exc:
                log.warning("render worker: database unavailable: %s", exc)
                raise Unavailable("The database is unavailable. Try again later.") from None
            if pdf is None:
                raise NotFound("Sheet not found.")
            return pdf
        return await self._renderer.render_snapshot(await self._store.load_snapshot(sheet_num=sheet_num))

    async def warm_renderer(self) -> None:
        """Start the render workers and lay out the definitions in use in each, ahead of requests."""
        try:
            source = self._store.worker_reader
            if source is None:  # MariaDB, PostgreSQL: the sheets are read here and handed over
                warmed = await self._renderer.warm(await self._store.recent_snapshots(limit=WARM_DEFINITIONS))
            else:
                warmed = await self._renderer.warm(source)
        except Exception:
            log.warning("the render workers could not be warmed up", exc_info=True)
            return
        log.info("%d render worker(s) warmed up", warmed)

    async def export_sheet_sftp(self, request: pb.ExportSheetSftpRequest) -> pb.ExportSheetSftpResponse:
        # Everything that needs no connection is checked before rendering.
        settings = self._settings
        target = parse_sftp_address(request.sftp_address)
        check_target(target, username=request.sftp_username, allowed_hosts=settings.sftp_allowed_hosts)
        async with self._work.slot():
            location = await upload_pdf(
                target,
                username=request.sftp_username,
                password=request.sftp_password,
                data=await self._render(request.sheet_num),
                host_key_policy=settings.sftp_host_keys,
                known_hosts=settings.data_dir / "known_hosts",
                allowed_hosts=settings.sftp_allowed_hosts,
                connect_timeout=settings.sftp_connect_timeout,
            )
        return pb.ExportSheetSftpResponse(location=location)

    async def render_sheet_pdf(self, request: pb.RenderSheetPdfRequest) -> httpbody_pb2.HttpBody:
        async with self._work.slot():
            data = await self._render(request.sheet_num)
        return httpbody_pb2.HttpBody(content_type="application/pdf", data=data)

    async def list_sheet_fields(self, request: pb.ListSheetFieldsRequest) -> pb.ListSheetFieldsResponse:
        offset, limit = self._page(request)
        sheet_num = request.sheet_num if request.HasField("sheet_num") else None
        rows = await self._store.list_sheet_fields(sheet_num=sheet_num, offset=offset, limit=limit)
        return pb.ListSheetFieldsResponse(sheet_fields=[convert.sheet_field(r) for r in rows])

    async def get_sheet_field(self, request: pb.GetSheetFieldRequest) -> pb.GetSheetFieldResponse:
        row = await self._store.get_sheet_field(sheet_field_num=request.sheet_field_num)
        return pb.GetSheetFieldResponse(sheet_field=convert.sheet_field(row))

    async def update_sheet_field(self, request: pb.UpdateSheetFieldRequest) -> pb.UpdateSheetFieldResponse:
        row = await self._store.update_sheet_field(
            sheet_field_num=request.sheet_field_num, value=request.field_value
        )
        return pb.UpdateSheetFieldResponse(sheet_field=convert.sheet_field(row))

    async def list_sheet_defs(self, request: pb.ListSheetDefsRequest) -> pb.ListSheetDefsResponse:
        offset, limit = self._page(request)
        sheet_type = SHEET_TYPE_TO_OD[request.sheet_type] if request.sheet_type else None
        rows = await self._store.list_sheet_defs(sheet_type=sheet_type, offset=offset, limit=limit)
        return pb.ListSheetDefsResponse(sheet_defs=[convert.sheet_def(r) for r in rows])

    async def get_sheet_def(self, request: pb.GetSheetDefRequest) -> pb.GetSheetDefResponse:
        row = await self._store.get_sheet_def(sheet_def_num=request.sheet_def_num)
        return pb.GetSheetDefResponse(sheet_def=convert.sheet_def(row))

    async def list_sheet_field_defs(
        self, request: pb.ListSheetFieldDefsRequest
    ) -> pb.ListSheetFieldDefsResponse:
        offset, limit = self._page(request)
        sheet_def_num = request.sheet_def_num if request.HasField("sheet_def_num") else None
        rows = await self._store.list_sheet_field_defs(
            sheet_def_num=sheet_def_num, offset=offset, limit=limit
        )
        return pb.ListSheetFieldDefsResponse(sheet_field_defs=[convert.sheet_field_def(r) for r in rows])

    async def get_sheet_field_def(self, request: pb.GetSheetFieldDefRequest) -> pb.GetSheetFieldDefResponse:
        row = await self._store.get_sheet_field_def(sheet_field_def_num=request.sheet_field_def_num)
        return pb.GetSheetFieldDefResponse(sheet_field_def=convert.sheet_field_def(row))

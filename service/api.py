"""The service API: every SheetService method, behind one auth check and one
set of validations, shared by the gRPC servicer and the in-process gateway.

Methods take and return the proto messages and raise `service.errors`; the
edges translate those exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from google.api import httpbody_pb2
from google.protobuf.message import Message
from google.type import datetime_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from opendental.sheets.v1 import resources_pb2
from opendental.sheets.v1 import sheet_service_pb2 as pb
from service import models
from service.auth import Authenticator
from service.contract import FIELD_TYPE_TO_PROTO, SHEET_TYPE_TO_OD, SHEET_TYPE_TO_PROTO, WRITE_METHODS
from service.db import write_transaction
from service.enums import SheetFieldType
from service.errors import Internal, InvalidArgument, NotFound, SheetsError, Unavailable
from service.metrics import Metrics
from service.reads import PreparedRead, SqliteReaders, datetime_parts
from service.render import PdfRenderer
from service.settings import Settings
from service.sftp import check_target, parse_sftp_address, upload_pdf
from service.sheets import Practice, create_sheet, load_sheet
from service.validation import validate

log = logging.getLogger(__name__)
_UPDATABLE_FIELD_TYPES = (SheetFieldType.OutputText, SheetFieldType.InputField, SheetFieldType.CheckBox)


@lru_cache(maxsize=8192)
def _datetime(value: Any) -> datetime_pb2.DateTime:
    """A stored date-time (a datetime, or a driver's raw value) as google.type.DateTime.

    Cached: a page's rows share few distinct times, and parsing one costs more
    than the rest of its row. Callers only pass the result to a constructor,
    which copies it.
    """
    year, month, day, hours, minutes, seconds = datetime_parts(value)
    return datetime_pb2.DateTime(
        year=year, month=month, day=day, hours=hours, minutes=minutes, seconds=seconds
    )


_SHEET_COLUMNS = [
    models.SHEET.c[name]
    for name in (
        "SheetNum",
        "SheetType",
        "PatNum",
        "DateTimeSheet",
        "InternalNote",
        "Description",
        "IsWebForm",
        "SheetDefNum",
        "DocNum",
        "ClinicNum",
        "DateTSheetEdited",
    )
]
_FIELD_COLUMNS = [
    models.SHEETFIELD.c[name]
    for name in (
        "SheetFieldNum",
        "SheetNum",
        "FieldType",
        "FieldName",
        "FieldValue",
        "IsRequired",
        "ReportableName",
        "DateTimeSig",
    )
]
# Fields of sheets that are not soft-deleted: a deleted sheet's fields are gone with it.
_LIVE_FIELDS = models.SHEETFIELD.join(
    models.SHEET,
    sa.and_(models.SHEET.c.SheetNum == models.SHEETFIELD.c.SheetNum, models.SHEET.c.IsDeleted == 0),
)
_SHEETDEF_COLUMNS = [models.SHEETDEF.c[name] for name in ("SheetDefNum", "Description", "SheetType")]
_FIELDDEF_COLUMNS = [
    models.SHEETFIELDDEF.c[name]
    for name in ("SheetFieldDefNum", "SheetDefNum", "FieldType", "FieldName", "FieldValue", "IsRequired")
]


def _sheet(row: Any) -> resources_pb2.Sheet:
    return resources_pb2.Sheet(
        sheet_num=row[0],
        sheet_type=SHEET_TYPE_TO_PROTO.get(row[1], 0),  # type: ignore[arg-type]
        pat_num=row[2],
        date_time_sheet=_datetime(row[3]),
        internal_note=row[4],
        description=row[5],
        is_web_form=bool(row[6]),
        sheet_def_num=row[7],
        doc_num=row[8],
        clinic_num=row[9],
        date_t_sheet_edited=_datetime(row[10]),
    )


def _sheet_field(row: Any) -> resources_pb2.SheetField:
    return resources_pb2.SheetField(
        sheet_field_num=row[0],
        sheet_num=row[1],
        field_type=FIELD_TYPE_TO_PROTO.get(row[2], 0),  # type: ignore[arg-type]
        field_name=row[3],
        field_value=row[4],
        is_required=bool(row[5]),
        reportable_name=row[6],
        date_time_sig=_datetime(row[7]),
    )


def _sheet_def(row: Any) -> resources_pb2.SheetDef:
    return resources_pb2.SheetDef(
        sheet_def_num=row[0],
        description=row[1],
        sheet_type=SHEET_TYPE_TO_PROTO.get(row[2], 0),  # type: ignore[arg-type]
    )


def _sheet_field_def(row: Any) -> resources_pb2.SheetFieldDef:
    return resources_pb2.SheetFieldDef(
        sheet_field_def_num=row[0],
        sheet_def_num=row[1],
        field_type=FIELD_TYPE_TO_PROTO.get(row[2], 0),  # type: ignore[arg-type]
        field_name=row[3],
        field_value=row[4],
        is_required=bool(row[5]),
    )


class SheetsApi:
    """Open Dental's Sheets API over one database."""

    def __init__(
        self, *, engine: AsyncEngine, settings: Settings, authenticator: Authenticator, renderer: PdfRenderer
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._auth = authenticator
        self._renderer = renderer
        sheet = models.SHEET.c
        self._readers = SqliteReaders.for_engine(engine)
        self._list_sheets = PreparedRead(
            engine,
            sa.select(*_SHEET_COLUMNS)
            .where(sheet.PatNum == sa.bindparam("pat_num"), sheet.IsDeleted == 0)
            .order_by(sheet.SheetNum)
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset")),
            self._readers,
        )
        self.metrics = Metrics(
            "sheets_rpc", "Calls of the service API by method and status.", ("method", "code")
        )
        self._methods: Mapping[str, Callable[[Any], Awaitable[Message]]] = {
            "ListSheets": self.list_sheets,
            "GetSheet": self.get_sheet,
            "CreateSheet": self.create_sheet,
            "ExportSheetSftp": self.export_sheet_sftp,
            "RenderSheetPdf": self.render_sheet_pdf,
            "ListSheetFields": self.list_sheet_fields,
            "GetSheetField": self.get_sheet_field,
            "UpdateSheetField": self.update_sheet_field,
            "ListSheetDefs": self.list_sheet_defs,
            "GetSheetDef": self.get_sheet_def,
            "ListSheetFieldDefs": self.list_sheet_field_defs,
            "GetSheetFieldDef": self.get_sheet_field_def,
        }

    async def close(self) -> None:
        """Release what the API holds of its own (the engine is its owner's to dispose)."""
        if self._readers is not None:
            await self._readers.close()

    def authenticate(self, method_name: str, authorization: str | None) -> None:
        """The auth check alone, for an edge that must refuse before it parses a request."""
        self._auth.check(authorization, write=method_name in WRITE_METHODS)

    async def call(self, method_name: str, request: Message, authorization: str | None) -> Message:
        """Authenticate, validate, then run one method; raises only `service.errors`."""
        started = time.perf_counter()
        outcome = "OK"
        try:
            self.authenticate(method_name, authorization)
            validate(request)
            return await self._methods[method_name](request)
        except SheetsError as error:
            outcome = error.grpc_code
            raise
        except sa.exc.DataError:
            # The database refused a value (a length or range its column cannot hold).
            outcome = "INVALID_ARGUMENT"
            raise InvalidArgument("A value does not fit its database column.") from None
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError, TimeoutError) as exc:
            # The pool reconnects (pre-ping) once the database is back: no restart needed.
            outcome = "UNAVAILABLE"
            log.warning("%s: database unavailable: %s", method_name, type(exc).__name__)
            raise Unavailable("The database is unavailable. Try again later.") from None
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

    async def _exists(self, table: sa.Table, key: int) -> bool:
        column = table.primary_key.columns[0]
        async with self._engine.connect() as conn:
            return (await conn.execute(sa.select(column).where(column == key))).first() is not None

    async def _one(
        self,
        columns: list[sa.Column[Any]],
        where: sa.ColumnElement[bool],
        missing: str,
        *,
        select_from: sa.FromClause | None = None,
    ) -> Any:
        query = sa.select(*columns).where(where)
        if select_from is not None:
            query = query.select_from(select_from)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(missing)
        return row

    async def list_sheets(self, request: pb.ListSheetsRequest) -> pb.ListSheetsResponse:
        offset, limit = self._page(request)
        rows = await self._list_sheets.fetch(pat_num=request.pat_num, offset=offset, limit=limit)
        # Only an empty page needs the extra look-up that tells "no sheets" from "no patient".
        if not rows and not await self._exists(models.PATIENT, request.pat_num):
            raise NotFound("Patient not found.")
        return pb.ListSheetsResponse(sheets=[_sheet(r) for r in rows])

    async def _get_sheet(self, sheet_num: int) -> resources_pb2.Sheet:
        sheet = models.SHEET.c
        row = await self._one(
            _SHEET_COLUMNS, sa.and_(sheet.SheetNum == sheet_num, sheet.IsDeleted == 0), "Sheet not found."
        )
        return _sheet(row)

    async def get_sheet(self, request: pb.GetSheetRequest) -> pb.GetSheetResponse:
        return pb.GetSheetResponse(sheet=await self._get_sheet(request.sheet_num))

    async def create_sheet(self, request: pb.CreateSheetRequest) -> pb.CreateSheetResponse:
        sheet_num = await create_sheet(
            self._engine,
            sheet_def_num=request.sheet_def_num,
            pat_num=request.pat_num,
            internal_note=request.internal_note,
            practice=Practice.from_settings(self._settings),
        )
        return pb.CreateSheetResponse(sheet=await self._get_sheet(sheet_num))

    async def _render(self, sheet_num: int) -> bytes:
        sheet, fields = await load_sheet(self._engine, sheet_num)
        return await self._renderer.render(sheet, fields)

    async def export_sheet_sftp(self, request: pb.ExportSheetSftpRequest) -> pb.ExportSheetSftpResponse:
        # Everything that needs no connection is checked before rendering.
        settings = self._settings
        target = parse_sftp_address(request.sftp_address)
        check_target(target, username=request.sftp_username, allowed_hosts=settings.sftp_allowed_hosts)
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
        return httpbody_pb2.HttpBody(
            content_type="application/pdf", data=await self._render(request.sheet_num)
        )

    async def list_sheet_fields(self, request: pb.ListSheetFieldsRequest) -> pb.ListSheetFieldsResponse:
        offset, limit = self._page(request)
        field = models.SHEETFIELD.c
        query = (
            sa.select(*_FIELD_COLUMNS)
            .select_from(_LIVE_FIELDS)
            .order_by(field.SheetFieldNum)
            .offset(offset)
            .limit(limit)
        )
        if request.HasField("sheet_num"):
            query = query.where(field.SheetNum == request.sheet_num)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        if not rows and request.HasField("sheet_num"):
            await self._get_sheet(request.sheet_num)
        return pb.ListSheetFieldsResponse(sheet_fields=[_sheet_field(r) for r in rows])

    async def get_sheet_field(self, request: pb.GetSheetFieldRequest) -> pb.GetSheetFieldResponse:
        field = models.SHEETFIELD.c
        row = await self._one(
            _FIELD_COLUMNS,
            field.SheetFieldNum == request.sheet_field_num,
            "SheetField not found.",
            select_from=_LIVE_FIELDS,
        )
        return pb.GetSheetFieldResponse(sheet_field=_sheet_field(row))

    async def update_sheet_field(self, request: pb.UpdateSheetFieldRequest) -> pb.UpdateSheetFieldResponse:
        field, sheet = models.SHEETFIELD.c, models.SHEET.c
        value = request.field_value
        async with write_transaction(self._engine) as conn:
            row = (
                await conn.execute(
                    sa.select(field.FieldType, field.SheetNum)
                    .select_from(_LIVE_FIELDS)
                    .where(field.SheetFieldNum == request.sheet_field_num)
                )
            ).first()
            if row is None:
                raise NotFound("SheetField not found.")
            if row.FieldType not in _UPDATABLE_FIELD_TYPES:
                raise InvalidArgument(
                    "Only OutputText, InputField and CheckBox fields can be updated.", field="FieldValue"
                )
            if row.FieldType == SheetFieldType.CheckBox and value not in ("X", ""):
                raise InvalidArgument('FieldValue of a CheckBox must be "X" or blank.', field="FieldValue")
            await conn.execute(
                sa.update(models.SHEETFIELD)
                .where(field.SheetFieldNum == request.sheet_field_num)
                .values(FieldValue=value)
            )
            await conn.execute(
                sa.update(models.SHEET)
                .where(sheet.SheetNum == row.SheetNum)
                .values(DateTSheetEdited=models.now_seconds())
            )
        return pb.UpdateSheetFieldResponse(
            sheet_field=(
                await self.get_sheet_field(pb.GetSheetFieldRequest(sheet_field_num=request.sheet_field_num))
            ).sheet_field
        )

    async def list_sheet_defs(self, request: pb.ListSheetDefsRequest) -> pb.ListSheetDefsResponse:
        offset, limit = self._page(request)
        sheet_def = models.SHEETDEF.c
        query = sa.select(*_SHEETDEF_COLUMNS).order_by(sheet_def.SheetDefNum).offset(offset).limit(limit)
        if request.sheet_type:
            query = query.where(sheet_def.SheetType == SHEET_TYPE_TO_OD[request.sheet_type])
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return pb.ListSheetDefsResponse(sheet_defs=[_sheet_def(r) for r in rows])

    async def get_sheet_def(self, request: pb.GetSheetDefRequest) -> pb.GetSheetDefResponse:
        sheet_def = models.SHEETDEF.c
        row = await self._one(
            _SHEETDEF_COLUMNS, sheet_def.SheetDefNum == request.sheet_def_num, "SheetDef not found."
        )
        return pb.GetSheetDefResponse(sheet_def=_sheet_def(row))

    async def list_sheet_field_defs(
        self, request: pb.ListSheetFieldDefsRequest
    ) -> pb.ListSheetFieldDefsResponse:
        offset, limit = self._page(request)
        field_def = models.SHEETFIELDDEF.c
        query = sa.select(*_FIELDDEF_COLUMNS).order_by(field_def.SheetFieldDefNum).offset(offset).limit(limit)
        if request.HasField("sheet_def_num"):
            query = query.where(field_def.SheetDefNum == request.sheet_def_num)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        if (
            not rows
            and request.HasField("sheet_def_num")
            and not await self._exists(models.SHEETDEF, request.sheet_def_num)
        ):
            raise NotFound("SheetDef not found.")
        return pb.ListSheetFieldDefsResponse(sheet_field_defs=[_sheet_field_def(r) for r in rows])

    async def get_sheet_field_def(self, request: pb.GetSheetFieldDefRequest) -> pb.GetSheetFieldDefResponse:
        field_def = models.SHEETFIELDDEF.c
        row = await self._one(
            _FIELDDEF_COLUMNS,
            field_def.SheetFieldDefNum == request.sheet_field_def_num,
            "SheetFieldDef not found.",
        )
        return pb.GetSheetFieldDefResponse(sheet_field_def=_sheet_field_def(row))

"""The store: every statement the service API runs against Open Dental's
tables, and the prepared reads of the hot paths (ListSheets, the render loaders).

Functions take keyword arguments and return driver rows in the column order of
`service.storage.convert`; the API turns them into messages. Creating a sheet, whose
statements are bound up with Open Dental's fill rules, is `service.filling.create`'.
A render worker's own reads are `service.api.worker_reader`; the guards that make a
database's failures the API's errors, `service.storage.database_calls`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api.worker_reader import SheetSnapshot, WorkerReader
from service.contract import InvalidArgument, NotFound
from service.filling import GivenValue, Practice, create_sheet, value_problem
from service.storage import (
    CapacityWatch,
    CompiledRead,
    PreparedRead,
    SqliteReaders,
    backends,
    capacity_fault,
    convert,
    database_call,
    database_errors,
    database_write,
    is_outage,
    models,
    schema,
    write_transaction,
)
from service.vocab import EN_US, Culture

log = logging.getLogger("service.store")
Row = Sequence[Any]


def _columns(table: sa.Table, names: Sequence[str]) -> list[sa.Column[Any]]:
    return [table.c[name] for name in names]


_SHEET = _columns(models.SHEET, convert.SHEET_COLUMNS)
_FIELD = _columns(models.SHEETFIELD, convert.SHEET_FIELD_COLUMNS)
_SHEETDEF = _columns(models.SHEETDEF, convert.SHEET_DEF_COLUMNS)
_FIELDDEF = _columns(models.SHEETFIELDDEF, convert.SHEET_FIELD_DEF_COLUMNS)
# Fields of sheets that are not soft-deleted: a deleted sheet's fields are gone with it.
_LIVE_FIELDS = models.SHEETFIELD.join(
    models.SHEET,
    sa.and_(models.SHEET.c.SheetNum == models.SHEETFIELD.c.SheetNum, models.SHEET.c.IsDeleted == 0),
)


def _recent_sheets(limit: int | sa.BindParameter[int]) -> sa.Select[Any]:
    """The newest live sheet of each definition, the most recently used definitions first."""
    sheet = models.SHEET.c
    newest = sa.func.max(sheet.SheetNum).label("newest")
    return (
        sa.select(newest)
        .where(sheet.IsDeleted == 0, sheet.SheetDefNum != 0)
        .group_by(sheet.SheetDefNum)
        .order_by(newest.desc())
        .limit(limit)
    )


class SheetStore:
    """Reads and updates over one engine (which stays its owner's to dispose).

    `close()` releases the store's own SQLite reader connections. `share_reads`:
    identical reads at once share a query (MariaDB, PostgreSQL; `PreparedRead`).
    """

    def __init__(self, engine: AsyncEngine, *, share_reads: bool = True) -> None:
        self.engine = engine
        # The capacity faults its writes met (`/readyz`, the metrics).
        self.capacity = CapacityWatch()
        self.database_errors = database_errors(backends.of(engine.dialect))
        self._readers = SqliteReaders.for_engine(engine)
        sheet, field = models.SHEET.c, models.SHEETFIELD.c
        self._list_sheets = PreparedRead(
            engine,
            sa.select(*_SHEET)
            .where(sheet.PatNum == sa.bindparam("pat_num"), sheet.IsDeleted == 0)
            .order_by(sheet.SheetNum)
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset")),
            self._readers,
            share=share_reads,
        )
        self._get_sheet = PreparedRead(
            engine,
            sa.select(*_SHEET).where(sheet.SheetNum == sa.bindparam("sheet_num"), sheet.IsDeleted == 0),
            self._readers,
            share=share_reads,
        )
        # The render loaders: a 249-field sheet through SQLAlchemy's result
        # processing kept the event loop busy for milliseconds per PDF.
        wanted: sa.BindParameter[int] = sa.bindparam("sheet_num")
        self._whole_sheet_statement = sa.select(models.SHEET).where(
            sheet.SheetNum == wanted, sheet.IsDeleted == 0
        )
        self._whole_sheet = PreparedRead(engine, self._whole_sheet_statement, share=share_reads)
        self._whole_fields = PreparedRead(
            engine,
            sa.select(models.SHEETFIELD).where(field.SheetNum == wanted).order_by(field.SheetFieldNum),
            share=share_reads,
        )
        self.worker_reader = self._worker_reader(engine)

    @property
    def shared_reads(self) -> int:
        """Reads answered by an identical read's query instead of one of their own."""
        reads = (self._list_sheets, self._get_sheet, self._whole_sheet, self._whole_fields)
        return sum(read.coalesced for read in reads)

    def _worker_reader(self, engine: AsyncEngine) -> WorkerReader | None:
        """A reader for render workers where they can open the database themselves (a SQLite file)."""
        if self._readers is None or not engine.url.database:
            return None
        recent = _recent_sheets(sa.bindparam("limit"))
        return WorkerReader(
            engine.url.database,
            self._whole_sheet.compiled,
            self._whole_fields.compiled,
            CompiledRead.of(recent, engine.dialect),
        )

    async def close(self) -> None:
        if self._readers is not None:
            await self._readers.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _rows(self, query: sa.Select[Any]) -> Sequence[Row]:
        async with self.engine.connect() as conn:
            rows: Sequence[Row] = (await conn.execute(query)).all()
        return rows

    async def _one(self, query: sa.Select[Any], missing: str) -> Row:
        rows = await self._rows(query)
        if not rows:
            raise NotFound(missing)
        return rows[0]

    async def _exists(self, table: sa.Table, key: int) -> bool:
        column = table.primary_key.columns[0]
        return bool(await self._rows(sa.select(column).where(column == key)))

    @database_call
    async def list_sheets(self, *, pat_num: int, offset: int, limit: int) -> Sequence[Row]:
        """A patient's sheets; NotFound for a patient who does not exist."""
        rows = await self._list_sheets.fetch(pat_num=pat_num, offset=offset, limit=limit)
        # Only an empty page needs the extra look-up that tells "no sheets" from "no patient".
        if not rows and not await self._exists(models.PATIENT, pat_num):
            raise NotFound("Patient not found.")
        return rows

    @database_call
    async def get_sheet(self, *, sheet_num: int) -> Row:
        """A live sheet, as the driver returns it (CreateSheet answers with one)."""
        rows = await self._get_sheet.fetch(sheet_num=sheet_num)
        if not rows:
            raise NotFound("Sheet not found.")
        return rows[0]

    @database_call
    async def load_sheet(self, *, sheet_num: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A sheet and its fields as plain rows for rendering, with the driver's own
        values (date-times may be text; the renderer reads both); NotFound when
        missing or deleted."""
        return (await self.load_snapshot(sheet_num=sheet_num)).rows()

    @database_call
    async def recent_snapshots(self, *, limit: int) -> list[SheetSnapshot]:
        """The newest live sheet of each of the `limit` most recently used definitions (to warm workers)."""
        snapshots = []
        for (sheet_num,) in await self._rows(_recent_sheets(limit)):
            try:
                snapshots.append(await self.load_snapshot(sheet_num=sheet_num))
            except NotFound:  # deleted meanwhile
                continue
        return snapshots

    @database_call
    async def load_snapshot(self, *, sheet_num: int) -> SheetSnapshot:
        """`load_sheet`'s rows as the driver returned them, for a render worker to build the mappings."""
        rows = await self._whole_sheet.fetch(sheet_num=sheet_num)
        if not rows:
            raise NotFound("Sheet not found.")
        fields = await self._whole_fields.fetch(sheet_num=sheet_num)
        return SheetSnapshot(tuple(rows[0]), [tuple(f) for f in fields])

    @database_write
    async def create_sheet(
        self,
        *,
        sheet_def_num: int,
        pat_num: int,
        internal_note: str,
        practice: Practice,
        culture: Culture = EN_US,
        now: datetime | None = None,
        values: Sequence[GivenValue] = (),
        apt_num: int = 0,
    ) -> int:
        """A new sheet filled in by Open Dental's rules (`service.filling.create.create_sheet`),
        then given `values`; its SheetNum."""
        try:
            return await create_sheet(
                self.engine,
                sheet_def_num=sheet_def_num,
                pat_num=pat_num,
                internal_note=internal_note,
                practice=practice,
                culture=culture,
                now=now,
                values=values,
                apt_num=apt_num,
            )
        except sa.exc.DBAPIError as exc:
            if not is_outage(exc) and capacity_fault(exc) is None:
                # Perhaps a column Open Dental added since we looked: look again on the next create.
                schema.forget(self.engine.sync_engine)
            raise

    @database_call
    async def list_sheet_fields(self, *, sheet_num: int | None, offset: int, limit: int) -> Sequence[Row]:
        """Fields of live sheets, of one sheet where `sheet_num` is given (NotFound when it is not there)."""
        field = models.SHEETFIELD.c
        query = (
            sa.select(*_FIELD)
            .select_from(_LIVE_FIELDS)
            .order_by(field.SheetFieldNum)
            .offset(offset)
            .limit(limit)
        )
        if sheet_num is not None:
            query = query.where(field.SheetNum == sheet_num)
        rows = await self._rows(query)
        if not rows and sheet_num is not None:
            await self.get_sheet(sheet_num=sheet_num)
        return rows

    @database_call
    async def get_sheet_field(self, *, sheet_field_num: int) -> Row:
        field = models.SHEETFIELD.c
        query = sa.select(*_FIELD).select_from(_LIVE_FIELDS).where(field.SheetFieldNum == sheet_field_num)
        return await self._one(query, "SheetField not found.")

    @database_write
    async def update_sheet_field(self, *, sheet_field_num: int, value: str) -> Row:
        """Set a field's value and its sheet's DateTSheetEdited in one transaction; the updated field.

        Only OutputText, InputField and CheckBox fields take a value (a CheckBox
        "X" or blank): anything else is refused and nothing is written.
        """
        field, sheet = models.SHEETFIELD.c, models.SHEET.c
        async with write_transaction(self.engine) as conn:
            row = (
                await conn.execute(
                    sa.select(field.FieldType, field.SheetNum)
                    .select_from(_LIVE_FIELDS)
                    .where(field.SheetFieldNum == sheet_field_num)
                )
            ).first()
            if row is None:
                raise NotFound("SheetField not found.")
            problem = value_problem(row.FieldType, value)
            if problem:
                raise InvalidArgument(problem, field="FieldValue")
            await conn.execute(
                sa.update(models.SHEETFIELD)
                .where(field.SheetFieldNum == sheet_field_num)
                .values(FieldValue=value)
            )
            await conn.execute(
                sa.update(models.SHEET)
                .where(sheet.SheetNum == row.SheetNum)
                .values(DateTSheetEdited=models.now_seconds())
            )
        return await self.get_sheet_field(sheet_field_num=sheet_field_num)

    @database_call
    async def list_sheet_defs(self, *, sheet_type: int | None, offset: int, limit: int) -> Sequence[Row]:
        """Sheet definitions, of one Open Dental SheetType where given."""
        sheet_def = models.SHEETDEF.c
        query = sa.select(*_SHEETDEF).order_by(sheet_def.SheetDefNum).offset(offset).limit(limit)
        if sheet_type is not None:
            query = query.where(sheet_def.SheetType == sheet_type)
        return await self._rows(query)

    @database_call
    async def get_sheet_def(self, *, sheet_def_num: int) -> Row:
        query = sa.select(*_SHEETDEF).where(models.SHEETDEF.c.SheetDefNum == sheet_def_num)
        return await self._one(query, "SheetDef not found.")

    @database_call
    async def list_sheet_field_defs(
        self, *, sheet_def_num: int | None, offset: int, limit: int
    ) -> Sequence[Row]:
        """Field definitions, of one SheetDef where given (NotFound when it does not exist)."""
        field_def = models.SHEETFIELDDEF.c
        query = sa.select(*_FIELDDEF).order_by(field_def.SheetFieldDefNum).offset(offset).limit(limit)
        if sheet_def_num is not None:
            query = query.where(field_def.SheetDefNum == sheet_def_num)
        rows = await self._rows(query)
        if not rows and sheet_def_num is not None and not await self._exists(models.SHEETDEF, sheet_def_num):
            raise NotFound("SheetDef not found.")
        return rows

    @database_call
    async def get_sheet_field_def(self, *, sheet_field_def_num: int) -> Row:
        query = sa.select(*_FIELDDEF).where(models.SHEETFIELDDEF.c.SheetFieldDefNum == sheet_field_def_num)
        return await self._one(query, "SheetFieldDef not found.")

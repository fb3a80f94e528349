"""Stored rows as the proto's resources.

Each resource's columns are listed once, in the proto's (and Open Dental's)
order: the store selects them in that order, and a converter reads a row by
position, whatever the driver's row type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from google.type import datetime_pb2

from opendental.sheets.v1 import resources_pb2
from service.contract import FIELD_TYPE_TO_PROTO, SHEET_TYPE_TO_PROTO
from service.vocab import datetime_parts

SHEET_COLUMNS = (
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
SHEET_FIELD_COLUMNS = (
    "SheetFieldNum",
    "SheetNum",
    "FieldType",
    "FieldName",
    "FieldValue",
    "IsRequired",
    "ReportableName",
    "DateTimeSig",
)
SHEET_DEF_COLUMNS = ("SheetDefNum", "Description", "SheetType")
SHEET_FIELD_DEF_COLUMNS = (
    "SheetFieldDefNum",
    "SheetDefNum",
    "FieldType",
    "FieldName",
    "FieldValue",
    "IsRequired",
)

Row = Sequence[Any]


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


def sheet(row: Row) -> resources_pb2.Sheet:
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


_CONVERTED_TEXT = 256


class ListedSheets:
    """Converts the rows of sheet lists, keeping the converted sheets for lists read again.

    A patient's list is read again and again (front-desk screens and integrations
    poll it) while its rows rarely change. A sheet is kept by its whole row: every
    column as read, so a changed row is a new entry and an entry is never stale.
    At most `size` are kept (0: none), least recently used dropped first, each of a
    row whose texts (InternalNote, Description) are short: about 1 KB an entry at
    most. They are patient data: they belong to their owner, which `clear`s them
    when it closes.
    """

    def __init__(self, size: int) -> None:
        self._kept = lru_cache(maxsize=size)(sheet) if size > 0 else None
        self._listed = _lister(self._kept)

    def add(self, sheets: Any, rows: Sequence[Row]) -> None:
        """`sheet(row)` of each row, added to a response's repeated field.

        A row seen before is copied from its converted message, a third of the
        cost of building it again (the two DateTime messages are most of that).
        `extend` copies, so the kept messages never leave this object.
        """
        listed = self._listed
        sheets.extend([listed(row) for row in rows])

    def kept(self) -> int:
        """How many converted sheets are kept."""
        return 0 if self._kept is None else self._kept.cache_info().currsize

    def clear(self) -> None:
        if self._kept is not None:
            self._kept.cache_clear()


def _lister(
    kept: Callable[[tuple[Any, ...]], resources_pb2.Sheet] | None,
) -> Callable[[Row], resources_pb2.Sheet]:
    if kept is None:
        return sheet

    def listed(row: Row) -> resources_pb2.Sheet:
        note, description = row[4], row[5]
        if (note and len(note) > _CONVERTED_TEXT) or (description and len(description) > _CONVERTED_TEXT):
            return sheet(row)  # a long note is converted each time rather than kept
        return kept(row if type(row) is tuple else tuple(row))

    return listed


def sheet_field(row: Row) -> resources_pb2.SheetField:
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


def sheet_def(row: Row) -> resources_pb2.SheetDef:
    return resources_pb2.SheetDef(
        sheet_def_num=row[0],
        description=row[1],
        sheet_type=SHEET_TYPE_TO_PROTO.get(row[2], 0),  # type: ignore[arg-type]
    )


def sheet_field_def(row: Row) -> resources_pb2.SheetFieldDef:
    return resources_pb2.SheetFieldDef(
        sheet_field_def_num=row[0],
        sheet_def_num=row[1],
        field_type=FIELD_TYPE_TO_PROTO.get(row[2], 0),  # type: ignore[arg-type]
        field_name=row[3],
        field_value=row[4],
        is_required=bool(row[5]),
    )

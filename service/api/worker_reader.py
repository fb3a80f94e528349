"""How a render worker reads a sheet itself (`WorkerReader`), and the compact form a sheet's
rows travel in otherwise (`SheetSnapshot`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from service.storage import CompiledRead, ReaderConnections, models

_SHEET_NAMES = tuple(c.name for c in models.SHEET.columns)
_FIELD_NAMES = tuple(c.name for c in models.SHEETFIELD.columns)


class SourceUnavailable(Exception):
    """A render worker could not read the database (it travels back from the worker by pickling)."""


@dataclass(frozen=True, slots=True)
class SheetSnapshot:
    """A sheet and its fields as the driver returned them, with their column
    names once: compact to hand to a render worker, which builds the mappings."""

    sheet: tuple[Any, ...]
    fields: list[tuple[Any, ...]]

    def rows(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return dict(zip(_SHEET_NAMES, self.sheet, strict=True)), [
            dict(zip(_FIELD_NAMES, field, strict=True)) for field in self.fields
        ]


# This process's read-only connections, which a render worker keeps from one job to the next:
# a worker serves one service's database, a test process's several.
_connections = ReaderConnections(limit=4)


@dataclass(frozen=True, slots=True)
class WorkerReader:
    """How a render worker reads a sheet itself, on a read-only SQLite
    connection of its own (picklable: it travels to the worker with the job).

    The event loop then only dispatches the job and answers with the PDF; it
    never touches the 249 rows of a large sheet.
    """

    database: str
    sheet: CompiledRead
    fields: CompiledRead
    recent: CompiledRead

    def load(self, sheet_num: int) -> SheetSnapshot | None:
        """The sheet and its fields in one read transaction; None when missing or deleted."""
        connections = _connections
        try:
            conn = connections.connection(self.database)
            # One read transaction: the sheet and its fields as of one moment.
            conn.execute("BEGIN")
            try:
                sheet = conn.execute(*self.sheet.bind(sheet_num=sheet_num)).fetchone()
                fields = conn.execute(*self.fields.bind(sheet_num=sheet_num)).fetchall() if sheet else []
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            connections.discard(self.database)
            raise SourceUnavailable(type(exc).__name__) from None
        return None if sheet is None else SheetSnapshot(sheet, fields)

    def recent_sheets(self, limit: int) -> list[int]:
        """The newest live sheet of each of the `limit` most recently used definitions."""
        try:
            conn = _connections.connection(self.database)
            return [row[0] for row in conn.execute(*self.recent.bind(limit=limit))]
        except sqlite3.Error as exc:
            raise SourceUnavailable(type(exc).__name__) from None

"""How a render worker reads a sheet itself (`WorkerReader`), and the compact form a sheet's
rows travel in otherwise (`SheetSnapshot`)."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from service.storage import CompiledRead, connect_reader, models

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


@dataclass(frozen=True, slots=True)
class WorkerReader:
    """How a render worker reads a sheet itself, on a read-only SQLite
    connection of its own (picklable: it travels to the worker with the job;
    the worker opens it once and keeps it, `service.render.pool.WorkerSources`).

    The event loop then only dispatches the job and answers with the PDF; it
    never touches the 249 rows of a large sheet.
    """

    database: str
    # The statements of one database file are the same: the file alone tells readers apart.
    sheet: CompiledRead = field(compare=False)
    fields: CompiledRead = field(compare=False)
    recent: CompiledRead = field(compare=False)

    def open(self) -> OpenWorkerReader:
        return OpenWorkerReader(self)


class OpenWorkerReader:
    """A `WorkerReader` opened in a worker: its connection, opened at the first read and
    kept; one that failed is closed, and the next read opens another."""

    def __init__(self, source: WorkerReader) -> None:
        self._source = source
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_reader(self._source.database)
        return self._conn

    def _failed(self, exc: sqlite3.Error) -> SourceUnavailable:
        self.close()
        return SourceUnavailable(type(exc).__name__)

    def load(self, sheet_num: int) -> SheetSnapshot | None:
        """The sheet and its fields in one read transaction; None when missing or deleted."""
        source = self._source
        try:
            conn = self._connection()
            # One read transaction: the sheet and its fields as of one moment.
            conn.execute("BEGIN")
            try:
                sheet = conn.execute(*source.sheet.bind(sheet_num=sheet_num)).fetchone()
                fields = conn.execute(*source.fields.bind(sheet_num=sheet_num)).fetchall() if sheet else []
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._failed(exc) from None
        return None if sheet is None else SheetSnapshot(sheet, fields)

    def recent_sheets(self, limit: int) -> list[int]:
        """The newest live sheet of each of the `limit` most recently used definitions."""
        try:
            return [row[0] for row in self._connection().execute(*self._source.recent.bind(limit=limit))]
        except sqlite3.Error as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

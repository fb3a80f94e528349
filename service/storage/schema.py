"""What the database's tables really hold, learnt once per engine.

Open Dental adds columns in every version, NOT NULL and without a default: an
insert that names only the columns we model fails on a strict-mode server
(MySQL 1364). So the tables we write are reflected once, and a new row gives
each column we do not model the neutral value of its type, as Open Dental's
own code does for a fresh row. The tables filling reads are found the same
way: a table or column the database lacks is read as empty.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage import fill_tables, models
from service.vocab import MIDNIGHT, NO_DATE, NO_DATETIME

WRITTEN = (models.SHEET, models.SHEETFIELD)


def neutral_value(column_type: Any) -> Any:
    """Open Dental's value of a fresh row for a column of this type: what a column we do not model
    is written as, and what a read column an older Open Dental lacks reads as."""
    kind = getattr(column_type, "impl", column_type)
    if isinstance(kind, mysql.TIMESTAMP):
        # A MySQL TIMESTAMP cannot hold year 1; Open Dental stamps those "now".
        return models.now_seconds()
    if isinstance(kind, sa.DateTime):
        return NO_DATETIME
    if isinstance(kind, sa.Date):
        return NO_DATE
    if isinstance(kind, sa.Time):
        return MIDNIGHT
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.String | sa.Text | sa.Enum):
        return ""
    if isinstance(kind, sa.Integer | sa.Numeric | sa.Float):
        return 0
    return ""


@dataclass(frozen=True, slots=True)
class _Extra:
    name: str
    type: Any


class Schema:
    """The reflected columns of the tables the service writes and reads."""

    __slots__ = ("_columns", "_extras", "_writable")

    def __init__(self, columns: Mapping[str, list[dict[str, Any]]]) -> None:
        self._columns = {table: {c["name"] for c in cols} for table, cols in columns.items()}
        self._writable: dict[str, sa.Table] = {}
        self._extras: dict[str, list[_Extra]] = {}
        for table in WRITTEN:
            known = set(table.columns.keys())
            extras = [
                _Extra(c["name"], c["type"])
                for c in columns.get(table.name, [])
                if c["name"] not in known
                and not c.get("nullable", True)
                and c.get("default") is None
                and c.get("autoincrement") is not True
                and c.get("computed") is None
            ]
            self._extras[table.name] = extras
            self._writable[table.name] = (
                sa.Table(
                    table.name,
                    sa.MetaData(),
                    *(c._copy() for c in table.columns),
                    *(sa.Column(e.name, e.type) for e in extras),
                )
                if extras
                else table
            )

    def has(self, table: sa.Table) -> bool:
        return table.name in self._columns

    def columns(self, table: sa.Table, names: Iterable[str] | None = None) -> list[sa.Column[Any]]:
        """The columns of a read table that the database has (of `names`, default all declared)."""
        present = self._columns.get(table.name, set())
        wanted = table.columns.keys() if names is None else names
        return [table.c[name] for name in wanted if name in present]

    def writable(self, table: sa.Table) -> sa.Table:
        """The table to insert into: our columns plus those of the database we do not model."""
        return self._writable[table.name]

    def fresh(self, table: sa.Table) -> dict[str, Any]:
        """Values for the columns of a new row that we do not model (NOT NULL, no default)."""
        return {e.name: neutral_value(e.type) for e in self._extras[table.name]}


_CACHE: weakref.WeakKeyDictionary[Engine, Schema] = weakref.WeakKeyDictionary()
_LOCKS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _reflect(sync: sa.Connection) -> Schema:
    inspector = sa.inspect(sync)
    present = set(inspector.get_table_names())
    wanted = [t.name for t in (*WRITTEN, *fill_tables.TABLES) if t.name in present]
    return Schema({name: [dict(c) for c in inspector.get_columns(name)] for name in wanted})


async def schema_of(engine: AsyncEngine) -> Schema:
    """The schema of the engine's database, reflected on its first use (on a connection of its own)."""
    sync = engine.sync_engine
    found = _CACHE.get(sync)
    if found is not None:
        return found
    lock = _LOCKS.setdefault(sync, asyncio.Lock())
    async with lock:
        found = _CACHE.get(sync)
        if found is None:
            async with engine.connect() as conn:
                found = await conn.run_sync(_reflect)
            _CACHE[sync] = found
    return found


def forget(engine: Engine) -> None:
    """Drop what was learnt of an engine's database (after `init-db` created tables)."""
    _CACHE.pop(engine, None)

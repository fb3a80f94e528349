"""A fill read: one SELECT built once per schema, its rows handed back as mappings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from service.storage import Query, Schema, Session, neutral_value


def dicts(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


class Read:
    """One fill query and its columns' names (rows come back as mappings)."""

    __slots__ = ("names", "query")

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.query = Query(statement)
        self.names = tuple(c.name for c in statement.selected_columns)

    async def all(self, session: Session, **params: Any) -> list[dict[str, Any]]:
        return dicts(self.names, await session.rows(self.query, **params))


def columns(schema: Schema, table: sa.Table, *names: str) -> list[Any]:
    """The named columns of a read table; one an older Open Dental lacks reads as its neutral value."""
    present = {c.name for c in schema.columns(table, names)}
    return [
        table.c[n] if n in present else sa.literal(neutral_value(table.c[n].type)).label(n) for n in names
    ]

"""PostgreSQL on asyncpg."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage.backends.base import Backend, Rows
from service.storage.backends.server import create_server_engine

# SQLSTATE classes that mean the server, not the statement: connection, resources, operator,
# system, retry. 42P01 (undefined table) is not ready, like MySQL's 1146.
_OUTAGE_CLASSES = ("08", "53", "57", "58", "40", "XX", "42P01")
# disk_full and out_of_memory (class 53's others, too_many_connections and
# configuration_limit_exceeded, stay outages).
_CAPACITY = {"53100": "disk_full", "53200": "out_of_memory"}


class PostgreSql(Backend):
    name = "postgresql"
    driver = "asyncpg"
    casts_selected_parameters = True

    def create_engine(self, url: sa.URL, **kwargs: Any) -> AsyncEngine:
        return create_server_engine(url, **kwargs)

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        import asyncpg

        return (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)

    async def fetch(self, driver: Any, sql: str, params: Sequence[Any]) -> Rows:
        rows: Rows = await driver.fetch(sql, *params)
        return rows

    def write_options(self, *, snapshot: bool) -> dict[str, Any]:
        # READ COMMITTED, the default, lets each statement see newer rows.
        return {"isolation_level": "REPEATABLE READ"} if snapshot else {}


POSTGRESQL = PostgreSql()


def sqlstate(error: object) -> str | None:
    """The SQLSTATE a PostgreSQL driver's error carries (asyncpg's, or psycopg's `pgcode`), or None."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) and len(state) == 5 else None


def is_outage_state(state: str) -> bool:
    return state.startswith(_OUTAGE_CLASSES)


def capacity_condition(state: str) -> str | None:
    return _CAPACITY.get(state)

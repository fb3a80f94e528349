"""PostgreSQL on asyncpg."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage.backends.base import Backend, Rows
from service.storage.backends.server import create_server_engine


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

"""MariaDB/MySQL on asyncmy: Open Dental's own database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage.backends.base import Backend, Rows
from service.storage.backends.server import create_server_engine

# Storage engines with transactions; any other (MyISAM, Aria, MEMORY, CSV, ...) commits
# each statement on its own.
_TRANSACTIONAL_ENGINES = frozenset(("innodb", "xtradb", "ndbcluster", "ndb", "tokudb", "rocksdb"))


class MySql(Backend):
    name = "mysql"
    driver = "asyncmy"

    def create_engine(self, url: sa.URL, **kwargs: Any) -> AsyncEngine:
        """The server engine (`service.storage.backends.server`), its connections in
        autocommit, and utf8mb4 unless the URL names a charset.

        A transaction begins with an explicit START TRANSACTION: a read outside a
        transaction sees the latest commit and leaves nothing open behind it (without
        autocommit its SELECT would open a transaction, whose snapshot the next read on
        the connection would see, unless rolled back on return). Inside a transaction
        InnoDB's REPEATABLE READ holds as before.
        """
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        kwargs["connect_args"] = {"autocommit": True, **kwargs.get("connect_args", {})}
        engine = create_server_engine(url, **kwargs)

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("START TRANSACTION")

        return engine

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        from asyncmy import errors

        return (errors.MySQLError,)

    async def fetch(self, driver: Any, sql: str, params: Sequence[Any]) -> Rows:
        async with driver.cursor() as cursor:
            await cursor.execute(sql, params)
            rows: Rows = await cursor.fetchall()
        return rows

    async def sheets_are_transactional(self, engine: AsyncEngine, tables: tuple[str, ...]) -> bool:
        """Open Dental's own databases are often MyISAM."""
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT ENGINE FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN :names"
                ).bindparams(sa.bindparam("names", expanding=True)),
                {"names": list(tables)},
            )
            return all((name or "").lower() in _TRANSACTIONAL_ENGINES for (name,) in rows)


MYSQL = MySql()

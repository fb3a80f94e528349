"""MariaDB/MySQL on asyncmy: Open Dental's own database."""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage.backends.base import Backend, Rows
from service.storage.backends.server import create_server_engine

# Server errors that mean the server or the connection, not the statement.
_OUTAGE = frozenset(
    {1040, 1044, 1045, 1049, 1053, 1077, 1078, 1079, 1080, 1152, 1153, 1154, 1155, 1156, 1157, 1158}
    | {1159, 1160, 1161, 1184, 1205, 1213, 1290, 1317, 1836, 1927, 4031}
    # A table that is not there: the database is not set up (`sheets init-db`): not ready, not a refusal.
    | {1146}
)
# The table is full (InnoDB cannot extend its tablespace), disk full, out of memory, out of
# sort memory, out of resources (`service.storage.errors.Capacity.condition`).
_CAPACITY = {
    1114: "disk_full",
    1021: "disk_full",
    1037: "out_of_memory",
    1038: "out_of_memory",
    1041: "out_of_memory",
}
# Errors that carry the operating system's errno in their text ("Got error 28
# "No space left on device" from storage engine", "Error writing file '…' (Errcode: 28 …)").
_OS_ERROR = frozenset({3, 1005, 1006, 1025, 1026, 1030, 1180, 1878})
_NO_SPACE = re.compile(
    r"no space left on device|disk quota exceeded"
    rf"|(?:error|errno|errcode):?\s*(?:{errno.ENOSPC}|{errno.EDQUOT})\b",
    re.I,
)
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


def error_code(error: object) -> int | None:
    """The server's error number a MySQL driver's error carries first (its SQLSTATE, mostly
    HY000, says less); None for any other error."""
    args = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_outage_code(code: int) -> bool:
    """Whether the error number means the server or the connection (client errors are 2000 up)."""
    return code >= 2000 or code in _OUTAGE


def capacity_condition(code: int, error: BaseException) -> str | None:
    """The capacity fault the error number (and its text, for an OS error) reports, or None."""
    if code in _OS_ERROR:
        args: tuple[Any, ...] = getattr(error, "args", ())
        return "disk_full" if _NO_SPACE.search(str(args[1] if len(args) > 1 else error)) else None
    return _CAPACITY.get(code)

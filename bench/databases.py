"""MariaDB and PostgreSQL: a uniquely named database on a shared server,
created for one measurement and dropped after it; on MariaDB also one whose
tables are Open Dental's own (its DDL, as a real Open Dental database has them)."""

from __future__ import annotations

import asyncio
import os
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from service.storage import db

OPEN_DENTAL_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "opendental" / "schema-sheets.xml"


@dataclass(frozen=True)
class Database:
    name: str
    product: str
    variables: tuple[str, ...]
    # The service's tables created by Open Dental's own DDL before the service starts.
    open_dental_tables: bool = False

    def admin_url(self) -> str:
        return next((os.environ[v] for v in self.variables if os.environ.get(v)), "")


_MYSQL = ("SHEETS_BENCH_MYSQL_URL", "SHEETS_TEST_MYSQL_URL")
DATABASES = (
    Database("mariadb", "MariaDB", _MYSQL),
    Database("mariadb-od", "MariaDB", _MYSQL, open_dental_tables=True),
    Database("postgresql", "PostgreSQL", ("SHEETS_BENCH_POSTGRES_URL", "SHEETS_TEST_POSTGRES_URL")),
)


def open_dental_ddl(schema: Path = OPEN_DENTAL_SCHEMA) -> list[str]:
    """CREATE TABLE statements for Open Dental's sheet tables as its MariaDB
    databases have them: the schema's column types verbatim, every column NOT
    NULL without a default, InnoDB, the key AUTO_INCREMENT, and an index on
    every foreign key column (Open Dental indexes each: `INDEX(PatNum)`, ...)."""
    statements = []
    for table in ET.parse(schema).getroot():  # noqa: S314 - Open Dental's own schema file
        columns = table.findall("column")
        lines = [
            f"`{c.get('name')}` {c.get('type')} NOT NULL{' AUTO_INCREMENT' if n == 0 else ''}"
            for n, c in enumerate(columns)
        ]
        lines.append(f"PRIMARY KEY (`{columns[0].get('name')}`)")
        lines += [f"INDEX (`{c.get('name')}`)" for c in columns if c.get("fk")]
        statements.append(
            f"CREATE TABLE `{table.get('name')}` (\n  "
            + ",\n  ".join(lines)
            + "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )
    return statements


async def _admin(url: str, statement: str) -> str:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
            version = (await conn.execute(sa.text("SELECT version()"))).scalar_one()
    finally:
        await engine.dispose()
    # "PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64...", "10.11.19-MariaDB-0+deb12u1"
    return str(version).removeprefix("PostgreSQL ").split()[0].split("-")[0]


async def _create_open_dental_tables(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in open_dental_ddl():
                await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@contextmanager
def scratch_database(database: Database) -> Iterator[tuple[str, str]]:
    """The URL of a new database on `database`'s server (empty, or with Open
    Dental's tables), and the server's version."""
    admin = database.admin_url()
    name = f"sheets_bench_{os.getpid()}_{secrets.token_hex(4)}"
    version = asyncio.run(_admin(admin, f"CREATE DATABASE {name}"))
    try:
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        if database.open_dental_tables:
            asyncio.run(_create_open_dental_tables(url))
        yield url, version
    finally:
        asyncio.run(_admin(admin, f"DROP DATABASE IF EXISTS {name}"))

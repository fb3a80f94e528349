"""MariaDB and PostgreSQL for P1-P4: a uniquely named database on a shared
server, created for one measurement and dropped after it."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@dataclass(frozen=True)
class Database:
    name: str
    product: str
    variables: tuple[str, ...]

    def admin_url(self) -> str:
        return next((os.environ[v] for v in self.variables if os.environ.get(v)), "")


DATABASES = (
    Database("mariadb", "MariaDB", ("SHEETS_BENCH_MYSQL_URL", "SHEETS_TEST_MYSQL_URL")),
    Database("postgresql", "PostgreSQL", ("SHEETS_BENCH_POSTGRES_URL", "SHEETS_TEST_POSTGRES_URL")),
)


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


@contextmanager
def scratch_database(database: Database) -> Iterator[tuple[str, str]]:
    """The URL of a new, empty database on `database`'s server, and the server's version."""
    admin = database.admin_url()
    name = f"sheets_bench_{os.getpid()}_{secrets.token_hex(4)}"
    version = asyncio.run(_admin(admin, f"CREATE DATABASE {name}"))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False), version
    finally:
        asyncio.run(_admin(admin, f"DROP DATABASE IF EXISTS {name}"))

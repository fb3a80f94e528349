"""Databases for tests: a scratch database on the MariaDB or PostgreSQL server named by
`SHEETS_TEST_MYSQL_URL` / `SHEETS_TEST_POSTGRES_URL`, and counting rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.requires import unavailable

SERVER_ENV = {"mysql": "SHEETS_TEST_MYSQL_URL", "postgres": "SHEETS_TEST_POSTGRES_URL"}


def _server_url(kind: str) -> str:
    url = os.environ.get(SERVER_ENV[kind])
    if not url:
        unavailable(f"{SERVER_ENV[kind]} is not set: no {kind} server to test against")
    return url


async def _create_database(base_url: str) -> str:
    """A new empty database on the server at base_url; returns its URL."""
    url = make_url(base_url)
    name = f"sheets_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_database(base_url: str, test_url: str) -> None:
    name = make_url(test_url).database
    admin = create_async_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
    finally:
        await admin.dispose()


@asynccontextmanager
async def scratch_database(kind: str) -> AsyncIterator[str]:
    """The URL of a new empty database on the `kind` server ("mysql", "postgres"), dropped afterwards."""
    base = _server_url(kind)
    url = await _create_database(base)
    try:
        yield url
    finally:
        await _drop_database(base, url)


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())

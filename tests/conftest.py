"""Factory fixtures: a fresh database on each engine, and the shared test data."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.render.pool import PdfRenderer
from service.storage import db
from tests._requires import OPEN_DENTAL, SHEETDEF_FILES, require_open_dental_files, unavailable
from tests._sftp_servers import Peer, SshdFactory, SshdUnavailable, asyncssh_peer, sshd_problem
from tests._stack import Rest, Stack, running_stack

# Kept under their old names for the tests that import them from here.
SHARED = OPEN_DENTAL
__all__ = ["SHARED", "SHEETDEF_FILES", "count"]
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


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (no tables) on SQLite, MariaDB or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
        return
    async with scratch_database(request.param) as url:
        yield url


@pytest.fixture
async def bare_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database."""
    engine = db.create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(bare_engine: AsyncEngine) -> AsyncEngine:
    """An engine on a database with our tables."""
    await db.init_db(bare_engine)
    return bare_engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


@pytest.fixture(scope="session")
def renderer() -> Iterator[PdfRenderer]:
    """One PDF process pool for the whole run: workers are slow to start."""
    pool = PdfRenderer(workers=2)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
async def stack(tmp_path: Path, renderer: PdfRenderer) -> AsyncIterator[Stack]:
    """The service on SQLite with demo data, auth on, gRPC and both gateways."""
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}", tmp_path, renderer) as running:
        yield running


@pytest.fixture(params=["in-process", "remote"])
async def rest(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[Rest]:
    """A REST client on each gateway mode: every REST test runs against both."""
    async with aiohttp.ClientSession() as session:
        yield Rest(session, stack.rest_urls[request.param])


@pytest.fixture(autouse=True)
def _open_dental_files(request: pytest.FixtureRequest) -> None:
    """A test marked `open_dental_files` reads ../shared/opendental: it skips (or fails in CI) without it."""
    if request.node.get_closest_marker("open_dental_files"):
        require_open_dental_files()


@pytest.fixture(scope="session")
def sshd_factory() -> SshdFactory:
    problem = sshd_problem()
    if problem:
        unavailable(problem)
    factory = SshdFactory()
    try:
        with factory.peer():
            pass
    except SshdUnavailable as exc:
        unavailable(f"sshd cannot run here: {exc}")
    return factory


@pytest.fixture(params=["asyncssh", "openssh"])
async def peer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Peer]:
    """A running SFTP server of each kind, with an empty login folder."""
    if request.param == "asyncssh":
        async with asyncssh_peer(tmp_path / "sftp-root") as started:
            yield started
        return
    factory: SshdFactory = request.getfixturevalue("sshd_factory")
    manager = factory.peer()
    sshd = await asyncio.to_thread(manager.__enter__)
    try:
        yield sshd
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)

"""Factory fixtures: a fresh database on each engine, and the shared test data."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from service.render.pool import PdfRenderer
from service.storage import db
from tests.support.databases import scratch_database
from tests.support.requires import require_open_dental_files, unavailable
from tests.support.sftp_servers import Peer, SshdFactory, SshdUnavailable, asyncssh_peer, sshd_problem
from tests.support.stack import Rest, Stack, running_stack


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
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs the command in process (`sheets config`) sets logging up as the command
    does; the tests after it get the process's logging back, whatever order they run in."""
    configured, config = structlog.is_configured(), structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    if configured:
        structlog.configure(**config)
    else:
        structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Settings()` in a test reads what the test sets, never the developer's own `SHEETS_*`
    (the `SHEETS_TEST_*` variables, which name the test's database servers, stay)."""
    for name in list(os.environ):
        if name.startswith("SHEETS_") and not name.startswith("SHEETS_TEST_"):
            monkeypatch.delenv(name)


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

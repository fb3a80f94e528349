"""Write transactions on SQLite's one-call path: a caller that stops waiting leaves nothing behind."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from service.storage import db
from service.storage.sessions import Session, SqliteSession, run_transaction


async def test_a_transaction_whose_caller_is_cancelled_before_the_commit_writes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sheets.db"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (x INTEGER)")
    started, release = threading.Event(), threading.Event()

    async def work(session: Session) -> None:
        assert isinstance(session, SqliteSession)  # the one-call path under test
        await session.run("INSERT INTO t VALUES (1)", [])
        started.set()
        release.wait(10)  # on the driver's thread: the caller is cancelled meanwhile

    try:
        task = asyncio.ensure_future(run_transaction(engine, work))
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        await asyncio.sleep(0.2)  # the driver's thread finishes the call it had begun
    finally:
        release.set()
        await engine.dispose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM t").fetchone() == (0,)

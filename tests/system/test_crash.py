"""A process killed (SIGKILL) in the middle of creating a sheet never leaves a
visible half sheet: the transaction holds on InnoDB, PostgreSQL and SQLite; on
MyISAM the sheet was still hidden when the process died."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import seed_demo
from service.config.settings import Settings
from service.filling.create import create_sheet
from service.storage import db, models
from sheets.practice import practice_from
from tests.support import ROOT
from tests.support.create_and_stall import MARKER
from tests.support.databases import scratch_database

# The demo Medical History: the definition with the most fields.
SHEET_DEF, PATIENT = 4, 1


async def _counts(engine: AsyncEngine) -> tuple[int, int, int]:
    """(all sheets, visible sheets, fields of visible sheets)."""
    sheet, field = models.SHEET.c, models.SHEETFIELD.c
    async with engine.connect() as conn:
        every = (await conn.execute(sa.select(sa.func.count()).select_from(models.SHEET))).scalar_one()
        visible = (await conn.execute(sa.select(sa.func.count()).where(sheet.IsDeleted == 0))).scalar_one()
        fields = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(models.SHEETFIELD.join(models.SHEET, sheet.SheetNum == field.SheetNum))
                .where(sheet.IsDeleted == 0)
            )
        ).scalar_one()
    return int(every), int(visible), int(fields)


async def _kill_mid_create(url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.create_and_stall",
        url,
        str(SHEET_DEF),
        str(PATIENT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert process.stdout
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line.decode().strip() == MARKER, line + (
            await process.stderr.read() if process.stderr else b""
        )
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL


async def _prove_no_half_sheet(url: str, *, transactional: bool) -> None:
    engine = db.create_engine(url)
    try:
        before = await _counts(engine)
        await _kill_mid_create(url)
        # A new connection: the dead process's session is gone (its transaction with it).
        await engine.dispose()
        every, visible, fields = await _counts(engine)
        assert (visible, fields) == before[1:], "a sheet the killed process started is visible"
        # With a transaction nothing of it is left; on MyISAM a hidden row may be.
        assert every == before[0] if transactional else every in (before[0], before[0] + 1)
        # The service goes on: the next create is whole and visible.
        practice = practice_from(Settings(database_url=url))
        await create_sheet(
            engine, sheet_def_num=SHEET_DEF, pat_num=PATIENT, internal_note="", practice=practice
        )
        after = await _counts(engine)
        assert after[1] == before[1] + 1
        assert after[2] > before[2]
    finally:
        await engine.dispose()


async def _seeded(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.init_db(engine)
        await seed_demo(engine)
    finally:
        await engine.dispose()


async def test_a_kill_mid_create_leaves_no_sheet_where_there_are_transactions(
    database_url: str,
) -> None:
    await _seeded(database_url)
    await _prove_no_half_sheet(database_url, transactional=True)


@pytest.fixture
async def myisam_url() -> AsyncIterator[str]:
    """A MariaDB database whose sheet tables are MyISAM, as Open Dental's often are."""
    async with scratch_database("mysql") as url:
        await _seeded(url)
        engine = db.create_engine(url)
        try:
            async with engine.begin() as conn:
                for table in (models.SHEET.name, models.SHEETFIELD.name):
                    await conn.exec_driver_sql(f"ALTER TABLE {table} ENGINE=MyISAM")
        finally:
            await engine.dispose()
        yield url


async def test_a_kill_mid_create_on_myisam_leaves_only_a_hidden_sheet(myisam_url: str) -> None:
    engine = db.create_engine(myisam_url)
    try:
        async with engine.connect() as conn:
            engines = await conn.exec_driver_sql(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME IN ('sheet', 'sheetfield')"
            )
            assert {row[0] for row in engines} == {"MyISAM"}
    finally:
        await engine.dispose()
    await _prove_no_half_sheet(myisam_url, transactional=False)

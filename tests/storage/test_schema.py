"""Schema drift: a database in Open Dental's DDL style, with columns the models do not know.

Open Dental's MariaDB: MyISAM, every column NOT NULL without a default, strict mode. A newer Open Dental
adds a column: an insert naming only our columns is refused (1364); the service must still create sheets,
and a refusal that is not an outage must say which column, not that the database is unavailable.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import seed_demo
from service.contract.errors import Internal, InvalidArgument, Unavailable
from service.filling.create import create_sheet
from service.filling.field_values import GivenValue
from service.render.pool import PdfRenderer
from service.storage import db, fill_tables, models
from service.storage.errors import is_outage, translate
from tests.filling.test_create import _create, _def_num, _pat_num
from tests.filling.test_fill import PRACTICE
from tests.filling.test_fill_db import check_pre_filled_medical_history
from tests.support.databases import scratch_database
from tests.support.stack import Rest, running_stack

STRICT = "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
# Columns a newer Open Dental added, NOT NULL without a default, one of each kind.
NEW_COLUMNS = {
    "AddedInt": "INT NOT NULL",
    "AddedText": "VARCHAR(20) NOT NULL",
    "AddedDate": "DATE NOT NULL",
    "AddedDateTime": "DATETIME NOT NULL",
    "AddedFlag": "TINYINT(4) NOT NULL",
}
NEUTRAL = {
    "AddedInt": 0,
    "AddedText": "",
    "AddedDate": date(1, 1, 1),
    "AddedDateTime": datetime(1, 1, 1),
    "AddedFlag": 0,
}


def _strict(engine: AsyncEngine) -> AsyncEngine:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET SESSION sql_mode='{STRICT}'")
        cursor.close()

    return engine


@pytest.fixture
async def open_dental_mariadb() -> AsyncIterator[AsyncEngine]:
    """A MariaDB database in Open Dental's style, with the demo data and columns we do not model."""
    async with scratch_database("mysql") as url:
        engine = _strict(db.create_engine(url))
        try:
            await db.init_db(engine)
            async with engine.begin() as conn:
                # Open Dental's fill tables too, so its rows fill the demo sheets.
                await conn.run_sync(lambda sync: fill_tables.METADATA.create_all(sync))
                for table in (*db.TABLES, *fill_tables.TABLES):
                    await conn.exec_driver_sql(f"ALTER TABLE {table.name} ENGINE=MyISAM")
                added = ", ".join(f"ADD COLUMN {name} {ddl}" for name, ddl in NEW_COLUMNS.items())
                for name in ("sheet", "sheetfield"):
                    await conn.exec_driver_sql(f"ALTER TABLE {name} {added}")
            await seed_demo(engine)
            yield engine
        finally:
            await engine.dispose()


async def test_the_open_dental_style_database_refuses_an_insert_of_only_our_columns(
    open_dental_mariadb: AsyncEngine,
) -> None:
    # What CreateSheet did before it learnt the columns: MySQL 1364 on every create.
    with pytest.raises(sa.exc.OperationalError, match="1364") as raised:
        async with open_dental_mariadb.begin() as conn:
            await conn.execute(sa.insert(models.SHEET).values(db.row(models.Sheet())))
    assert not is_outage(raised.value)


async def test_sheets_are_created_with_columns_the_models_do_not_know_given_neutral_values(
    open_dental_mariadb: AsyncEngine,
) -> None:
    engine = open_dental_mariadb
    consent = await _def_num(engine, "Demo Consent")
    sheet_num = await _create(engine, consent, await _pat_num(engine, "DEMO-2"))
    async with engine.connect() as conn:
        listing = await conn.exec_driver_sql(
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        engines = {r["TABLE_NAME"]: r["ENGINE"] for r in listing.mappings()}
        wanted = {"n": sheet_num}
        sheet_query = sa.text("SELECT * FROM sheet WHERE SheetNum = :n")
        fields_query = sa.text("SELECT * FROM sheetfield WHERE SheetNum = :n")
        sheet = (await conn.execute(sheet_query, wanted)).mappings().one()
        fields = (await conn.execute(fields_query, wanted)).mappings().all()
    assert {engines["sheet"], engines["sheetfield"]} == {"MyISAM"}
    assert {name: sheet[name] for name in NEW_COLUMNS} == NEUTRAL
    assert fields
    assert all({name: f[name] for name in NEW_COLUMNS} == NEUTRAL for f in fields)


async def test_a_medical_history_is_pre_filled_on_an_open_dental_style_database(
    open_dental_mariadb: AsyncEngine,
) -> None:
    await check_pre_filled_medical_history(open_dental_mariadb)


async def test_values_given_on_create_are_written_and_a_refused_one_leaves_no_hidden_sheet_on_myisam(
    open_dental_mariadb: AsyncEngine,
) -> None:
    engine = open_dental_mariadb
    medical, pat_num = await _def_num(engine, "Demo Medical History"), await _pat_num(engine, "DEMO-2")
    given = [
        GivenValue(name="ICEName", value="Jane Smith", radio_button_value=None),
        GivenValue(name="problem:Asthma", value=None, radio_button_value="Y"),
    ]
    sheet_num = await create_sheet(
        engine, sheet_def_num=medical, pat_num=pat_num, internal_note="", practice=PRACTICE, values=given
    )
    async with engine.connect() as conn:
        fields = sa.text("SELECT FieldName, RadioButtonValue, FieldValue FROM sheetfield WHERE SheetNum = :n")
        values = {(r[0], r[1]): r[2] for r in await conn.execute(fields, {"n": sheet_num})}
        before = (await conn.execute(sa.text("SELECT COUNT(*) FROM sheet"))).scalar_one()
    assert (values[("ICEName", "")], values[("problem:Asthma", "Y")], values[("problem:Asthma", "N")]) == (
        "Jane Smith",
        "X",
        "",
    )
    with pytest.raises(InvalidArgument, match="SheetFields 'Nope'"):
        await create_sheet(
            engine,
            sheet_def_num=medical,
            pat_num=pat_num,
            internal_note="",
            practice=PRACTICE,
            values=[*given, GivenValue(name="Nope", value="x", radio_button_value=None)],
        )
    async with engine.connect() as conn:
        # Hidden rows count too: MyISAM keeps what was written before a failure.
        assert (await conn.execute(sa.text("SELECT COUNT(*) FROM sheet"))).scalar_one() == before


async def test_a_refusal_that_is_not_an_outage_is_internal_and_logs_the_column_not_the_values(
    open_dental_mariadb: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_dental_mariadb
    async with engine.begin() as conn:
        # A column whose neutral value ('') the database refuses: a type refusal, every time.
        await conn.exec_driver_sql("ALTER TABLE sheet ADD COLUMN AddedChoice ENUM('Y','N') NOT NULL")
    consent = await _def_num(engine, "Demo Consent")
    with pytest.raises(sa.exc.SQLAlchemyError) as raised:
        await _create(engine, consent, await _pat_num(engine, "DEMO-2"), note="Secret note for Zoë")
    assert not is_outage(raised.value)
    with caplog.at_level(logging.ERROR, logger="service.db_errors"):
        error = translate("CreateSheet", raised.value)
    assert isinstance(error, Internal)
    assert error.grpc_code == "INTERNAL"
    (record,) = [r for r in caplog.records if r.name == "service.db_errors"]
    assert "column AddedChoice" in record.getMessage()
    assert "Data truncated" in record.getMessage() or "Incorrect" in record.getMessage()
    assert "Secret note" not in record.getMessage()


async def test_on_postgresql_columns_the_models_do_not_know_get_neutral_values(
    bare_engine: AsyncEngine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "PostgreSQL only: MariaDB is tested in Open Dental's style above; SQLite cannot add such a column"
        )
    engine = bare_engine
    await db.init_db(engine)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            'ALTER TABLE sheetfield ADD COLUMN "AddedInt" integer NOT NULL, '
            'ADD COLUMN "AddedText" varchar(20) NOT NULL, ADD COLUMN "AddedDate" date NOT NULL, '
            'ADD COLUMN "AddedStamp" timestamp NOT NULL, ADD COLUMN "AddedFlag" boolean NOT NULL'
        )
    await seed_demo(engine)
    sheet_num = await _create(engine, await _def_num(engine, "Demo Exam"), await _pat_num(engine, "DEMO-1"))
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    'SELECT "AddedInt", "AddedText", "AddedDate", "AddedStamp", "AddedFlag" FROM sheetfield '
                    'WHERE "SheetNum" = :n'
                ),
                {"n": sheet_num},
            )
        ).all()
    assert rows
    assert set(rows) == {(0, "", date(1, 1, 1), datetime(1, 1, 1), False)}


@pytest.mark.parametrize(
    "url", ["mysql+asyncmy://root@127.0.0.1:1/test", "postgresql+asyncpg://postgres@127.0.0.1:1/x"]
)
async def test_a_database_that_cannot_be_reached_is_unavailable(url: str) -> None:
    engine = db.create_engine(url)
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever the driver raises
            await _create(engine, 1, 1)
    finally:
        await engine.dispose()
    assert is_outage(raised.value)
    assert isinstance(translate("CreateSheet", raised.value), Unavailable)


class _DriverError(Exception):
    pass


@pytest.mark.parametrize(
    ("code", "outage"),
    [
        (1364, False),
        (1406, False),
        (1366, False),
        (1054, False),
        (2013, True),
        (2006, True),
        (1040, True),
        (1146, True),
    ],
)
def test_mysql_error_codes_tell_an_outage_from_a_refusal(code: int, outage: bool) -> None:
    exc = sa.exc.OperationalError("INSERT", {}, _DriverError(code, "message"))
    assert is_outage(exc) is outage


class OperationalError(Exception):
    """A driver's own error class, as a prepared read raises it (no SQLAlchemy wrapper)."""


class PostgresConnectionError(Exception):
    sqlstate = "08006"


class UniqueViolationError(Exception):
    sqlstate = "23505"


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (OperationalError(2003, "Can't connect"), True),
        (OperationalError(1364, "Field 'X' doesn't have a default value"), False),
        (PostgresConnectionError("connection lost"), True),
        (UniqueViolationError('duplicate key value violates unique constraint "sheet_pkey"'), False),
        (ConnectionResetError(), True),
    ],
)
def test_drivers_own_errors_tell_an_outage_from_a_refusal(exc: Exception, outage: bool) -> None:
    assert is_outage(exc) is outage
    assert isinstance(translate("ListSheets", exc), Unavailable if outage else Internal)


def test_a_logged_refusal_hides_the_values_in_the_databases_message(caplog: pytest.LogCaptureFixture) -> None:
    exc = sa.exc.DataError(
        "INSERT", {}, _DriverError(1366, "Incorrect integer value: 'Zoë Smith' for column 'X'")
    )
    with caplog.at_level(logging.ERROR, logger="service.db_errors"):
        assert isinstance(translate("CreateSheet", exc), Internal)
    assert "column X" in caplog.text
    assert "Zoë" not in caplog.text


async def test_over_rest_an_unmodelled_column_is_no_outage_and_a_refusal_is_a_500_naming_it(
    tmp_path: Path, renderer: PdfRenderer, caplog: pytest.LogCaptureFixture
) -> None:
    async with scratch_database("mysql") as url:
        setup = db.create_engine(url)
        try:
            await db.init_db(setup)
            async with setup.begin() as conn:
                await conn.exec_driver_sql(
                    "ALTER TABLE sheet ENGINE=MyISAM, ADD COLUMN AddedInt INT NOT NULL"
                )
        finally:
            await setup.dispose()
        async with running_stack(url, tmp_path, renderer) as stack, aiohttp.ClientSession() as session:
            rest = Rest(session, stack.rest_urls["in-process"])
            body = {"SheetDefNum": stack.demo_sheet_defs[0], "PatNum": stack.demo_patients[1]}
            status, sheet, _ = await rest.request("POST", "/api/v1/sheets", json=body)
            assert status == 200, sheet
            # A column added while the service runs (NOT NULL, no default): MySQL 1364 on each create.
            async with stack.engine.begin() as conn:
                await conn.exec_driver_sql("ALTER TABLE sheet ADD COLUMN AddedLater VARCHAR(5) NOT NULL")
            with caplog.at_level(logging.ERROR, logger="service.db_errors"):
                status, answer, _ = await rest.request("POST", "/api/v1/sheets", json=body)
            # The refusal made the service look at the columns again: the next create knows the new one.
            assert (await rest.request("POST", "/api/v1/sheets", json=body))[0] == 200
    assert status == 500
    assert answer == "The database refused the request. The service's log names the column."
    assert "column AddedLater" in caplog.text
    assert "doesn't have a default value" in caplog.text

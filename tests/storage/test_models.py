"""Storage: Open Dental's five tables on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import builtin_sheetdefs, seed_demo
from service.admin.sheetdef_xml import insert_sheetdef, parse_sheetdef
from service.storage import db, fill_tables, models
from service.storage.db import TABLES
from tests.support.databases import count
from tests.support.requires import OPEN_DENTAL, SHEETDEF_FILES, open_dental_files


def _schema() -> dict[str, list[tuple[str, str]]]:
    root = ET.parse(OPEN_DENTAL / "schema-sheets.xml").getroot()
    return {
        t.get("name", ""): [(c.get("name", ""), c.get("type", "")) for c in t.findall("column")] for t in root
    }


def _sample(column: sa.Column[Any], n: int) -> Any:
    """A value for a column that differs from its default and exercises its type."""
    if isinstance(column.type, models._TinyBool):
        return True
    kind = getattr(column.type, "impl_instance", column.type)
    python = kind.python_type if not isinstance(kind, sa.Date) else date
    if isinstance(kind, sa.DateTime) or column.name == "DateTStamp":
        return datetime(2024, 2, 29, 13, 45, n % 60)
    if isinstance(kind, sa.Date):
        return date(1999, 12, 31)
    if isinstance(kind, sa.Time):
        return time(8, 30)
    if python is float:
        return 10.5 + n
    if python is bool:
        return True
    if python is int:
        if column.type.compile(dialect=sa.create_engine("sqlite://").dialect) == "SMALLINT":
            return 3
        return (
            -16777216 if column.name == "ItemColor" else 9_000_000_000 + n if "Num" in column.name else n + 7
        )
    text = f"Zoë 李 #{n} {column.name}"
    length = getattr(kind, "length", None)
    return text[:length] if length else text * 3


@open_dental_files
def test_tables_have_every_column_of_open_dentals_schema() -> None:
    schema = _schema()
    for table in TABLES:
        assert [c.name for c in table.columns] == [name for name, _ in schema[table.name]], table.name


def test_every_column_is_not_null_without_a_server_default() -> None:
    for table in TABLES:
        for column in table.columns:
            assert not column.nullable, f"{table.name}.{column.name}"
            assert column.server_default is None, f"{table.name}.{column.name}"


async def test_every_table_round_trips_every_column(engine: AsyncEngine) -> None:
    for table in TABLES:
        values = {c.name: _sample(c, n) for n, c in enumerate(table.columns) if not c.primary_key}
        async with db.write_transaction(engine) as conn:
            inserted = await conn.execute(sa.insert(table).values(values))
            key = inserted.inserted_primary_key[0]  # type: ignore[index]
        async with engine.connect() as conn:
            stored = (await conn.execute(sa.select(table).where(table.primary_key.columns[0] == key))).one()
        assert {k: v for k, v in stored._mapping.items() if k in values} == values, table.name


async def test_unset_dates_are_open_dentals_year_one(engine: AsyncEngine) -> None:
    sheet = models.Sheet(PatNum=1, Description="x")
    async with db.write_transaction(engine) as conn:
        await conn.execute(sa.insert(models.SHEET).values(db.row(sheet)))
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(models.SHEET))).one()
    assert stored.DateTimeSheet == datetime(1, 1, 1)
    assert stored.IsDeleted is False


def _fill_tables_on(engine: AsyncEngine) -> list[str]:
    # Open Dental's tables a sheet is filled from: made, empty, on the embedded database only.
    return [t.name for t in fill_tables.TABLES] if engine.dialect.name == "sqlite" else []


async def test_init_db_twice_creates_nothing_the_second_time(bare_engine: AsyncEngine) -> None:
    ours = ["patient", "sheetdef", "sheetfielddef", "sheet", "sheetfield", "sheets_subscription"]
    assert await db.init_db(bare_engine) == [*ours, *_fill_tables_on(bare_engine)]
    await seed_demo(bare_engine)
    patients = await count(bare_engine, models.PATIENT)
    assert await db.init_db(bare_engine) == []
    assert await count(bare_engine, models.PATIENT) == patients


async def test_init_db_creates_only_missing_tables(bare_engine: AsyncEngine) -> None:
    async with bare_engine.begin() as conn:
        await conn.run_sync(lambda sync: models.Sheet.metadata.create_all(sync, tables=[models.PATIENT]))
    created = await db.init_db(bare_engine)
    assert created == [
        "sheetdef",
        "sheetfielddef",
        "sheet",
        "sheetfield",
        "sheets_subscription",
        *_fill_tables_on(bare_engine),
    ]


def _open_dental_ddl(dialect: str) -> list[str]:
    """CREATE TABLE statements as Open Dental writes them: its column types
    verbatim, every column NOT NULL without a default, MyISAM on MariaDB, and
    a column we do not model."""
    statements = []
    for table, columns in _schema().items():
        lines = []
        for n, (name, kind) in enumerate(columns):
            if dialect != "mysql":
                kind = {
                    "tinyint": "smallint",
                    "double": "double precision",
                    "datetime": "timestamp",
                    "text": "text",
                }.get(kind.split("(")[0], kind)
                kind = (
                    "bigint" if kind.startswith("bigint") else "integer" if kind.startswith("int(") else kind
                )
                kind = "smallint" if kind.startswith("tinyint") else kind
            key = (
                (" AUTO_INCREMENT" if dialect == "mysql" else " GENERATED BY DEFAULT AS IDENTITY")
                if n == 0
                else ""
            )
            lines.append(
                f'"{name}" {kind} NOT NULL{key}' if dialect != "mysql" else f"`{name}` {kind} NOT NULL{key}"
            )
        lines.append(
            f'PRIMARY KEY ("{columns[0][0]}")' if dialect != "mysql" else f"PRIMARY KEY (`{columns[0][0]}`)"
        )
        extra = (
            "`SomeNewerColumn` varchar(255) NULL"
            if dialect == "mysql"
            else '"SomeNewerColumn" varchar(255) NULL'
        )
        lines.append(extra)
        engine = " ENGINE=MyISAM DEFAULT CHARSET=utf8mb4" if dialect == "mysql" else ""
        statements.append(f"CREATE TABLE {table} (\n  " + ",\n  ".join(lines) + f"\n){engine}")
    return statements


@open_dental_files
async def test_tables_created_by_open_dentals_ddl_accept_our_writes(bare_engine: AsyncEngine) -> None:
    dialect = bare_engine.dialect.name
    if dialect == "sqlite":
        pytest.skip(
            "Open Dental runs on MySQL/MariaDB; our own SQLite DDL is already NOT NULL without defaults"
        )
    async with bare_engine.begin() as conn:
        if dialect == "mysql":
            await conn.exec_driver_sql("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        for statement in _open_dental_ddl(dialect):
            await conn.exec_driver_sql(statement)
    # On Open Dental's database, the one table the service adds: its own event subscriptions.
    assert await db.init_db(bare_engine) == ["sheets_subscription"]
    if dialect == "mysql":
        async with bare_engine.connect() as conn:
            # Open Dental's tables as its DDL made them; the service's own table is the server's default.
            engines = await conn.exec_driver_sql(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME <> 'sheets_subscription'"
            )
            assert set(engines.scalars()) == {"MyISAM"}
    result = await seed_demo(bare_engine)
    assert len(result.patients) == 5
    sheet_def, field_defs = parse_sheetdef(SHEETDEF_FILES[0])
    async with db.write_transaction(bare_engine) as conn:
        await insert_sheetdef(conn, sheet_def, field_defs)
    async with db.write_transaction(bare_engine) as conn:
        await conn.execute(sa.insert(models.SHEET).values(db.row(models.Sheet(PatNum=1))))
        await conn.execute(sa.insert(models.SHEETFIELD).values(db.row(models.SheetField(SheetNum=1))))
    builtin = sum(len(fields) for _, fields in builtin_sheetdefs())
    assert await count(bare_engine, models.SHEETFIELDDEF) == len(field_defs) + builtin
    assert await count(bare_engine, models.SHEETFIELD) == 1


async def test_mysql_zero_dates_read_as_open_dentals_year_one(engine: AsyncEngine) -> None:
    if engine.dialect.name != "mysql":
        pytest.skip("zero dates exist only in MySQL/MariaDB (Open Dental runs them without strict mode)")
    async with db.write_transaction(engine) as conn:
        await conn.exec_driver_sql("SET SESSION sql_mode = ''")
        await conn.execute(sa.insert(models.PATIENT).values(db.row(models.Patient(LName="Zero"))))
        await conn.execute(sa.insert(models.SHEET).values(db.row(models.Sheet(PatNum=1))))
        await conn.exec_driver_sql("UPDATE patient SET Birthdate = '0000-00-00'")
        await conn.exec_driver_sql("UPDATE sheet SET DateTimeSheet = '0000-00-00 00:00:00'")
    async with engine.connect() as conn:
        patient = (await conn.execute(sa.select(models.PATIENT))).one()
        sheet = (await conn.execute(sa.select(models.SHEET))).one()
    assert patient.Birthdate == models.NO_DATE
    assert sheet.DateTimeSheet == models.NO_DATETIME


async def test_the_keys_lists_filter_by_are_indexed(bare_engine: AsyncEngine) -> None:
    await db.init_db(bare_engine)
    async with bare_engine.connect() as conn:
        indexed = await conn.run_sync(
            lambda sync: {
                (table, tuple(index["column_names"]))
                for table in ("sheet", "sheetfield", "sheetfielddef")
                for index in sa.inspect(sync).get_indexes(table)
            }
        )
    assert {
        ("sheet", ("PatNum",)),
        ("sheetfield", ("SheetNum",)),
        ("sheetfielddef", ("SheetDefNum",)),
    } <= indexed

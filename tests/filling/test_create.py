"""Creating a sheet from a definition, on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import demo_patients, seed_demo
from service.admin.sheetdef_xml import insert_sheetdef, parse_sheetdef
from service.api.store import SheetStore
from service.contract.errors import Internal, InvalidArgument, NotFound, Unavailable
from service.filling.create import FIELD_COPIED, SHEET_COPIED, create_sheet, for_language
from service.storage import db, models, sessions
from service.storage.db import row, write_transaction
from service.storage.models import NO_DATETIME, Patient, SheetDef, SheetFieldDef
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_fill import NOW, PRACTICE
from tests.support.databases import count
from tests.support.requires import SHEETDEF_FILES, open_dental_files

# What the demo patient Robert 'Bob' J Smith (DEMO-2) fills in, written out by hand, per sheet type.
# Only demo rows of the patient table exist on MariaDB/PostgreSQL (no fill tables there).
SMITH_TOKENS = {"[nameFL]": "Robert 'Bob' J Smith", "[dateToday]": "11/29/2026"}
_PRACTICE_NAMES = {
    "PracticeTitle": "Springfield Dental",
    "PracticeAddress": "100 Main Street\r\nSuite 200",
    "practiceCityStateZip": "Springfield, OR  97477",
}
_FORM_NAMES = {
    "FName": "Robert",
    "LName": "Smith",
    "MiddleI": "J",
    "Preferred": "Bob",
    "Birthdate": "11/02/1961",
    "Address": "400 Oak Avenue",
    "Address2": "Suite 5",
    "City": "Springfield",
    "State": "OR",
    "Zip": "97477",
    "HmPhone": "(541) 555-0142",
    "WkPhone": "(541) 555-0199",
    "WirelessPhone": "(541) 555-0188",
    "Email": "",
    "SSN": "",
    "ICEName": "",
    "ICEPhone": "",
    "wirelessCarrier": "",
}
SMITH_NAMES: dict[int, dict[str, str]] = {
    SheetType.Consent: {"patient.nameFL": "Robert 'Bob' J Smith", "dateTime.Today": "11/29/2026"},
    SheetType.PatientLetter: _PRACTICE_NAMES
    | {
        "patient.nameFL": "Dr. Robert J Smith",
        "patient.address": "400 Oak Avenue\r\nSuite 5",
        "patient.cityStateZip": "Springfield, OR 97477",
        "patient.salutation": "Dear Dr. Smith:",
        "today.DayDate": "Sunday, 11/29/2026",
    },
    SheetType.PatientForm: _FORM_NAMES,
    SheetType.MedicalHistory: {
        k: _FORM_NAMES[k] for k in ("FName", "LName", "Birthdate", "ICEName", "ICEPhone")
    },
    SheetType.ExamSheet: {k: _FORM_NAMES[k] for k in ("FName", "LName", "MiddleI", "Preferred", "Birthdate")}
    | {"sheet.DateTimeSheet": "11/29/2026 3:24:05 PM"},
}
SMITH_CHECKED: dict[int, set[tuple[str, str]]] = {
    SheetType.PatientForm: {("Gender", "Male"), ("Position", "Single"), ("PreferConfirmMethod", "None")}
    | {("PreferContactMethod", "None"), ("PreferRecallMethod", "None")},
    SheetType.ExamSheet: {("Gender", "Male")},
}
TABLES = (models.SHEET, models.SHEETFIELD)


async def _rows(engine: AsyncEngine, query: sa.Select[Any]) -> Sequence[RowMapping]:
    async with engine.connect() as conn:
        rows: Sequence[RowMapping] = (await conn.execute(query)).mappings().all()
    return rows


async def _pat_num(engine: AsyncEngine, chart_number: str) -> int:
    patient = models.PATIENT.c
    rows = await _rows(engine, sa.select(patient.PatNum).where(patient.ChartNumber == chart_number))
    return int(rows[0]["PatNum"])


async def _def_num(engine: AsyncEngine, description: str) -> int:
    sheet_def = models.SHEETDEF.c
    rows = await _rows(engine, sa.select(sheet_def.SheetDefNum).where(sheet_def.Description == description))
    return int(rows[0]["SheetDefNum"])


async def _add_def(engine: AsyncEngine, sheet_def: SheetDef, field_defs: list[SheetFieldDef]) -> int:
    async with write_transaction(engine) as conn:
        return await insert_sheetdef(conn, sheet_def, field_defs)


async def _add_patient(engine: AsyncEngine, patient: Patient) -> int:
    async with write_transaction(engine) as conn:
        result = await conn.execute(sa.insert(models.PATIENT).values(row(patient)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


async def _fields(engine: AsyncEngine, sheet_num: int) -> Sequence[RowMapping]:
    field = models.SHEETFIELD
    return await _rows(
        engine, sa.select(field).where(field.c.SheetNum == sheet_num).order_by(field.c.SheetFieldNum)
    )


async def _count_field_defs(engine: AsyncEngine, sheet_def_num: int, language: str) -> int:
    field_def = models.SHEETFIELDDEF.c
    query = sa.select(sa.func.count()).where(
        field_def.SheetDefNum == sheet_def_num, field_def.Language == language
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def _nothing_written(engine: AsyncEngine) -> bool:
    return [await count(engine, table) for table in TABLES] == [0, 0]


def _create(
    engine: AsyncEngine, sheet_def_num: int, pat_num: int, note: str = ""
) -> Coroutine[Any, Any, int]:
    return create_sheet(
        engine, sheet_def_num=sheet_def_num, pat_num=pat_num, internal_note=note, practice=PRACTICE, now=NOW
    )


def _expected_value(field_def: RowMapping, sheet_type: int) -> str:
    """What Smith's sheet shows in a field, from the literals above."""
    kind, name, value = field_def["FieldType"], field_def["FieldName"], field_def["FieldValue"]
    if kind == SheetFieldType.StaticText:
        for token, filled in SMITH_TOKENS.items():
            value = value.replace(token, filled)
        return str(value)
    if kind == SheetFieldType.CheckBox and field_def["RadioButtonValue"]:
        checked = (name, field_def["RadioButtonValue"]) in SMITH_CHECKED.get(sheet_type, set())
        return "X" if checked else str(value)
    if name == "addressAndHmPhoneIsSameEntireFamily" and sheet_type == SheetType.PatientForm:
        return "X"  # Smith is his own family.
    return str(SMITH_NAMES[sheet_type].get(name, value))


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    """The engine (each of SQLite, MariaDB, PostgreSQL) with the demo patients and definitions."""
    await seed_demo(engine)
    return engine


@pytest.fixture
async def seeded_sqlite(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    """SQLite with the demo data, for what does not depend on the database engine."""
    engine = db.create_engine(sqlite_url)
    try:
        await db.init_db(engine)
        await seed_demo(engine)
        yield engine
    finally:
        await engine.dispose()


async def _check_sheet_from_file(engine: AsyncEngine, path: Path, pat_num: int) -> None:
    sheet_def_num = await _add_def(engine, *parse_sheetdef(path))

    sheet_num = await _create(engine, sheet_def_num, pat_num, note="Front desk")

    sheet_def, sheet_table = models.SHEETDEF, models.SHEET
    (definition,) = await _rows(engine, sa.select(sheet_def).where(sheet_def.c.SheetDefNum == sheet_def_num))
    (sheet,) = await _rows(engine, sa.select(sheet_table).where(sheet_table.c.SheetNum == sheet_num))
    assert {c: sheet[c] for c in SHEET_COPIED} == {c: definition[c] for c in SHEET_COPIED}, path.name
    assert dict(sheet) == dict(sheet) | {
        "SheetDefNum": sheet_def_num,
        "PatNum": pat_num,
        "ClinicNum": 0,
        "InternalNote": "Front desk",
        "DateTimeSheet": NOW,
        "DateTSheetEdited": NOW,
        "IsDeleted": False,
        "IsWebForm": False,
        "DocNum": 0,
        "ShowInTerminal": 0,
        "WebFormSheetID": 0,
    }, path.name
    field_def = models.SHEETFIELDDEF
    field_defs = await _rows(
        engine,
        sa.select(field_def)
        .where(field_def.c.SheetDefNum == sheet_def_num)
        .order_by(field_def.c.SheetFieldDefNum),
    )
    fields = await _fields(engine, sheet_num)
    assert len(fields) == len(field_defs) == len(parse_sheetdef(path)[1]), path.name
    copied = [c for c in FIELD_COPIED if c != "FieldValue"]
    filled = 0
    for field, definition_field in zip(fields, field_defs, strict=True):
        where = (path.name, definition_field["SheetFieldDefNum"])
        assert {c: field[c] for c in copied} == {c: definition_field[c] for c in copied}, where
        assert field["FieldValue"] == _expected_value(definition_field, definition["SheetType"]), where
        assert (field["SheetNum"], field["DateTimeSig"], field["UserSigned"]) == (
            sheet_num,
            NO_DATETIME,
            0,
        ), where
        assert "[nameFL]" not in field["FieldValue"], where
        assert "[dateToday]" not in field["FieldValue"], where
        filled += field["FieldValue"] != definition_field["FieldValue"]
    assert filled, f"{path.name} has something to fill"


@open_dental_files
async def test_each_open_dental_definition_becomes_a_sheet_with_each_field_copied_and_filled(
    seeded: AsyncEngine,
) -> None:
    assert len(SHEETDEF_FILES) == 7
    # Smith's patient row without the demo's rows in the fill tables (those are tested on their own).
    smith = next(p for p in demo_patients() if p.ChartNumber == "DEMO-2")
    smith.ChartNumber = "SMITH-ONLY"
    smith.PriProv = 999_999  # no such provider: the name is blank on every engine
    pat_num = await _add_patient(seeded, smith)
    # One database for all seven files: creating one per file costs more than the test.
    for path in SHEETDEF_FILES:
        await _check_sheet_from_file(seeded, path, pat_num)


async def test_fields_are_those_in_the_patients_language(seeded: AsyncEngine) -> None:
    consent = await _def_num(seeded, "Demo Consent")
    sheet_num = await _create(seeded, consent, await _pat_num(seeded, "DEMO-3"))
    values = {f["FieldValue"] for f in await _fields(seeded, sheet_num)}
    assert len(await _fields(seeded, sheet_num)) == await _count_field_defs(seeded, consent, "spa") > 0
    assert "Consentimiento para el tratamiento" in values
    assert "Consent for Treatment" not in values


async def test_a_definition_of_another_type_is_refused_and_nothing_is_written(seeded: AsyncEngine) -> None:
    sheet_def_num = await _add_def(
        seeded, SheetDef(Description="Rx", SheetType=int(SheetType.Rx)), [SheetFieldDef(FieldValue="[nameF]")]
    )
    with pytest.raises(InvalidArgument) as raised:
        await _create(seeded, sheet_def_num, await _pat_num(seeded, "DEMO-1"))
    assert raised.value.message == (
        "SheetDef of SheetType 'Rx' is not supported. "
        "Only Consent, PatientLetter, PatientForm, MedicalHistory and ExamSheet are supported."
    )
    assert raised.value.field == "SheetDefNum"
    assert await _nothing_written(seeded)


async def test_a_missing_definition_is_not_found_and_nothing_is_written(seeded: AsyncEngine) -> None:
    with pytest.raises(NotFound, match=r"^SheetDef not found\.$") as raised:
        await _create(seeded, 999_999, await _pat_num(seeded, "DEMO-1"))
    assert raised.value.field == "SheetDefNum"
    assert await _nothing_written(seeded)


async def test_a_missing_patient_is_not_found_and_nothing_is_written(seeded: AsyncEngine) -> None:
    with pytest.raises(NotFound, match=r"^Patient not found\.$") as raised:
        await _create(seeded, await _def_num(seeded, "Demo Consent"), 999_999)
    assert raised.value.field == "PatNum"
    assert await _nothing_written(seeded)


async def test_a_failure_while_inserting_fields_leaves_no_sheet(
    seeded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = {kind: kind.run for kind in (sessions.AlchemySession, sessions.SqliteSession)}

    async def fail_once_copied(self: Any, sql: str, params: Sequence[Any]) -> None:
        # The database copies all the fields in one statement; the connection is lost after it.
        assert sql.startswith("INSERT INTO")
        await copies[type(self)](self, sql, params)
        raise ConnectionResetError("connection lost after the insert")

    for kind in copies:
        monkeypatch.setattr(kind, "run", fail_once_copied)
    consent = await _def_num(seeded, "Demo Consent")
    with pytest.raises(ConnectionResetError):
        await _create(seeded, consent, await _pat_num(seeded, "DEMO-1"))
    assert await _nothing_written(seeded)


async def test_concurrent_creates_all_succeed(seeded: AsyncEngine) -> None:
    consent = await _def_num(seeded, "Demo Consent")
    pat_num = await _pat_num(seeded, "DEMO-1")
    per_sheet = await _count_field_defs(seeded, consent, "")

    sheet_nums = await asyncio.gather(*(_create(seeded, consent, pat_num, note=str(n)) for n in range(20)))

    assert len(set(sheet_nums)) == 20
    assert await count(seeded, models.SHEET) == 20
    assert await count(seeded, models.SHEETFIELD) == 20 * per_sheet
    for sheet_num in sheet_nums:
        assert len(await _fields(seeded, sheet_num)) == per_sheet


_SQLITE_STATEMENTS = {"rows": "SELECT", "insert": "INSERT", "run": "INSERT", "execute": "UPDATE"}


@contextlib.contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements (their first word) run meanwhile: as the driver gets them from
    SQLAlchemy, or on SQLite, where a create runs on the driver's own connection, each
    call of its session (one statement each; an executemany once)."""
    statements: list[str] = []
    if engine.dialect.name != "sqlite":

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            words = statement.lstrip().upper()
            if not words.startswith(
                ("BEGIN", "START TRANSACTION", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
            ):
                statements.append(words.split()[0])

        sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
        return
    with pytest.MonkeyPatch.context() as patch:
        for method, kind in _SQLITE_STATEMENTS.items():
            run = getattr(sessions.SqliteSession, method)

            async def spy(self: Any, *args: Any, _run: Any = run, _kind: str = kind, **params: Any) -> Any:
                statements.append(_kind)
                return await _run(self, *args, **params)

            patch.setattr(sessions.SqliteSession, method, spy)
        yield statements


@open_dental_files
async def test_a_create_costs_the_same_few_statements_whatever_the_field_count(seeded: AsyncEngine) -> None:
    path = next(p for p in SHEETDEF_FILES if p.name == "MedicalHist.xml")
    big = await _add_def(seeded, *parse_sheetdef(path))
    small = await _add_def(
        seeded, SheetDef(Description="One field", SheetType=int(SheetType.MedicalHistory)), [SheetFieldDef()]
    )
    pat_num = await _pat_num(seeded, "DEMO-2")
    await _create(seeded, small, pat_num)  # the first create learns the schema, once per engine
    counts = []
    for sheet_def_num in (big, small):
        with _statements(seeded) as statements:
            await _create(seeded, sheet_def_num, pat_num)
        counts.append(statements)
    # The definition and patient, the field definitions; on SQLite (where init-db made Open Dental's
    # fill tables) a MedicalHistory reads patientnote, allergy, disease and medicationpat; then the
    # sheet and all its fields in one executemany.
    reads = 4 if seeded.dialect.name == "sqlite" else 0
    assert counts[0] == counts[1] == ["SELECT"] * (2 + reads) + ["INSERT", "INSERT"]


# --- Behaviour that does not depend on the database engine: SQLite only -------------------------


async def test_tokens_in_the_demo_medical_history_are_filled(seeded_sqlite: AsyncEngine) -> None:
    engine = seeded_sqlite
    sheet_num = await _create(
        engine, await _def_num(engine, "Demo Medical History"), await _pat_num(engine, "DEMO-2")
    )
    values = [f["FieldValue"] for f in await _fields(engine, sheet_num)]
    assert "Robert 'Bob' J Smith   Birthdate: 11/02/1961   Age: 65" in values


async def test_fields_without_a_language_serve_a_language_with_no_translation(
    seeded_sqlite: AsyncEngine,
) -> None:
    engine = seeded_sqlite
    consent = await _def_num(engine, "Demo Consent")
    french = await _add_patient(engine, Patient(LName="Dupont", FName="Élodie", Language="fra"))
    fields = await _fields(engine, await _create(engine, consent, french))
    assert len(fields) == await _count_field_defs(engine, consent, "") > 0
    assert {"Consent for Treatment", "Élodie Dupont"} <= {f["FieldValue"] for f in fields}


async def test_fields_without_a_language_serve_a_patient_without_one(seeded_sqlite: AsyncEngine) -> None:
    engine = seeded_sqlite
    consent = await _def_num(engine, "Demo Consent")
    sheet_num = await _create(engine, consent, await _pat_num(engine, "DEMO-1"))
    assert len(await _fields(engine, sheet_num)) == await _count_field_defs(engine, consent, "")


@pytest.mark.parametrize(
    ("patient_language", "expected"),
    [("spa", ["spa 1", "spa 2"]), ("fra", ["blank 1", "blank 2"]), ("", ["blank 1", "blank 2"])],
)
def test_for_language_prefers_the_patients_language_then_blank(
    patient_language: str, expected: list[str]
) -> None:
    field_defs = [
        {"Language": "", "FieldValue": "blank 1"},
        {"Language": "spa", "FieldValue": "spa 1"},
        {"Language": "", "FieldValue": "blank 2"},
        {"Language": "spa", "FieldValue": "spa 2"},
    ]
    assert [f["FieldValue"] for f in for_language(field_defs, patient_language)] == expected


async def test_the_sheet_takes_the_patients_clinic(seeded_sqlite: AsyncEngine) -> None:
    engine = seeded_sqlite
    pat_num = await _add_patient(engine, Patient(LName="Clinic", FName="Ann", ClinicNum=7))
    sheet_num = await _create(engine, await _def_num(engine, "Demo Exam"), pat_num)
    rows = await _rows(
        engine, sa.select(models.SHEET.c.ClinicNum).where(models.SHEET.c.SheetNum == sheet_num)
    )
    assert rows[0]["ClinicNum"] == 7


async def test_a_definition_without_fields_makes_a_sheet_without_fields(seeded_sqlite: AsyncEngine) -> None:
    engine = seeded_sqlite
    sheet_def_num = await _add_def(
        engine, SheetDef(Description="Empty", SheetType=int(SheetType.Consent)), []
    )
    sheet_num = await _create(engine, sheet_def_num, await _pat_num(engine, "DEMO-1"))
    assert await count(engine, models.SHEET) == 1
    assert await _fields(engine, sheet_num) == []


@pytest.mark.parametrize(
    ("sheet_type", "name"), [(SheetType.Statement, "Statement"), (SheetType.None_, "None"), (99, "99")]
)
async def test_the_refusal_names_the_definitions_type_as_open_dental_spells_it(
    seeded_sqlite: AsyncEngine, sheet_type: int, name: str
) -> None:
    engine = seeded_sqlite
    sheet_def_num = await _add_def(engine, SheetDef(Description=name, SheetType=int(sheet_type)), [])
    with pytest.raises(InvalidArgument, match=rf"^SheetDef of SheetType '{name}' is not supported\. Only "):
        await _create(engine, sheet_def_num, await _pat_num(engine, "DEMO-1"))


async def test_a_missing_definition_is_reported_before_a_missing_patient(seeded_sqlite: AsyncEngine) -> None:
    with pytest.raises(NotFound, match=r"^SheetDef not found\.$"):
        await _create(seeded_sqlite, 999_999, 999_999)


async def test_an_unsupported_type_is_reported_before_a_missing_patient(seeded_sqlite: AsyncEngine) -> None:
    sheet_def_num = await _add_def(seeded_sqlite, SheetDef(Description="Rx", SheetType=int(SheetType.Rx)), [])
    with pytest.raises(InvalidArgument):
        await _create(seeded_sqlite, sheet_def_num, 999_999)


async def test_now_defaults_to_the_local_time_to_the_second(seeded_sqlite: AsyncEngine) -> None:
    before = datetime.now().replace(microsecond=0)
    sheet_num = await create_sheet(
        seeded_sqlite,
        sheet_def_num=await _def_num(seeded_sqlite, "Demo Exam"),
        pat_num=await _pat_num(seeded_sqlite, "DEMO-1"),
        internal_note="",
        practice=PRACTICE,
    )
    after = datetime.now()
    sheet = models.SHEET.c
    rows = await _rows(
        seeded_sqlite,
        sa.select(sheet.DateTimeSheet, sheet.DateTSheetEdited).where(sheet.SheetNum == sheet_num),
    )
    assert before <= rows[0]["DateTimeSheet"] <= after
    assert rows[0]["DateTimeSheet"] == rows[0]["DateTSheetEdited"]
    assert rows[0]["DateTimeSheet"].microsecond == 0


async def test_an_aware_now_is_stored_as_local_wall_clock_time(seeded_sqlite: AsyncEngine) -> None:
    aware = datetime(2026, 11, 29, 23, 24, 5, 999, tzinfo=UTC)
    sheet_num = await create_sheet(
        seeded_sqlite,
        sheet_def_num=await _def_num(seeded_sqlite, "Demo Exam"),
        pat_num=await _pat_num(seeded_sqlite, "DEMO-1"),
        internal_note="",
        practice=PRACTICE,
        now=aware,
    )
    sheet = models.SHEET.c
    rows = await _rows(seeded_sqlite, sa.select(sheet.DateTimeSheet).where(sheet.SheetNum == sheet_num))
    assert rows[0]["DateTimeSheet"] == aware.astimezone().replace(tzinfo=None, microsecond=0)


@open_dental_files
async def test_on_sqlite_a_249_field_create_is_one_call_on_the_drivers_thread(
    seeded_sqlite: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = seeded_sqlite
    path = next(p for p in SHEETDEF_FILES if p.name == "MedicalHist.xml")
    medical = await _add_def(engine, *parse_sheetdef(path))
    pat_num = await _pat_num(engine, "DEMO-2")
    await _create(engine, medical, pat_num)  # the first create learns the schema
    hops: list[str] = []
    call: Any = aiosqlite.Connection._execute

    async def hop(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await call(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", hop)
    sheet_num = await _create(engine, medical, pat_num)
    monkeypatch.undo()
    # Through SQLAlchemy's execution each statement was several hops (about forty a create).
    assert len(hops) == 1, hops
    assert len(await _fields(engine, sheet_num)) == await _count_field_defs(engine, medical, "") == 249


async def test_on_sqlite_a_refused_write_is_internal_names_the_column_and_leaves_nothing(
    seeded_sqlite: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = seeded_sqlite
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON sheetfield "
            "BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: column AddedInt'); END"
        )
    consent, pat_num = await _def_num(engine, "Demo Consent"), await _pat_num(engine, "DEMO-1")
    async with SheetStore(engine) as store:
        with caplog.at_level(logging.ERROR, logger="service.db_errors"), pytest.raises(Internal):
            await store.create_sheet(
                sheet_def_num=consent, pat_num=pat_num, internal_note="Secret", practice=PRACTICE
            )
        assert await _nothing_written(engine)
        (record,) = [r for r in caplog.records if r.name == "service.db_errors"]
        assert "column AddedInt" in record.getMessage()
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TRIGGER refuse")
        # The connection went back to the pool whole: the next create is written.
        sheet_num = await store.create_sheet(
            sheet_def_num=consent, pat_num=pat_num, internal_note="", practice=PRACTICE
        )
    assert await _fields(engine, sheet_num)


async def test_on_sqlite_a_write_lock_held_too_long_is_unavailable_and_leaves_nothing(
    sqlite_url: str,
) -> None:
    engine = db.create_engine(sqlite_url)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _impatient(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=100")
        cursor.close()

    try:
        await db.init_db(engine)
        await seed_demo(engine)
        consent, pat_num = await _def_num(engine, "Demo Consent"), await _pat_num(engine, "DEMO-1")
        holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # another writer keeps the write lock
            async with SheetStore(engine) as store:
                with pytest.raises(Unavailable):
                    await store.create_sheet(
                        sheet_def_num=consent, pat_num=pat_num, internal_note="", practice=PRACTICE
                    )
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert await _nothing_written(engine)
        assert await _fields(engine, await _create(engine, consent, pat_num))
    finally:
        await engine.dispose()

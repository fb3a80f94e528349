"""`[ExamSheet:Description;Field]` in a letter and the Race radio on an ExamSheet, on SQLite, MariaDB and
PostgreSQL, from sheets and Open Dental's patientrace/cdcrec rows each test writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.filling.tokens_history import race_name
from service.storage import db, fill_tables, models
from service.storage.models import SheetDef, SheetFieldDef
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_create import _add_def, _create, _fields, _statements
from tests.filling.test_fill_history import _insert, _patient, _text, od

t = fill_tables
__all__ = ["od"]
CHECK, COMBO, INPUT = (
    int(SheetFieldType.CheckBox),
    int(SheetFieldType.ComboBox),
    int(SheetFieldType.InputField),
)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], "Unknown"),
        (["R5"], "White"),
        (["R5.01", "E1.01"], "HispanicLatino"),
        (["R3"], "AfricanAmerican"),
        (["E1", "R3.02"], "BlackHispanic"),
        (["R4"], "Aboriginal"),
        (["R4.01"], "HawaiiOrPacIsland"),
        (["R1.1"], "AmericanIndian"),
        (["R2"], "Asian"),
        (["R9"], "Other"),
        (["R9.1"], "Unknown"),
        (["E1"], "Unknown"),
        ([""], "Unknown"),
        (["R2", "R5"], "White"),
    ],
)
def test_races_map_to_open_dentals_old_race_in_its_order(codes: list[str], expected: str) -> None:
    assert race_name(codes) == expected


async def _exam(
    engine: AsyncEngine, pat: int, description: str, when: datetime, deleted: bool = False
) -> int:
    sheet = models.Sheet(
        SheetType=int(SheetType.ExamSheet),
        PatNum=pat,
        DateTimeSheet=when,
        Description=description,
        IsDeleted=deleted,
    )
    return await _insert(engine, models.SHEET, **db.row(sheet))


async def _field(engine: AsyncEngine, sheet: int, kind: int, value: str, **values: Any) -> None:
    await _insert(
        engine,
        models.SHEETFIELD,
        **db.row(models.SheetField(SheetNum=sheet, FieldType=kind, FieldValue=value, **values)),
    )


async def test_a_letter_prints_the_latest_exam_sheets_findings(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    old = await _exam(engine, pat, "Perio Exam", datetime(2026, 1, 1))
    await _field(engine, old, INPUT, "old notes", FieldName="misc", ReportableName="notes")
    latest = await _exam(engine, pat, "Perio Exam", datetime(2026, 6, 1))
    deleted = await _exam(engine, pat, "Perio Exam", datetime(2026, 9, 1), deleted=True)
    await _field(engine, deleted, INPUT, "deleted notes", FieldName="misc", ReportableName="notes")
    await _field(engine, latest, INPUT, "Bleeding on probing", FieldName="misc", ReportableName="notes")
    for name, checked in (("Mild", ""), ("Moderate", "X"), ("Severe", "")):
        await _field(
            engine, latest, CHECK, checked, FieldName="misc", RadioButtonGroup="severity", ReportableName=name
        )
    await _field(engine, latest, COMBO, "Left;Left;Right;Both", FieldName="misc", ReportableName="side")
    await _field(engine, latest, CHECK, "", FieldName="misc", ReportableName="smoker")
    for value, checked in (("Male", ""), ("Female", "X")):
        await _field(engine, latest, CHECK, checked, FieldName="Gender", RadioButtonValue=value)
    for name in ("a", "b"):
        await _field(
            engine, latest, CHECK, "", FieldName="misc", RadioButtonGroup="none", ReportableName=name
        )
    template = (
        "[ExamSheet:Perio Exam;notes]|[ExamSheet:perio exam;severity]|[ExamSheet:Perio Exam;side]|"
        "[ExamSheet:Perio Exam;smoker]|[ExamSheet:Perio Exam;Gender]|[ExamSheet:Perio Exam;none]|"
        "[ExamSheet:Perio Exam;missing]|[ExamSheet:Other Exam;notes]|[nameF] [ExamSheet:Perio Exam;notes]"
    )
    assert (await _text(engine, template, pat)).split("|") == [
        "Bleeding on probing",
        "Moderate",
        "Left",
        "",
        "Female",
        # Nothing checked, no such field, no such sheet: the reference stays as written.
        "[ExamSheet:Perio Exam;none]",
        "[ExamSheet:Perio Exam;missing]",
        "[ExamSheet:Other Exam;notes]",
        "Ann Bleeding on probing",
    ]


async def test_only_letters_expand_exam_references_and_read_them_in_one_query(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    exam = await _exam(engine, pat, "Exam", datetime(2026, 6, 1))
    await _field(engine, exam, INPUT, "Caries", FieldName="misc", ReportableName="findings")
    text = "[ExamSheet:Exam;findings] [ExamSheet:Exam;other]"
    consent = await _add_def(
        engine,
        SheetDef(Description="Consent", SheetType=int(SheetType.Consent)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue=text)],
    )
    (field,) = await _fields(engine, await _create(engine, consent, pat))
    assert field["FieldValue"] == text
    letter = await _add_def(
        engine,
        SheetDef(Description="Letter", SheetType=int(SheetType.PatientLetter)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue=text)] * 2,
    )
    await _create(engine, letter, pat)
    with _statements(engine) as statements:
        await _create(engine, letter, pat)
    # Definition and patient, field definitions, a letter's preference and provider, the exam fields
    # (one query for both references); two inserts.
    assert statements == ["SELECT"] * 5 + ["INSERT", "INSERT"]


async def test_an_exam_sheets_race_radio_is_checked_from_patientrace(od: AsyncEngine) -> None:
    engine = od
    for code, hierarchy in (("2106-3", "R5"), ("2135-2", "E1"), ("2076-8", "R4"), ("ASKU-RACE", "R9")):
        await _insert(engine, t.CDCREC, CdcrecCode=code, HeirarchicalCode=hierarchy, Description=code)
    exam = await _add_def(
        engine,
        SheetDef(Description="Exam", SheetType=int(SheetType.ExamSheet)),
        [
            SheetFieldDef(FieldType=CHECK, FieldName="Race", RadioButtonValue=value)
            for value in ("White", "HispanicLatino", "Aboriginal", "Unknown", "Other")
        ],
    )

    async def checked(*codes: str) -> list[str]:
        pat = await _patient(engine, FName="Ann")
        for code in codes:
            await _insert(engine, t.PATIENTRACE, PatNum=pat, CdcrecCode=code)
        fields = await _fields(engine, await _create(engine, exam, pat))
        return [f["RadioButtonValue"] for f in fields if f["FieldValue"] == "X"]

    assert await checked("2106-3") == ["White"]
    assert await checked("2106-3", "2135-2") == ["HispanicLatino"]
    # Native Hawaiian or Other Pacific Islander is R4: Open Dental calls it Aboriginal.
    assert await checked("2076-8") == ["Aboriginal"]
    # Declined carries no hierarchy, whatever cdcrec says.
    assert await checked("ASKU-RACE") == ["Unknown"]
    assert await checked() == ["Unknown"]


async def test_patientrace_is_read_only_for_an_exam_sheet_with_a_race_radio(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")

    async def selects(*names: str) -> int:
        exam = await _add_def(
            engine,
            SheetDef(Description="Exam", SheetType=int(SheetType.ExamSheet)),
            [SheetFieldDef(FieldType=CHECK, FieldName=name, RadioButtonValue="Unknown") for name in names],
        )
        await _create(engine, exam, pat)
        with _statements(engine) as statements:
            await _create(engine, exam, pat)
        return statements.count("SELECT")

    # Definition and patient, field definitions, preference, provider; and patientrace with a Race radio.
    assert await selects("Gender") == 4
    assert await selects("Gender", "Race") == 5

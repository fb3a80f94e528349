"""Values given with CreateSheet (`SheetFields`): UpdateSheetField's rules, radio
groups, and a create that writes nothing when one value does not fit, on
SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import seed_demo
from service.admin.sheetdef_xml import parse_sheetdef
from service.contract.errors import InvalidArgument
from service.filling.create import create_sheet
from service.filling.field_values import FieldPlaces, GivenValue, apply_values
from service.storage import models
from service.vocab.enums import SheetFieldType
from tests.filling.test_create import _add_def, _fields, _pat_num
from tests.filling.test_fill import NOW, PRACTICE
from tests.support.databases import count
from tests.support.requires import SHEETDEF_FILES, open_dental_files

_T, _C, _I, _S = (
    int(SheetFieldType.OutputText),
    int(SheetFieldType.CheckBox),
    int(SheetFieldType.InputField),
    int(SheetFieldType.StaticText),
)
PLACES = FieldPlaces(field_type=0, field_name=1, field_value=2, radio_button_value=3, radio_button_group=4)


def _rows() -> list[list[Any]]:
    # FieldType, FieldName, FieldValue, RadioButtonValue, RadioButtonGroup
    return [
        [_I, "FName", "Robert", "", ""],
        [_T, "inputMed1", "Lisinopril", "", ""],
        [_C, "problem:Asthma", "", "Y", ""],
        [_C, "problem:Asthma", "X", "N", ""],
        [_C, "misc", "", "Morning", "visitTime"],
        [_C, "misc", "X", "Evening", "visitTime"],
        [_C, "checkMed1", "", "N", ""],
        [_S, "sheet.Description", "Medical History", "", ""],
        [_I, "misc", "", "", ""],
        [_I, "misc", "", "", ""],
    ]


def _given(name: str, value: str | None = None, radio: str | None = None) -> GivenValue:
    return GivenValue(name=name, value=value, radio_button_value=radio)


def test_values_replace_what_filling_wrote_and_leave_every_other_field_alone() -> None:
    rows = _rows()
    apply_values(rows, [_given("FName", "Bob"), _given("inputMed1", "Aspirin")], PLACES)
    expected = _rows()
    expected[0][2], expected[1][2] = "Bob", "Aspirin"
    assert rows == expected


def test_radio_button_value_picks_the_box_sharing_the_field_name_and_clears_the_others() -> None:
    rows = _rows()
    apply_values(rows, [_given("problem:Asthma", radio="Y")], PLACES)
    assert [(r[3], r[2]) for r in rows[2:4]] == [("Y", "X"), ("N", "")]


def test_radio_button_value_picks_a_box_of_a_radio_button_group() -> None:
    rows = _rows()
    apply_values(rows, [_given("visitTime", "X", radio="Morning")], PLACES)
    assert [(r[3], r[2]) for r in rows[4:6]] == [("Morning", "X"), ("Evening", "")]


def test_a_lone_check_box_takes_x_or_blank() -> None:
    rows = _rows()
    apply_values(rows, [_given("checkMed1", "X")], PLACES)
    assert rows[6][2] == "X"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([_given("Nope", "x")], "SheetFields 'Nope': no field of this SheetDef has this FieldName."),
        (
            [_given("sheet.Description", "x")],
            "SheetFields 'sheet.Description': it is a StaticText field. "
            "Only OutputText, InputField and CheckBox fields can be updated.",
        ),
        (
            [_given("checkMed1", "yes")],
            "SheetFields 'checkMed1': FieldValue of a CheckBox must be \"X\" or blank.",
        ),
        (
            [_given("problem:Asthma", "X")],
            "SheetFields 'problem:Asthma': this is a radio group: RadioButtonValue picks its box.",
        ),
        (
            [_given("problem:Asthma", radio="Maybe")],
            "SheetFields 'problem:Asthma': no box of this radio group has RadioButtonValue 'Maybe'.",
        ),
        (
            [_given("FName", radio="Y")],
            "SheetFields 'FName': RadioButtonValue is for a radio group of CheckBoxes.",
        ),
        (
            [_given("FName")],
            "SheetFields 'FName': FieldValue is required (or RadioButtonValue, in a radio group).",
        ),
        (
            [_given("misc", "x")],
            "SheetFields 'misc': 4 fields have this FieldName: it names none of them alone.",
        ),
        ([_given("FName", "a"), _given("FName", "b")], "SheetFields 'FName': the name is given twice."),
        (
            [_given("\n" + "x" * 100, "a")],
            "SheetFields '?" + "x" * 59 + "...': no field of this SheetDef has this FieldName.",
        ),
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_it_and_no_row_changes(
    given: Sequence[GivenValue], message: str
) -> None:
    rows = _rows()
    with pytest.raises(InvalidArgument) as raised:
        apply_values(rows, [_given("inputMed1", "Changed first"), *given], PLACES)
    assert (raised.value.message, raised.value.field) == (message, "SheetFields")
    assert rows == _rows()


# --- On each database ---------------------------------------------------------------------------


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    """The engine (each of SQLite, MariaDB, PostgreSQL) with the demo patients and definitions."""
    await seed_demo(engine)
    return engine


def _answers() -> list[GivenValue]:
    """40 answers to Open Dental's Medical History: inputs, each radio group, a lone box."""
    inputs = [_given(f"inputMed{n}", f"Medication {n}") for n in range(1, 11)]
    inputs += [
        _given(name, f"{name} answer") for name in ("ICEName", "ICEPhone", "Birthdate", "LName", "FName")
    ]
    problems = [
        "Pregnancy", "Diabetes", "Psychiatric Treatment", "Heart Murmur", "Sinus Trouble", "Heart Trouble",
        "Asthma", "Kidney Disease", "Bleeding Problems", "Liver Disease", "Cancer", "Stroke",
        "High Blood Pressure", "Ulcers", "Joint Replacement", "Rheumatic Fever",
    ]  # fmt: skip
    allergies = ["Anesthetic", "Aspirin", "Ibuprofen", "Codeine", "Iodine", "Latex", "Sulfa", "Penicillin"]
    radios = [_given(f"problem:{p}", radio="YN"[i % 2]) for i, p in enumerate(problems)]
    radios += [_given(f"allergy:{a}", radio="NY"[i % 2]) for i, a in enumerate(allergies)]
    return [*inputs, *radios, _given("checkMed1", "X")]


def _expected(field: Any, answers: dict[str, GivenValue]) -> str:
    given = answers.get(field["FieldName"])
    if given is None:
        return str(field["FieldValue"])
    if given.radio_button_value is None:
        return str(given.value)
    return "X" if field["RadioButtonValue"] == given.radio_button_value else ""


def _comparable(fields: Sequence[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k not in ("SheetFieldNum", "SheetNum")} for f in fields]


@open_dental_files
async def test_a_medical_history_created_with_40_answers_has_them_all_and_nothing_else_changed(
    seeded: AsyncEngine,
) -> None:
    path = next(p for p in SHEETDEF_FILES if p.name == "MedicalHist.xml")
    medical = await _add_def(seeded, *parse_sheetdef(path))
    pat_num = await _pat_num(seeded, "DEMO-2")
    answers = _answers()
    assert len(answers) == 40
    plain = await create_sheet(
        seeded, sheet_def_num=medical, pat_num=pat_num, internal_note="", practice=PRACTICE, now=NOW
    )
    answered = await create_sheet(
        seeded,
        sheet_def_num=medical,
        pat_num=pat_num,
        internal_note="",
        practice=PRACTICE,
        now=NOW,
        values=answers,
    )
    before, after = await _fields(seeded, plain), await _fields(seeded, answered)
    assert len(before) == len(after) == 249
    by_name = {a.name: a for a in answers}
    expected = [{**f, "FieldValue": _expected(f, by_name)} for f in _comparable(before)]
    assert _comparable(after) == expected
    changed = sum(1 for b, a in zip(before, after, strict=True) if b["FieldValue"] != a["FieldValue"])
    assert changed >= 40


@open_dental_files
async def test_an_unknown_field_name_creates_nothing(seeded: AsyncEngine) -> None:
    path = next(p for p in SHEETDEF_FILES if p.name == "MedicalHist.xml")
    medical = await _add_def(seeded, *parse_sheetdef(path))
    pat_num = await _pat_num(seeded, "DEMO-2")
    sheets, fields = await count(seeded, models.SHEET), await count(seeded, models.SHEETFIELD)
    with pytest.raises(InvalidArgument, match="SheetFields 'problem:Gout': no field"):
        await create_sheet(
            seeded,
            sheet_def_num=medical,
            pat_num=pat_num,
            internal_note="",
            practice=PRACTICE,
            values=[*_answers(), _given("problem:Gout", radio="Y")],
        )
    assert (await count(seeded, models.SHEET), await count(seeded, models.SHEETFIELD)) == (sheets, fields)
    async with seeded.connect() as conn:
        hidden = await conn.execute(sa.select(sa.func.count()).where(models.SHEET.c.IsDeleted == 1))
        assert hidden.scalar_one() == 0

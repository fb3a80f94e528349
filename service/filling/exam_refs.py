"""`[ExamSheet:Description;Field]` in a letter's StaticText, as Open Dental's
SheetFiller.ReplaceStaticTextFieldsInSheet expands it.

On a PatientLetter, ReferralSlip or ReferralLetter, after the tokens, each
reference is replaced by what the patient's latest (non-deleted) sheet of that
Description holds in that field: a radio group's checked ReportableName, a
combo box's choice, an input's text, a check box's "X" or "", a built-in radio
button's checked value. A reference Open Dental finds nothing for stays as
written. The fields are read in one query over the sheets this service writes;
names compare without case, as on Open Dental's MySQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from service.filling.query import Read
from service.storage import Session, models
from service.vocab import SheetFieldType, SheetType

REFERENCE = re.compile(r"\[ExamSheet\:([^;]+);([^\]]+)\]")
LETTER_TYPES = frozenset({SheetType.PatientLetter, SheetType.ReferralSlip, SheetType.ReferralLetter})


@dataclass(frozen=True, slots=True)
class ExamField:
    description: str
    field_type: int
    field_name: str
    field_value: str
    radio_button_value: str
    radio_button_group: str
    reportable_name: str

    def named(self, name: str) -> bool:
        wanted = name.lower()
        return wanted in (
            self.radio_button_group.lower(),
            self.reportable_name.lower(),
            self.field_name.lower(),
        )


def references(sheet_type: int, texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The (Description, field) pairs a definition of this type refers to, each once."""
    if sheet_type not in LETTER_TYPES:
        return ()
    found: dict[tuple[str, str], None] = {}
    for text in texts:
        if "[ExamSheet:" in text:
            for m in REFERENCE.finditer(text):
                found[(m[1], m[2])] = None
    return tuple(found)


class ExamReader:
    """The query of the latest sheets' fields, one per number of descriptions and names."""

    __slots__ = ("_reads",)

    def __init__(self) -> None:
        self._reads: dict[tuple[int, int], Read] = {}

    def _read(self, descriptions: int, names: int) -> Read:
        read = self._reads.get((descriptions, names))
        if read is not None:
            return read
        sheet, field, latest = models.SHEET.c, models.SHEETFIELD.c, models.SHEET.alias("latest")
        lower = sa.func.lower
        newest = (
            sa.select(latest.c.SheetNum)
            .where(
                latest.c.PatNum == sheet.PatNum,
                latest.c.IsDeleted == 0,
                lower(latest.c.Description) == lower(sheet.Description),
            )
            # Sheets.GetMostRecentExamSheet: the latest DateTimeSheet (ties: the first written here).
            .order_by(latest.c.DateTimeSheet.desc(), latest.c.SheetNum)
            .limit(1)
            .scalar_subquery()
        )
        wanted: list[sa.BindParameter[str]] = [sa.bindparam(f"name{i}") for i in range(names)]
        statement = (
            sa.select(
                sheet.Description,
                field.FieldType,
                field.FieldName,
                field.FieldValue,
                field.RadioButtonValue,
                field.RadioButtonGroup,
                field.ReportableName,
            )
            .select_from(models.SHEET.join(models.SHEETFIELD, field.SheetNum == sheet.SheetNum))
            .where(
                sheet.PatNum == sa.bindparam("pat_num"),
                sheet.IsDeleted == 0,
                sa.or_(
                    *(
                        lower(sheet.Description) == sa.bindparam(f"description{i}")
                        for i in range(descriptions)
                    )
                ),
                sheet.SheetNum == newest,
                sa.or_(
                    *(
                        sa.or_(
                            lower(field.RadioButtonGroup) == name,
                            lower(field.ReportableName) == name,
                            lower(field.FieldName) == name,
                        )
                        for name in wanted
                    )
                ),
            )
            .order_by(field.SheetFieldNum)
        )
        read = self._reads[(descriptions, names)] = Read(statement)
        return read

    async def read(
        self, session: Session, pat_num: int, wanted: Sequence[tuple[str, str]]
    ) -> tuple[ExamField, ...]:
        """The fields the references may name, of the patient's latest sheet of each Description."""
        if not wanted:
            return ()
        descriptions = sorted({d.lower() for d, _ in wanted})
        names = sorted({n.lower() for _, n in wanted})
        params: dict[str, Any] = {"pat_num": pat_num}
        params |= {f"description{i}": d for i, d in enumerate(descriptions)}
        params |= {f"name{i}": n for i, n in enumerate(names)}
        rows = await self._read(len(descriptions), len(names)).all(session, **params)
        return tuple(
            ExamField(
                description=r["Description"],
                field_type=r["FieldType"],
                field_name=r["FieldName"],
                field_value=r["FieldValue"],
                radio_button_value=r["RadioButtonValue"],
                radio_button_group=r["RadioButtonGroup"],
                reportable_name=r["ReportableName"],
            )
            for r in rows
        )


def expand(text: str, fields: Sequence[ExamField]) -> str:
    """Replace each `[ExamSheet:Description;Field]` Open Dental finds a value for (every copy of it)."""
    if "[ExamSheet:" not in text:
        return text
    result = text
    for match in REFERENCE.finditer(text):
        description, name = match[1].lower(), match[2]
        found = [f for f in fields if f.description.lower() == description and f.named(name)]
        value = _value(match[0], found)
        if value is not None:
            result = result.replace(match[0], value)
    return result


def _value(reference: str, found: Sequence[ExamField]) -> str | None:
    if not found:
        return None
    first = found[0]
    if first.radio_button_group:
        # A misc radio group: the checked button's ReportableName.
        return next((f.reportable_name for f in found if f.field_value == "X"), None)
    if first.reportable_name:
        if first.field_type == SheetFieldType.ComboBox and first.reportable_name in reference:
            # The choice is the text before the first ';' (Open Dental fails on a value without one:
            # the whole value is printed here).
            value = first.field_value
            return value[: value.index(";")] if ";" in value else value
        return first.field_value
    if first.field_name and first.field_name != "misc":
        if not first.radio_button_value:
            return first.field_value
        # A built-in radio button (Race, Gender…): the checked one's value.
        return next((f.radio_button_value for f in found if f.field_value == "X"), None)
    return None

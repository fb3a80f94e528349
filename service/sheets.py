"""Creating a patient's sheet from a sheet definition, by Open Dental's rules.

A create reads the definition and the patient in one statement, the field
definitions in the patient's language in a second, what the sheet is filled
from out of Open Dental's other tables (`service.fill_data`: one query per
table group the sheet needs), and writes the sheet and all its fields (one
multi-row INSERT) in the same transaction: one snapshot, and a failure
anywhere leaves nothing behind. Columns of the written tables that we do not
model get their neutral value (`service.schema`).

Checks run in this order, so one request always gets the same answer:
the SheetDef exists ("SheetDef not found."), its type is one the API creates
(400 naming the allowed types), then the patient exists ("Patient not found.").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service import models
from service.culture import EN_US, Culture
from service.db import bulk_insert, row, write_transaction
from service.enums import CREATABLE_SHEET_TYPES, SheetFieldType, SheetType, od_name
from service.errors import InvalidArgument, NotFound
from service.fill import PATIENT_COLUMNS, Filler, Practice, needs
from service.fill_data import FillReader
from service.models import Sheet, SheetField, now_seconds
from service.schema import schema_of
from service.transactions import sheets_are_transactional

__all__ = ["FIELD_COPIED", "SHEET_COPIED", "Practice", "create_sheet", "for_language"]

FieldDef = TypeVar("FieldDef", bound=Mapping[str, Any])

# Columns a sheet copies from its definition, and a field from its field definition.
SHEET_COPIED = (
    "SheetType",
    "Description",
    "FontSize",
    "FontName",
    "Width",
    "Height",
    "IsLandscape",
    "IsMultiPage",
    "HasMobileLayout",
    "RevID",
)
FIELD_COPIED = (
    "FieldType",
    "FieldName",
    "FieldValue",
    "FontSize",
    "FontName",
    "FontIsBold",
    "XPos",
    "YPos",
    "Width",
    "Height",
    "GrowthBehavior",
    "RadioButtonValue",
    "RadioButtonGroup",
    "IsRequired",
    "TabOrder",
    "ReportableName",
    "TextAlign",
    "ItemColor",
    "IsLocked",
    "TabOrderMobile",
    "UiLabelMobile",
    "UiLabelMobileRadioButton",
    "CanElectronicallySign",
    "IsSigProvRestricted",
    "SheetFieldDefNum",
)

_ALLOWED = (
    ", ".join(od_name(t) for t in CREATABLE_SHEET_TYPES[:-1]) + f" and {od_name(CREATABLE_SHEET_TYPES[-1])}"
)
_CREATABLE = frozenset(int(t) for t in CREATABLE_SHEET_TYPES)


def _type_name(sheet_type: int) -> str:
    try:
        return od_name(SheetType(sheet_type))
    except ValueError:
        return str(sheet_type)


def for_language(field_defs: Sequence[FieldDef], language: str) -> list[FieldDef]:
    """The field definitions for a patient's language: those in it, else those with none."""
    if language:
        chosen = [f for f in field_defs if f["Language"] == language]
        if chosen:
            return chosen
    return [f for f in field_defs if f["Language"] == ""]


def _head_query(sheet_def_num: int, pat_num: int) -> sa.Select[Any]:
    # The patient is outer-joined on its key alone, so the one row tells a
    # missing definition (no row) from a missing patient (PatNum NULL).
    sheet_def, patient = models.SHEETDEF, models.PATIENT
    return (
        sa.select(*(sheet_def.c[c] for c in SHEET_COPIED), *(patient.c[c] for c in PATIENT_COLUMNS))
        .select_from(sheet_def.outerjoin(patient, patient.c.PatNum == pat_num))
        .where(sheet_def.c.SheetDefNum == sheet_def_num)
    )


def _field_defs_query(sheet_def_num: int, language: str) -> sa.Select[Any]:
    field_def = models.SHEETFIELDDEF.c
    return (
        sa.select(*(field_def[c] for c in FIELD_COPIED), field_def.Language)
        .where(field_def.SheetDefNum == sheet_def_num, field_def.Language.in_([language, ""]))
        .order_by(field_def.SheetFieldDefNum)
    )


async def create_sheet(
    engine: AsyncEngine,
    *,
    sheet_def_num: int,
    pat_num: int,
    internal_note: str,
    practice: Practice,
    now: datetime | None = None,
    culture: Culture = EN_US,
) -> int:
    """Create a patient's sheet and its filled-in fields from a SheetDef; returns the new SheetNum.

    Raises NotFound for a missing SheetDef or patient and InvalidArgument for a
    SheetDef of a type the API does not create; then nothing is written.
    `now` (default: the local time) is the sheet's DateTimeSheet and DateTSheetEdited.
    `practice` is the configured practice; Open Dental's `preference` rows win over it.
    """
    if now is None:
        now = now_seconds()
    elif now.tzinfo is not None:
        now = now.astimezone().replace(tzinfo=None)
    now = now.replace(microsecond=0)
    async with write_transaction(engine, snapshot=True) as conn:
        head = (await conn.execute(_head_query(sheet_def_num, pat_num))).mappings().first()
        if head is None:
            raise NotFound("SheetDef not found.", field="SheetDefNum")
        sheet_type = head["SheetType"]
        if sheet_type not in _CREATABLE:
            raise InvalidArgument(
                f"SheetDef of SheetType '{_type_name(sheet_type)}' is not supported. "
                f"Only {_ALLOWED} are supported.",
                field="SheetDefNum",
            )
        if head["PatNum"] is None:
            raise NotFound("Patient not found.", field="PatNum")
        language = head["Language"]
        field_defs = (await conn.execute(_field_defs_query(sheet_def_num, language))).mappings().all()
        chosen = for_language(field_defs, language)
        schema = await schema_of(conn)
        static_texts = (f["FieldValue"] for f in chosen if f["FieldType"] == SheetFieldType.StaticText)
        data = await FillReader(conn, schema).read(head, needs(sheet_type, static_texts), now.date())
        sheet = Sheet(
            **{c: head[c] for c in SHEET_COPIED},
            SheetDefNum=sheet_def_num,
            PatNum=pat_num,
            ClinicNum=head["ClinicNum"],
            InternalNote=internal_note,
            DateTimeSheet=now,
            DateTSheetEdited=now,
        )
        # Without transactions (MyISAM) the sheet stays hidden until all its fields are in.
        hidden = not await sheets_are_transactional(conn, (models.SHEET.name, models.SHEETFIELD.name))
        if hidden:
            sheet.IsDeleted = True
        sheet_table = schema.writable(models.SHEET)
        result = await conn.execute(sa.insert(sheet_table).values(row(sheet) | schema.fresh(models.SHEET)))
        sheet_num = int(result.inserted_primary_key[0])  # type: ignore[index]
        filler = Filler(
            head, practice.with_preferences(data.preferences), now, sheet_type, data=data, culture=culture
        )
        # Every column is written: the ones not copied with the model's defaults,
        # the ones the model does not know with their type's neutral value.
        defaults = row(SheetField()) | schema.fresh(models.SHEETFIELD) | {"SheetNum": sheet_num}
        rows = [defaults | {c: field_def[c] for c in FIELD_COPIED} for field_def in chosen]
        filler.fill(rows)
        await bulk_insert(conn, schema.writable(models.SHEETFIELD), rows)
        if hidden:
            await conn.execute(
                sa.update(sheet_table).where(sheet_table.c.SheetNum == sheet_num).values(IsDeleted=False)
            )
    return sheet_num

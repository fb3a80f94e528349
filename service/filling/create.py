"""Creating a patient's sheet from a sheet definition, by Open Dental's rules.

A create reads the definition and the patient in one statement, the field
definitions in the patient's language in a second, what the sheet is filled
from out of Open Dental's other tables (`service.filling.data`: one query per
table group the sheet needs), and writes the sheet and all its fields in
the same transaction: one snapshot, and a failure anywhere leaves nothing
behind. Every statement is built once. On SQLite the whole transaction is
one call on the driver's thread (`service.storage.sessions`). On every database the
database copies the field definitions into the new fields itself (one
INSERT ... SELECT, given only the values filling changed): only what filling
reads crosses the connection, once each way. Columns of the written tables
that we do not model get their neutral value (`service.storage.schema`).

Values the caller gives (`service.filling.field_values`) are set after filling,
before anything is written: a value that names no field, or one its field
cannot hold, leaves nothing behind on any engine (on MyISAM too, where the
sheet would otherwise already be written, hidden).

Checks run in this order, so one request always gets the same answer:
the SheetDef exists ("SheetDef not found."), its type is one the API creates
(400 naming the allowed types), the patient exists ("Patient not found."),
then the given values (400 naming the first that does not fit).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.contract import InvalidArgument, NotFound
from service.filling.data import FillReader
from service.filling.exam_refs import references
from service.filling.field_values import FieldPlaces, GivenValue, apply_values
from service.filling.filler import FIELD_KEYS, PATIENT_COLUMNS, Filler, Practice, needs
from service.filling.history import APPOINTMENTS
from service.storage import (
    Query,
    Schema,
    Session,
    Sheet,
    SheetField,
    backends,
    driver_values,
    models,
    now_seconds,
    placeholders,
    row,
    run_transaction,
    schema_of,
    sheets_are_transactional,
)
from service.vocab import CREATABLE_SHEET_TYPES, EN_US, Culture, SheetFieldType, SheetType, od_name

__all__ = ["FIELD_COPIED", "SHEET_COPIED", "Practice", "create_sheet", "for_language"]


class _Keyed(Protocol):
    def __getitem__(self, key: Any, /) -> Any: ...


FieldDef = TypeVar("FieldDef", bound=_Keyed)

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


def for_language(field_defs: Sequence[FieldDef], language: str, key: Any = "Language") -> list[FieldDef]:
    """The field definitions for a patient's language: those in it, else those with none
    (`key`: where a definition holds its Language, a name or, in a row, a position)."""
    if language:
        chosen = [f for f in field_defs if f[key] == language]
        if chosen:
            return chosen
    return [f for f in field_defs if f[key] == ""]


# The one row that tells a missing definition (no row) from a missing patient
# (PatNum NULL): the patient is outer-joined on its key alone.
_HEAD = Query(
    sa.select(*(models.SHEETDEF.c[c] for c in SHEET_COPIED), *(models.PATIENT.c[c] for c in PATIENT_COLUMNS))
    .select_from(
        models.SHEETDEF.outerjoin(models.PATIENT, models.PATIENT.c.PatNum == sa.bindparam("pat_num"))
    )
    .where(models.SHEETDEF.c.SheetDefNum == sa.bindparam("sheet_def_num"))
)
_HEAD_NAMES = (*SHEET_COPIED, *PATIENT_COLUMNS)
# The database copies the definitions into the new fields itself (INSERT ... SELECT):
# only what filling reads is fetched, and only the values filling changed are sent back.
_TO_FILL = (*FIELD_KEYS, "SheetFieldDefNum", "Language", "RadioButtonGroup")
_FIELD_DEFS_TO_FILL = Query(
    sa.select(*(models.SHEETFIELDDEF.c[c] for c in _TO_FILL))
    .where(
        models.SHEETFIELDDEF.c.SheetDefNum == sa.bindparam("sheet_def_num"),
        models.SHEETFIELDDEF.c.Language.in_([sa.bindparam("language"), ""]),
    )
    .order_by(models.SHEETFIELDDEF.c.SheetFieldDefNum),
    raw=True,
)
_KEY, _TO_FILL_LANGUAGE = len(FIELD_KEYS), len(FIELD_KEYS) + 1
# The only columns filling changes (`Filler.fill`), by their place among FIELD_KEYS.
_KIND, _VALUE = FIELD_KEYS.index("FieldType"), FIELD_KEYS.index("FieldValue")
# Where given values find their columns in the rows filling fills.
_PLACES = FieldPlaces(
    *(
        _TO_FILL.index(c)
        for c in ("FieldType", "FieldName", "FieldValue", "RadioButtonValue", "RadioButtonGroup")
    )
)
_NAME = FIELD_KEYS.index("FieldName")
# The model's values of the columns a new row does not copy (none depends on the moment).
_SHEET_DEFAULTS = row(Sheet())
_FIELD_DEFAULTS = {c: v for c, v in row(SheetField()).items() if c not in FIELD_COPIED}


@functools.lru_cache(maxsize=16)
def _reader(schema: Schema) -> FillReader:
    return FillReader(schema)


async def create_sheet(
    engine: AsyncEngine,
    *,
    sheet_def_num: int,
    pat_num: int,
    internal_note: str,
    practice: Practice,
    now: datetime | None = None,
    culture: Culture = EN_US,
    values: Sequence[GivenValue] = (),
    apt_num: int = 0,
) -> int:
    """Create a patient's sheet and its filled-in fields from a SheetDef; returns the new SheetNum.

    Raises NotFound for a missing SheetDef or patient and InvalidArgument for a
    SheetDef of a type the API does not create, for `values` its fields do not
    take, or for an `apt_num` (0: none) that is not one of the patient's
    appointments; then nothing is written.
    `now` (default: the local time) is the sheet's DateTimeSheet and DateTSheetEdited.
    `practice` is the configured practice; Open Dental's `preference` rows win over it.
    """
    if now is None:
        now = now_seconds()
    elif now.tzinfo is not None:
        now = now.astimezone().replace(tzinfo=None)
    at = now.replace(microsecond=0)
    schema = await schema_of(engine)
    # Without transactions (MyISAM) the sheet stays hidden until all its fields are in.
    hidden = not await sheets_are_transactional(engine, (models.SHEET.name, models.SHEETFIELD.name))

    async def create(session: Session) -> int:
        return await _create(
            session,
            schema,
            hidden=hidden,
            sheet_def_num=sheet_def_num,
            pat_num=pat_num,
            internal_note=internal_note,
            practice=practice,
            now=at,
            culture=culture,
            values=values,
            apt_num=apt_num,
        )

    return await run_transaction(engine, create, snapshot=True)


async def _create(
    session: Session,
    schema: Schema,
    *,
    hidden: bool,
    sheet_def_num: int,
    pat_num: int,
    internal_note: str,
    practice: Practice,
    now: datetime,
    culture: Culture,
    values: Sequence[GivenValue],
    apt_num: int,
) -> int:
    heads = await session.rows(_HEAD, sheet_def_num=sheet_def_num, pat_num=pat_num)
    if not heads:
        raise NotFound("SheetDef not found.", field="SheetDefNum")
    head = dict(zip(_HEAD_NAMES, heads[0], strict=True))
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
    field_defs = await session.rows(_FIELD_DEFS_TO_FILL, sheet_def_num=sheet_def_num, language=language)
    chosen = for_language(field_defs, language, key=_TO_FILL_LANGUAGE)
    keys = tuple(range(len(FIELD_KEYS)))
    kind, value, name = keys[_KIND], keys[_VALUE], keys[_NAME]
    static_texts = [f[value] for f in chosen if f[kind] == SheetFieldType.StaticText]
    wanted = needs(sheet_type, static_texts, (f[name] for f in chosen if f[kind] == SheetFieldType.CheckBox))
    if apt_num:
        # The appointment is checked against the patient's even when no token uses it.
        wanted.add(APPOINTMENTS)
    exams = references(sheet_type, static_texts)
    data = await _reader(schema).read(session, head, wanted, now.date(), exams)
    if apt_num and not any(a.apt_num == apt_num and a.pat_num == pat_num for a in data.history.appointments):
        raise InvalidArgument("AptNum is not an appointment of this patient.", field="AptNum")
    # Every column is written: the ones not copied with the model's defaults,
    # the ones the model does not know with their type's neutral value.
    sheet = (
        _SHEET_DEFAULTS
        | {c: head[c] for c in SHEET_COPIED}
        | {
            "SheetDefNum": sheet_def_num,
            "PatNum": pat_num,
            "ClinicNum": head["ClinicNum"],
            "InternalNote": internal_note,
            "DateTimeSheet": now,
            "DateTSheetEdited": now,
            "IsDeleted": hidden,
        }
        | schema.fresh(models.SHEET)
    )
    filler = Filler(
        head,
        practice.with_preferences(data.preferences),
        now,
        sheet_type,
        data=data,
        culture=culture,
        apt_num=apt_num,
    )
    # Filled and given their values before the sheet is written: a value
    # refused leaves nothing behind, even where nothing is transactional.
    fields = [list(f) for f in chosen]
    filler.fill(fields, keys=keys)
    apply_values(fields, values, _PLACES)
    sheet_table = schema.writable(models.SHEET)
    sheet_num = await session.insert(sheet_table, sheet)
    constants = _FIELD_DEFAULTS | schema.fresh(models.SHEETFIELD) | {"SheetNum": sheet_num}
    field_table = schema.writable(models.SHEETFIELD)
    if chosen:
        await _copy_fields(session, field_table, sheet_def_num, chosen, fields, constants)
    if hidden:
        await session.execute(
            sa.update(sheet_table).where(sheet_table.c.SheetNum == sheet_num).values(IsDeleted=False)
        )
    return sheet_num


async def _copy_fields(
    session: Session,
    table: sa.Table,
    sheet_def_num: int,
    chosen: Sequence[Sequence[Any]],
    filled: Sequence[Sequence[Any]],
    constants: Mapping[str, Any],
) -> None:
    """The chosen definitions copied into new fields by the database, in their order,
    with the FieldTypes and FieldValues filling changed."""
    kind, value = _KIND, _VALUE
    types = [(f[_KEY], f[kind]) for f, d in zip(filled, chosen, strict=True) if f[kind] != d[kind]]
    values = [(f[_KEY], f[value]) for f, d in zip(filled, chosen, strict=True) if f[value] != d[value]]
    sql = _copy_sql(session.dialect, table, tuple(constants), len(types), len(values))
    params = [
        *(x for pair in types for x in pair),
        *(x for pair in values for x in pair),
        *driver_values(session.dialect, table, constants),
        sheet_def_num,
        chosen[0][_TO_FILL_LANGUAGE],
    ]
    await session.run(sql, params)


@functools.lru_cache(maxsize=256)
def _copy_sql(
    dialect: sa.Dialect, table: sa.Table, constants: tuple[str, ...], types: int, values: int
) -> str:
    """INSERT ... SELECT of the definitions of one SheetDef and language (in SheetFieldDefNum
    order), with `types` FieldTypes and `values` FieldValues given by SheetFieldDefNum.

    On PostgreSQL every parameter is cast to its column's type: a parameter in a
    SELECT list has no type of its own there."""
    quote = dialect.identifier_preparer.quote
    key = f"d.{quote('SheetFieldDefNum')}"
    marks = iter(placeholders(dialect, 2 * (types + values) + len(constants) + 2))
    typed = backends.of(dialect).casts_selected_parameters

    def mark(column: sa.Column[Any]) -> str:
        if not typed:
            return next(marks)
        return f"CAST({next(marks)} AS {column.type.compile(dialect=dialect)})"

    def given(column: str, count: int) -> str:
        copied = f"d.{quote(column)}"
        if not count:
            return copied
        pairs = " ".join(
            f"WHEN {mark(models.SHEETFIELDDEF.c.SheetFieldDefNum)} THEN {mark(table.c[column])}"
            for _ in range(count)
        )
        return f"CASE {key} {pairs} ELSE {copied} END"

    selected = [given("FieldType", types), given("FieldValue", values)]
    selected = [
        selected[0] if c == "FieldType" else selected[1] if c == "FieldValue" else f"d.{quote(c)}"
        for c in FIELD_COPIED
    ]
    names = ", ".join(quote(c) for c in (*FIELD_COPIED, *constants))
    given_constants = ", ".join(mark(table.c[c]) for c in constants)
    definition = models.SHEETFIELDDEF.c
    return (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "  # noqa: S608
        f"SELECT {', '.join(selected)}, {given_constants} "
        f"FROM {quote(models.SHEETFIELDDEF.name)} AS d "
        f"WHERE d.{quote('SheetDefNum')} = {mark(definition.SheetDefNum)} "
        f"AND d.{quote('Language')} = {mark(definition.Language)} ORDER BY {key}"
    )

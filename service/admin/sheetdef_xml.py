"""Open Dental's sheet-definition export format (`<SheetDef>` XML) to rows.

Open Dental writes it with .NET's XmlSerializer: one element per column, enums
by name, booleans as `true`/`false`, date-times as ISO 8601. Every column the
file carries is kept; keys (SheetDefNum, SheetFieldDefNum) are the exporting
database's, so new ones are assigned on import.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.storage import NO_DATETIME, SheetDef, SheetFieldDef, bulk_insert, models, row
from service.vocab import enums


class SheetDefFileError(ValueError):
    """The file is not a sheet definition we can import; says where and why."""


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text!r}")
    return text.lower() == "true"


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None, microsecond=0)


def _enum(enum: type[IntEnum]) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            return int(enums.by_name(enum, text))
        except KeyError:
            if text.lstrip("-").isdigit():
                return int(enum(int(text)))
            raise ValueError(f"{text!r} is not a {enum.__name__}") from None

    return parse


# The elements we read, by table, with their parsers. IsNew and ImageData are
# in-memory state of Open Dental's editor, not columns.
_SHEETDEF: dict[str, Callable[[str], Any]] = {
    "Description": str,
    "SheetType": _enum(enums.SheetType),
    "FontSize": float,
    "FontName": str,
    "Width": int,
    "Height": int,
    "IsLandscape": _bool,
    "PageCount": int,
    "IsMultiPage": _bool,
    "BypassGlobalLock": _enum(enums.BypassLockStatus),
    "HasMobileLayout": _bool,
    "DateTCreated": _datetime,
    "RevID": int,
    "AutoCheckSaveImage": _bool,
    "AutoCheckSaveImageDocCategory": int,
}
_SHEETFIELDDEF: dict[str, Callable[[str], Any]] = {
    "FieldType": _enum(enums.SheetFieldType),
    "FieldName": str,
    "FieldValue": str,
    "FontSize": float,
    "FontName": str,
    "FontIsBold": _bool,
    "XPos": int,
    "YPos": int,
    "Width": int,
    "Height": int,
    "GrowthBehavior": _enum(enums.GrowthBehavior),
    "RadioButtonValue": str,
    "RadioButtonGroup": str,
    "IsRequired": _bool,
    "TabOrder": int,
    "ReportableName": str,
    "TextAlign": _enum(enums.TextAlign),
    "IsPaymentOption": _bool,
    "ItemColor": int,
    "IsLocked": _bool,
    "TabOrderMobile": int,
    "UiLabelMobile": str,
    "UiLabelMobileRadioButton": str,
    "LayoutMode": _enum(enums.SheetFieldLayoutMode),
    "Language": str,
    "CanElectronicallySign": _bool,
    "IsSigProvRestricted": _bool,
}
_IGNORED = {"IsNew", "ImageData", "SheetDefNum", "SheetFieldDefNum", "SheetFieldDefs"}
# Column lengths of varchar(255) columns, checked so a long value is refused
# with an explanation rather than truncated or rejected by the database.
_MAX_LENGTHS = {
    "Description": 255,
    "FontName": 255,
    "FieldName": 255,
    "RadioButtonValue": 255,
    "RadioButtonGroup": 255,
    "ReportableName": 255,
    "Language": 255,
}


def _columns(element: ET.Element, parsers: dict[str, Callable[[str], Any]], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for child in element:
        if child.tag in _IGNORED or child.tag not in parsers:
            continue
        text = child.text or ""
        try:
            values[child.tag] = parsers[child.tag](text.strip() if parsers[child.tag] is not str else text)
        except ValueError as exc:
            raise SheetDefFileError(f"{where}: <{child.tag}> is invalid ({exc}).") from None
        limit = _MAX_LENGTHS.get(child.tag)
        if limit and len(values[child.tag]) > limit:
            raise SheetDefFileError(f"{where}: <{child.tag}> is longer than {limit} characters.")
    return values


def parse_sheetdef(source: str | bytes | Path) -> tuple[SheetDef, list[SheetFieldDef]]:
    """Parse one export; raises SheetDefFileError naming the file and the element."""
    name = source.name if isinstance(source, Path) else "sheet definition"
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
        # The operator's own export file; ElementTree resolves no external
        # entities and Python's expat bounds entity expansion.
        root = ET.fromstring(data)  # noqa: S314
    except OSError as exc:
        raise SheetDefFileError(f"{name}: cannot be read ({exc.strerror}).") from None
    except ET.ParseError as exc:
        raise SheetDefFileError(f"{name}: is not well-formed XML ({exc}).") from None
    if root.tag != "SheetDef":
        raise SheetDefFileError(f"{name}: the root element is <{root.tag}>, not <SheetDef>.")
    values = _columns(root, _SHEETDEF, name)
    for required in ("Description", "SheetType", "Width", "Height"):
        if required not in values:
            raise SheetDefFileError(f"{name}: <SheetDef> has no <{required}>.")
    if values["Width"] <= 0 or values["Height"] <= 0:
        raise SheetDefFileError(f"{name}: <Width> and <Height> must be positive.")
    values.setdefault("DateTCreated", NO_DATETIME)
    sheet_def = SheetDef(**values)
    container = root.find("SheetFieldDefs")
    field_defs = []
    for n, element in enumerate(container if container is not None else [], start=1):
        where = f"{name}: field {n}"
        if element.tag != "SheetFieldDef":
            raise SheetDefFileError(f"{where}: <{element.tag}> is not a <SheetFieldDef>.")
        field_values = _columns(element, _SHEETFIELDDEF, where)
        if "FieldType" not in field_values:
            raise SheetDefFileError(f"{where}: <SheetFieldDef> has no <FieldType>.")
        field_defs.append(SheetFieldDef(**field_values))
    return sheet_def, field_defs


async def insert_sheetdef(conn: AsyncConnection, sheet_def: SheetDef, field_defs: list[SheetFieldDef]) -> int:
    """Insert a definition and its fields (one bulk statement); returns the new SheetDefNum."""
    result = await conn.execute(sa.insert(models.SHEETDEF).values(row(sheet_def)))
    sheet_def_num = int(result.inserted_primary_key[0])  # type: ignore[index]
    rows = [row(f) | {"SheetDefNum": sheet_def_num} for f in field_defs]
    await bulk_insert(conn, models.SHEETFIELDDEF, rows)
    return sheet_def_num

"""Import of Open Dental's sheet-definition exports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from enum import IntEnum
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.sheetdef_xml import SheetDefFileError, insert_sheetdef, parse_sheetdef
from service.storage import db, models
from service.vocab import enums
from tests.support.requires import SHEETDEF_FILES, open_dental_files

ENUM_COLUMNS: dict[str, type[IntEnum]] = {
    "SheetType": enums.SheetType,
    "FieldType": enums.SheetFieldType,
    "GrowthBehavior": enums.GrowthBehavior,
    "TextAlign": enums.TextAlign,
    "LayoutMode": enums.SheetFieldLayoutMode,
    "BypassGlobalLock": enums.BypassLockStatus,
}
NOT_COLUMNS = {"IsNew", "ImageData", "SheetDefNum", "SheetFieldDefNum", "SheetFieldDefs"}


def _expected(element: ET.Element) -> dict[str, object]:
    """What the XML says each column holds, decoded independently of the importer."""
    values: dict[str, object] = {}
    for child in element:
        if child.tag in NOT_COLUMNS:
            continue
        text = child.text or ""
        if child.tag in ENUM_COLUMNS:
            values[child.tag] = int(enums.by_name(ENUM_COLUMNS[child.tag], text))
        elif text in ("true", "false"):
            values[child.tag] = text == "true"
        elif child.tag.startswith("Date"):
            values[child.tag] = datetime.fromisoformat(text)
        elif child.tag == "FontSize":
            values[child.tag] = float(text)
        elif text.lstrip("-").isdigit() and child.tag not in ("FieldValue", "FieldName"):
            values[child.tag] = int(text)
        else:
            values[child.tag] = text
    return values


@open_dental_files
def test_file_field_def_counts_are_those_of_open_dentals_files() -> None:
    counts = {path.name: len(parse_sheetdef(path)[1]) for path in SHEETDEF_FILES}
    assert counts == {
        "Consent.xml": 8,
        "ExamSheet.xml": 30,
        "FinancialAgreement.xml": 21,
        "HIPAA.xml": 14,
        "MedicalHist.xml": 249,
        "PatientLetter.xml": 11,
        "PatientRegistration.xml": 197,
    }


@open_dental_files
async def test_import_stores_every_attribute_of_every_file(engine: AsyncEngine) -> None:
    for path in SHEETDEF_FILES:
        sheet_def, field_defs = parse_sheetdef(path)
        async with db.write_transaction(engine) as conn:
            number = await insert_sheetdef(conn, sheet_def, field_defs)
        root = ET.parse(path).getroot()
        async with engine.connect() as conn:
            stored_def = (
                await conn.execute(sa.select(models.SHEETDEF).where(models.SHEETDEF.c.SheetDefNum == number))
            ).one()
            stored_fields = (
                await conn.execute(
                    sa.select(models.SHEETFIELDDEF)
                    .where(models.SHEETFIELDDEF.c.SheetDefNum == number)
                    .order_by(models.SHEETFIELDDEF.c.SheetFieldDefNum)
                )
            ).all()
        expected_def = _expected(root)
        assert {k: stored_def._mapping[k] for k in expected_def} == expected_def, path.name
        elements = root.findall("SheetFieldDefs/SheetFieldDef")
        assert len(stored_fields) == len(elements), path.name
        for element, stored in zip(elements, stored_fields, strict=True):
            expected = _expected(element)
            assert {k: stored._mapping[k] for k in expected} == expected, path.name


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<SheetDef><Description>x", "is not well-formed XML"),
        (b"<Sheet/>", "the root element is <Sheet>, not <SheetDef>"),
        (b"<SheetDef><SheetType>PatientLetter</SheetType></SheetDef>", "has no <Description>"),
        (
            b"<SheetDef><Description>x</Description><SheetType>Letterish</SheetType><Width>1</Width>"
            b"<Height>1</Height></SheetDef>",
            "<SheetType> is invalid ('Letterish' is not a SheetType)",
        ),
        (
            b"<SheetDef><Description>x</Description><SheetType>Consent</SheetType><Width>850</Width>"
            b"<Height>1100</Height><SheetFieldDefs><SheetFieldDef><FieldType>StaticText</FieldType>"
            b"<XPos>ten</XPos></SheetFieldDef></SheetFieldDefs></SheetDef>",
            "field 1: <XPos> is invalid",
        ),
    ],
)
def test_malformed_file_is_refused_with_the_reason(xml: bytes, message: str) -> None:
    with pytest.raises(SheetDefFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_sheetdef(xml)


def test_unreadable_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SheetDefFileError, match=r"missing\.xml: cannot be read"):
        parse_sheetdef(tmp_path / "missing.xml")

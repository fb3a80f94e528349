"""Rendered PDFs read back for the renderer's tests: words with their boxes, pixels, and sheets to render."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from pypdf import PdfReader

from service.admin.sheetdef_xml import parse_sheetdef
from service.filling.create import FIELD_COPIED, SHEET_COPIED
from service.render.fonts import FontSet, find_fonts
from service.storage.models import NO_DATETIME
from service.vocab.enums import SheetFieldType
from tests.support import ROOT
from tests.support.requires import unavailable

GOLDEN = ROOT / "tests" / "golden"
PT = 0.72
SIGNED = datetime(2026, 3, 4, 14, 5, 6)

TEXT_KINDS = (SheetFieldType.OutputText, SheetFieldType.InputField, SheetFieldType.StaticText)


def need_fonts() -> FontSet:
    """The host's fonts; the test skips (fails under SHEETS_TEST_REQUIRE_SERVICES) when some are missing."""
    found = find_fonts()
    missing = found.missing_packages()
    if missing:
        unavailable(f"the font packages {' '.join(missing)} are not installed")
    return found


def sheet_from_def(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sheet made from a definition file as CreateSheet makes it, every input and output filled in,
    every other check box checked and the signature boxes signed."""
    sheet_def, field_defs = parse_sheetdef(path)
    sheet = {column: getattr(sheet_def, column) for column in SHEET_COPIED}
    fields = []
    for n, field_def in enumerate(field_defs):
        field = {column: getattr(field_def, column) for column in FIELD_COPIED}
        field["DateTimeSig"] = NO_DATETIME
        if field["FieldType"] in (SheetFieldType.OutputText, SheetFieldType.InputField):
            # A middle initial's box holds a letter, not a word.
            field["FieldValue"] = f"Val{n}" if field["Width"] >= 80 else "ABCDEFGHIJ"[n % 10]
        elif field["FieldType"] == SheetFieldType.CheckBox:
            field["FieldValue"] = "X" if n % 2 else ""
        elif field["FieldType"] in (SheetFieldType.SigBox, SheetFieldType.SigBoxPractice):
            field["DateTimeSig"] = SIGNED
        fields.append(field)
    return sheet, fields


def field(kind: SheetFieldType, value: str = "", **columns: Any) -> dict[str, Any]:
    """A sheetfield row with Open Dental's defaults for what `columns` leaves out."""
    row: dict[str, Any] = {
        "FieldType": int(kind),
        "FieldName": "",
        "FieldValue": value,
        "FontSize": 10.0,
        "FontName": "Microsoft Sans Serif",
        "FontIsBold": False,
        "XPos": 100,
        "YPos": 100,
        "Width": 300,
        "Height": 40,
        "GrowthBehavior": 0,
        "TextAlign": 0,
        "ItemColor": -16777216,
        "DateTimeSig": NO_DATETIME,
        "RadioButtonValue": "",
    }
    return row | columns


def letter(**columns: Any) -> dict[str, Any]:
    """A portrait US-letter sheet row (850 x 1100 px)."""
    return {
        "Description": "Test",
        "Width": 850,
        "Height": 1100,
        "IsLandscape": False,
        "FontSize": 10.0,
    } | columns


@dataclass(frozen=True)
class Word:
    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    def find(self, text: str) -> list[Word]:
        return [word for word in self.words if word.text == text]


def read_pages(pdf: bytes) -> list[Page]:
    """Every page with its words and their boxes in points from the top left corner, read by pdfplumber."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [
            Page(
                float(page.width),
                float(page.height),
                tuple(
                    Word(word["text"], word["x0"], word["top"], word["x1"], word["bottom"])
                    for word in page.extract_words(x_tolerance=1, use_text_flow=True)
                ),
            )
            for page in document.pages
        ]


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text as pypdf extracts it (right-to-left runs in logical order)."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@dataclass(frozen=True)
class Raster:
    """One page at 72 dpi: a pixel per point."""

    width: int
    height: int
    channels: int
    data: bytes

    def at(self, x: float, y: float) -> tuple[int, ...]:
        offset = (int(y) * self.width + int(x)) * self.channels
        return tuple(self.data[offset : offset + self.channels])

    def darkest(self, left: float, top: float, right: float, bottom: float) -> int:
        """The lowest channel value in the region (255: all white)."""
        return min(
            min(self.at(x, y))
            for y in range(max(0, int(top)), min(self.height, int(bottom)))
            for x in range(max(0, int(left)), min(self.width, int(right)))
        )


def rasterize(pdf: bytes, page: int = 1, *, gray: bool = True, scale: float = 1.0) -> Raster:
    """The page (1-based) as PDFium draws it at 72 dpi times `scale`."""
    document = pdfium.PdfDocument(pdf)
    try:
        bitmap = document[page - 1].render(
            # Thin lines fully on their pixels, as a printer draws them, not blended with the paper.
            scale=scale,
            grayscale=gray,
            rev_byteorder=True,
            no_smoothpath=True,
        )
        channels = 1 if gray else 3
        row = bitmap.width * channels
        buffer = bytes(bitmap.buffer)
        # Rows may be padded to the bitmap's stride; a Raster's rows are not.
        data = b"".join(buffer[y * bitmap.stride : y * bitmap.stride + row] for y in range(bitmap.height))
        return Raster(bitmap.width, bitmap.height, channels, data)
    finally:
        document.close()


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)

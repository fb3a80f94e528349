"""Fonts: every one embedded with a Unicode map, chosen per character, so every script prints and extracts."""

from __future__ import annotations

import io
import logging
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from pypdf import PdfReader
from xhtml2pdf.config.resources import ResourceAccessError

from service.render import fonts
from service.render.config import RenderConfig
from service.render.draw import worker as render
from service.render.draw.worker import render_sheet, render_sheet_pdf
from service.render.pool import PdfRenderer
from service.vocab.enums import SheetFieldType
from tests.support.render_pdf import field, letter, need_fonts, page_texts, rasterize, read_pages

BASE14 = {
    "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique", "Helvetica", "Helvetica-Bold",
    "Helvetica-Oblique", "Helvetica-BoldOblique", "Times-Roman", "Times-Bold", "Times-Italic",
    "Times-BoldItalic", "Symbol", "ZapfDingbats",
}  # fmt: skip

NAMES = {
    "Latin": "Nguyễn Thị Minh Khai",
    "Greek": "Αλέξανδρος Παπαδόπουλος",
    "Cyrillic": "Дмитрий Иванов",
    "Hebrew": "שלום עולם",
    "Arabic": "مرحبا بكم",
    "Chinese": "李小龍",
    "Japanese": "山田 はなこ",
    "Korean": "김민준",
}
# No font of any chain draws Egyptian hieroglyphs.
NO_FONT_HAS = "\U00013000"


@pytest.fixture(scope="module", autouse=True)
def host_fonts() -> fonts.FontSet:
    return need_fonts()


def names_sheet() -> list[dict[str, Any]]:
    return [
        field(SheetFieldType.OutputText, name, YPos=100 + 40 * n, FontName=face)
        for n, name in enumerate(NAMES.values())
        for face in ("Arial",)
    ] + [
        field(SheetFieldType.StaticText, "Times " + NAMES["Cyrillic"], YPos=500, FontName="Times New Roman"),
        field(SheetFieldType.StaticText, "Mono " + NAMES["Chinese"], YPos=540, FontName="Courier New"),
        field(SheetFieldType.StaticText, "Bold " + NAMES["Greek"], YPos=580, FontIsBold=True),
    ]


def pdf_fonts(pdf: bytes) -> list[dict[str, Any]]:
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for reference in resources.get("/Font", {}).values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            found.append(
                {
                    "name": str(font["/BaseFont"]).lstrip("/"),
                    "subtype": font["/Subtype"],
                    "unicode": "/ToUnicode" in font,
                    "embedded": descriptor is not None and "/FontFile2" in descriptor.get_object(),
                }
            )
    return found


def test_every_font_is_an_embedded_truetype_subset_with_a_unicode_map_and_none_is_base_14() -> None:
    pdf = render_sheet_pdf(letter(), names_sheet())
    used = pdf_fonts(pdf)

    assert {f["name"].split("+", 1)[1] for f in used} >= {
        "LiberationSans", "LiberationSans-Bold", "LiberationSerif", "LiberationMono", "DejaVuSans",
        "DroidSansFallback", "NanumGothic",
    }  # fmt: skip
    for font in used:
        assert font["subtype"] == "/TrueType", font
        assert font["embedded"], font
        assert font["unicode"], font
        tag, _, _ = font["name"].partition("+")
        assert re.fullmatch("[A-Z]{6}", tag), font  # a subset's tag
        assert font["name"].split("+", 1)[1] not in BASE14, font


@pytest.mark.parametrize("script", NAMES)
def test_names_in_every_script_round_trip_through_the_pdf(script: str) -> None:
    rendered = render_sheet(letter(), names_sheet())
    (text,) = page_texts(rendered.pdf)

    assert rendered.replaced_characters == 0
    # Arabic prints in its shaped (presentation) forms, which NFKC folds back.
    assert unicodedata.normalize("NFKC", NAMES[script]) in unicodedata.normalize("NFKC", text)


def test_hebrew_and_arabic_are_laid_out_right_to_left_and_arabic_is_shaped() -> None:
    rows = [
        field(SheetFieldType.OutputText, "שלום", YPos=100),
        field(SheetFieldType.OutputText, "مرحبا", YPos=200),
    ]
    with pdfplumber.open(io.BytesIO(render_sheet_pdf(letter(), rows))) as document:
        chars = document.pages[0].chars
    hebrew = [c for c in chars if c["top"] < 120]
    arabic = [c for c in chars if c["top"] > 120]

    by_x = "".join(c["text"] for c in sorted(hebrew, key=lambda c: c["x0"]))
    assert by_x == "שלום"[::-1]  # the first letter rightmost
    assert all(0xFE70 <= ord(c["text"]) <= 0xFEFF for c in arabic)  # joined (presentation) forms
    first = next(c for c in arabic if unicodedata.normalize("NFKC", c["text"]) == "م")
    assert first["x0"] == max(c["x0"] for c in arabic)


def test_a_character_no_font_has_prints_as_a_visible_replacement_and_is_counted() -> None:
    row = field(SheetFieldType.StaticText, f"A{NO_FONT_HAS}B", FontSize=30.0, Height=60)
    rendered = render_sheet(letter(), [row])
    (page,) = read_pages(rendered.pdf)

    assert rendered.replaced_characters == 1
    assert page.text == "A\ufffdB"
    (word,) = page.words
    image = rasterize(rendered.pdf)
    middle = (word.x_min + word.x_max) / 2
    assert image.darkest(middle - 4, word.y_min, middle + 4, word.y_max) < 128  # the replacement is drawn


async def test_the_renderer_counts_replaced_characters_across_its_workers() -> None:
    async with PdfRenderer(1) as renderer:
        await renderer.render(letter(), [field(SheetFieldType.StaticText, NO_FONT_HAS * 3)])
        await renderer.render(letter(), [field(SheetFieldType.StaticText, "fine")])

    assert renderer.counts.replaced_characters == 3


def test_without_any_font_latin_still_prints_and_the_rest_is_replaced(tmp_path: Path) -> None:
    bare = RenderConfig(font_dirs=(tmp_path,), system_fonts=False)
    rendered = render_sheet(letter(), [field(SheetFieldType.StaticText, "Hello Zoë Жук")], bare)

    assert [t.strip() for t in page_texts(rendered.pdf)] == ["Hello Zoë ???"]
    assert rendered.replaced_characters == 3


def test_missing_font_packages_are_named_in_the_log_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="service.fonts"):
        PdfRenderer(1, config=RenderConfig(font_dirs=(tmp_path,), system_fonts=False)).close()

    (record,) = [r for r in caplog.records if "PDF fonts missing" in r.getMessage()]
    for package in fonts.PACKAGES:
        assert package in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="service.fonts"):
        PdfRenderer(1).close()
    assert not [r for r in caplog.records if "PDF fonts missing" in r.getMessage()]


def test_font_dirs_are_searched_before_the_system_folders(tmp_path: Path, host_fonts: fonts.FontSet) -> None:
    own = tmp_path / "fonts" / "LiberationSans-Regular.ttf"
    own.parent.mkdir()
    shutil.copy(host_fonts.files["LiberationSans"], own)
    found = fonts.find_fonts([tmp_path])

    assert found.files["LiberationSans"] == own
    assert found.files["DejaVuSans"] == host_fonts.files["DejaVuSans"]
    assert fonts.find_fonts([tmp_path], system=False).files == {"LiberationSans": own}


def test_the_coverage_report_names_the_font_each_script_prints_in(tmp_path: Path) -> None:
    lines = fonts.describe(fonts.find_fonts())
    sans = next(line for line in lines if line.startswith("sans prints:"))

    assert "Latin=LiberationSans" in sans
    assert "Arabic=DejaVuSans" in sans
    assert "Chinese=DroidSansFallback" in sans
    assert "Korean=NanumGothic" in sans
    assert "MISSING" not in "".join(lines)
    bare = fonts.describe(fonts.find_fonts([tmp_path], system=False))
    assert "fonts missing: install the Debian packages " + " ".join(fonts.PACKAGES) in bare
    assert any("Latin=helvetica" in line for line in bare)
    assert any("Korean=MISSING" in line for line in bare)


def test_the_fetch_policy_allows_the_font_folders_and_nothing_else(host_fonts: fonts.FontSet) -> None:
    policy = render.worker().engine(RenderConfig()).story.policy

    for path in host_fonts.files.values():
        policy.check_path(path)
    for refused in ("/etc/passwd", str(Path(__file__))):
        with pytest.raises(ResourceAccessError):
            policy.check_path(refused)
    with pytest.raises(ResourceAccessError):
        policy.check_url("http://127.0.0.1/logo.png")

"""Plain text is laid out and drawn without xhtml2pdf's parse, in the lines and places xhtml2pdf gives it."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from service.render.config import RenderConfig
from service.render.draw import text
from service.render.draw import worker as render
from service.render.draw.worker import render_sheet_pdf
from service.vocab.enums import GrowthBehavior, SheetFieldType, TextAlign
from tests.support.render_pdf import SIGNED, field, letter, need_fonts, sheet_from_def
from tests.support.requires import open_dental_files, sheetdef_params

# What differs between the two ways of measuring a line: the order floats are added in.
ROOM_TOLERANCE = 1e-3
POSITION_TOLERANCE = 0.01  # points

_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    ".,;:!?()[]{}<>&\"'/-_+=*#%$@|~^`\\"
    "éüñçÅßØ€£\u2013\u2014\u2026\u201c\u201d\u2018\u2019«»°±\u00d7÷ΩλЖяệữ     \n"
)
_EDGES = (
    "Answer 0",
    " leading space",
    "trailing space ",
    "two  spaces   and three",
    "a\n b",
    "a \nb",
    "a\n\nb",
    "ends with a break\n",
    "ends with two\n\n",
    "\nstarts with a break",
    "spaces after the last break\n  ",
    "a\n \n ",
    " \n  \n x",
    "x" * 90,
    "short " + "W" * 60 + " after",
    "&amp; <b>not bold</b> &lt;",
    "Medical History",
    "I certify that the above information is complete and correct to the best of my knowledge.",
)


def _samples(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)  # noqa: S311 - reproducible inputs, not secrets
    samples = list(_EDGES)
    while len(samples) < count:
        if rnd.random() < 0.4:
            words = (
                "".join(rnd.choice("abcdefghijklm") for _ in range(rnd.randint(1, 25))) for _ in range(30)
            )
            sample = " ".join(list(words)[: rnd.randint(1, 30)])
        else:
            sample = "".join(rnd.choice(_ALPHABET) for _ in range(rnd.choice((1, 4, 12, 40, 150))))
        if sample.strip():
            samples.append(sample)
    return samples


@pytest.fixture
def story() -> text.Story:
    need_fonts()
    return render.worker().engine(RenderConfig()).story


def _box(content: str, chain: str, bold: bool, size: float, width: float) -> text.TextBox:
    palette = render.worker().engine(RenderConfig()).palette
    return text.TextBox(content, palette.css[chain], bold, size, "left", "#000000", False, width, 0.0)


def _xhtml2pdf_lines(
    story: text.Story, box: text.TextBox, size: float
) -> tuple[list[tuple[str, float]], float]:
    [flowable] = story.parse(text._paragraph(box, size))
    _, height = flowable.wrap(box.width, 1e7)
    lines = []
    for line in flowable.blPara.lines:
        pieces = (word.text for word in line.words if not hasattr(word, "lineBreak"))
        joined = "".join(piece.decode() if isinstance(piece, bytes) else piece for piece in pieces)
        lines.append((" ".join(joined.split()), line.extraSpace))
    return lines, height


@pytest.mark.parametrize("chain", ["sans", "serif", "mono"])
@pytest.mark.parametrize("bold", [False, True], ids=["regular", "bold"])
def test_plain_text_breaks_into_the_lines_xhtml2pdf_breaks_it_into(
    story: text.Story, chain: str, bold: bool
) -> None:
    rnd = random.Random(f"{chain}{bold}")  # noqa: S311 - reproducible inputs
    for sample in _samples(len(chain) + bold, 160):
        width = rnd.choice((14.0, 36.0, 55.5, 100.0, 144.72, 400.0))
        # Shrunk sizes are arbitrary floats; the CSS says them to two decimals.
        size = rnd.choice((4.0, 6.0, 8.5, 10.0, 12.0, 20.0)) * rnd.choice((1.0, 0.93, 0.8712345))
        box = _box(sample, chain, bold, size, width)
        font = text.plain_font(box)
        assert font is not None, sample

        plain, height = text.plain_layout(box, font, size)
        expected, expected_height = _xhtml2pdf_lines(story, box, size)

        where = f"{sample!r} at {size} pt in {width} pt"
        assert [line for line, _ in plain.lines] == [line for line, _ in expected], where
        for (_, room), (_, expected_room) in zip(plain.lines, expected, strict=True):
            assert room == pytest.approx(expected_room, abs=ROOM_TOLERANCE), where
        assert height == pytest.approx(expected_height, abs=1e-6), where


@pytest.mark.parametrize(
    "content",
    [
        "שלום",  # right to left
        "abc שלום",  # a left-to-right paragraph with a right-to-left run in it
        "مرحبا",  # shaped
        "abc 123 ١٢٣",  # Arabic digits
        "李龍",  # in a later font of the chain
        "x\u0301",  # a combining mark
        "a\u00a0b",  # a space that does not break
        "a\u2003b",  # another kind of space
        "\ufffd",  # the replacement character, from a later font
    ],
)
def test_text_that_is_not_plain_is_left_to_xhtml2pdf(content: str) -> None:
    need_fonts()
    assert text.plain_font(_box("Plain text", "sans", False, 10, 100)) == "LiberationSans"
    box = _box(content, "sans", False, 10, 100)
    assert text.plain_font(box._replace(rtl=text.is_rtl(content))) is None


def test_a_chain_in_the_base_14_faces_is_left_to_xhtml2pdf() -> None:
    need_fonts()
    box = text.TextBox("Plain text", "helvetica", False, 10, "left", "#000000", False, 100, 0)
    assert text.plain_font(box) is None


def _chars(pdf: bytes) -> list[list[tuple[str, str, float, float, float, Any]]]:
    """Each page's drawn characters but spaces: text, font, size, left, baseline and colour."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [
            [
                (
                    char["text"],
                    char["fontname"].split("+")[-1],
                    round(char["size"], 3),
                    char["x0"],
                    char["y0"],
                    tuple(char["non_stroking_color"] or ()),
                )
                for char in page.chars
                if not char["text"].isspace()
            ]
            for page in document.pages
        ]


def _assert_drawn_alike(
    monkeypatch: pytest.MonkeyPatch, sheet: dict[str, Any], fields: Sequence[dict[str, Any]]
) -> None:
    render.forget_static_layers()
    fast = _chars(render_sheet_pdf(sheet, fields))
    with monkeypatch.context() as patched:
        patched.setattr(text, "plain_font", lambda box: None)
        render.forget_static_layers()
        slow = _chars(render_sheet_pdf(sheet, fields))
    render.forget_static_layers()

    assert len(fast) == len(slow)
    for page, (got, expected) in enumerate(zip(fast, slow, strict=True), 1):
        assert len(got) == len(expected), f"page {page}"
        assert sum(len(chars) for chars in fast) > 0
        for char, want in zip(got, expected, strict=True):
            assert char[:3] == want[:3], f"page {page}: {char} where xhtml2pdf draws {want}"
            assert char[5] == want[5], f"page {page}: {char} where xhtml2pdf draws {want}"
            assert char[3] == pytest.approx(want[3], abs=POSITION_TOLERANCE), f"page {page}: {char} vs {want}"
            assert char[4] == pytest.approx(want[4], abs=POSITION_TOLERANCE), f"page {page}: {char} vs {want}"


def test_plain_text_is_drawn_where_xhtml2pdf_draws_it(monkeypatch: pytest.MonkeyPatch) -> None:
    need_fonts()
    long = " ".join(_samples(7, 40))
    fields = [
        field(SheetFieldType.StaticText, "Left aligned\nsecond line", XPos=40, YPos=30, Width=200, Height=60),
        field(
            SheetFieldType.StaticText,
            "Centred in red, and bold",
            XPos=40,
            YPos=100,
            Width=120,
            TextAlign=int(TextAlign.Center),
            FontIsBold=True,
            ItemColor=-65536,
        ),
        field(
            SheetFieldType.OutputText,
            "Flush right  with  spaces ",
            XPos=300,
            YPos=100,
            Width=150,
            TextAlign=int(TextAlign.Right),
            FontName="Times New Roman",
            FontSize=12.5,
        ),
        field(
            SheetFieldType.InputField,
            "Courier " * 12,
            XPos=40,
            YPos=160,
            Width=180,
            FontName="Courier New",
            ItemColor=-12944427,
        ),
        # Shrunk until it fits, and one that does not even at the smallest size: clipped.
        field(SheetFieldType.InputField, "Shrinks to fit " * 8, XPos=40, YPos=230, Width=120, Height=30),
        field(SheetFieldType.InputField, "Clipped " * 200, XPos=300, YPos=230, Width=100, Height=20),
        field(SheetFieldType.InputField, "W" * 80, XPos=40, YPos=300, Width=90, Height=200),
        # Grows over the page break: its lines are split between two pages.
        field(
            SheetFieldType.InputField,
            long,
            XPos=40,
            YPos=900,
            Width=500,
            Height=20,
            GrowthBehavior=int(GrowthBehavior.DownGlobal),
        ),
        field(SheetFieldType.SigBox, XPos=500, YPos=300, Width=200, Height=60, DateTimeSig=SIGNED),
        field(SheetFieldType.ComboBox, "Chosen;Chosen|Other", XPos=500, YPos=400, Width=150, Height=20),
    ]
    _assert_drawn_alike(monkeypatch, letter(), fields)


@open_dental_files
@pytest.mark.parametrize("path", sheetdef_params())
def test_open_dentals_sheets_print_their_text_where_xhtml2pdf_put_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_fonts()
    _assert_drawn_alike(monkeypatch, *sheet_from_def(path))

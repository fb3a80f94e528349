"""Grown and paged sheets as printed: what moves, what goes to which page, the bands, splits, same bytes."""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from service.render.draw.worker import render_sheet_pdf
from service.render.pool import PdfRenderer
from service.vocab.enums import GrowthBehavior, SheetFieldType, SheetType
from tests.support.render_pdf import PT, field, letter, page_count, rasterize, read_pages

SLACK = 2.0  # points


def lines(n: int, word: str = "Line") -> str:
    return "\r\n".join(f"{word}{i}" for i in range(n))


def line_at(y: float, x: float = 100) -> dict[str, object]:
    return field(SheetFieldType.Line, XPos=x, YPos=y, Width=300, Height=0)


def test_a_grown_down_global_field_pushes_everything_below_it_by_its_growth() -> None:
    grower = field(
        SheetFieldType.InputField, lines(6), YPos=100, Height=20, GrowthBehavior=GrowthBehavior.DownGlobal
    )
    below = field(SheetFieldType.StaticText, "Below", YPos=130, XPos=500)
    same_y = field(SheetFieldType.StaticText, "Beside", YPos=100, XPos=500)
    (page,) = read_pages(render_sheet_pdf(letter(), [grower, below, same_y]))

    last = page.find("Line5")[0]
    (moved,) = page.find("Below")
    grown_px = (last.y_max - 100 * PT) / PT
    assert grown_px > 6 * 10 * 1.1 / PT  # six 10 pt lines, not squeezed into 20 px
    assert moved.y_min == pytest.approx((130 + round(grown_px + 0.5) - 20) * PT, abs=SLACK + 1)
    assert page.find("Beside")[0].y_min == pytest.approx(100 * PT, abs=SLACK)


def test_a_grown_down_local_field_pushes_what_it_overlaps_and_leaves_a_field_aside() -> None:
    grower = field(
        SheetFieldType.InputField,
        lines(6),
        YPos=100,
        Width=300,
        Height=20,
        GrowthBehavior=GrowthBehavior.DownLocal,
    )
    under = field(SheetFieldType.StaticText, "Under", YPos=130, XPos=100, Width=100)
    aside = field(SheetFieldType.StaticText, "Aside", YPos=130, XPos=500, Width=100)
    (page,) = read_pages(render_sheet_pdf(letter(), [grower, under, aside]))

    assert page.find("Under")[0].y_min > page.find("Line5")[0].y_max
    assert page.find("Aside")[0].y_min == pytest.approx(130 * PT, abs=SLACK)


def test_a_field_without_growth_shrinks_its_text_into_its_box_and_moves_nothing() -> None:
    fixed = field(SheetFieldType.InputField, lines(6), YPos=100, Height=40)
    under = field(SheetFieldType.StaticText, "Under", YPos=145)
    (page,) = read_pages(render_sheet_pdf(letter(), [fixed, under]))

    assert page.find("Line5")[0].y_max <= 140 * PT + SLACK
    assert page.find("Under")[0].y_min == pytest.approx(145 * PT, abs=SLACK)


def test_growing_is_done_on_a_copy_and_rendering_twice_gives_the_same_bytes() -> None:
    rows = [
        field(
            SheetFieldType.InputField,
            lines(80),
            YPos=900,
            Height=20,
            GrowthBehavior=GrowthBehavior.DownGlobal,
        ),
        field(SheetFieldType.StaticText, "After", YPos=950),
        # Kept for later renders, and split at the break: the kept layout must stay whole.
        field(SheetFieldType.StaticText, lines(30, "Kept"), XPos=500, YPos=800, Height=400),
    ]
    before = copy.deepcopy(rows)
    first = render_sheet_pdf(letter(), rows)

    assert rows == before
    assert render_sheet_pdf(letter(), rows) == first
    kept = [w.text for page in read_pages(first) for w in page.words if w.text.startswith("Kept")]
    assert kept == [f"Kept{n}" for n in range(30)]


async def test_the_same_sheet_renders_to_the_same_bytes_in_another_process() -> None:
    rows = [field(SheetFieldType.StaticText, "Same Привет 李"), field(SheetFieldType.Rectangle, YPos=300)]
    async with PdfRenderer(1) as renderer:
        elsewhere = await renderer.render(letter(), rows)

    assert elsewhere == render_sheet_pdf(letter(), rows)
    assert b"D:20000101000000" in elsewhere  # reportlab's invariant date: no clock in the file


def test_page_mapping_at_1039_and_1040_with_bands_after_the_first_page() -> None:
    pdf = render_sheet_pdf(letter(), [line_at(1039), line_at(1040, x=400), line_at(1500)])
    first, second = rasterize(pdf, 1), rasterize(pdf, 2)

    assert page_count(pdf) == 2
    assert first.darkest(150, 1039 * PT - 1, 250, 1039 * PT + 2) < 160  # y 1039: last row of page 1
    assert first.darkest(400 * PT, 1030 * PT, 650 * PT, 1100 * PT) == 255
    assert second.darkest(400 * PT + 10, 40 * PT - 1, 650 * PT, 40 * PT + 2) < 160  # y 1040: page 2 at 40
    assert second.darkest(150, 500 * PT - 1, 250, 500 * PT + 2) < 160  # y 1500 at 500


def test_a_box_across_the_break_leaves_the_bottom_band_and_the_next_top_band_blank() -> None:
    rect = field(SheetFieldType.Rectangle, XPos=100, YPos=900, Width=300, Height=400)
    pdf = render_sheet_pdf(letter(), [rect])
    first, second = rasterize(pdf, 1), rasterize(pdf, 2)

    assert page_count(pdf) == 2
    assert first.darkest(99 * PT, 950 * PT, 101 * PT + 1, 1035 * PT) < 160  # left side down to the break
    assert first.darkest(0, 1041 * PT, 612, 792) == 255  # bottom band
    assert second.darkest(0, 0, 612, 39 * PT) == 255  # top band
    assert second.darkest(99 * PT, 45 * PT, 101 * PT + 1, 290 * PT) < 160  # the left side goes on
    assert second.darkest(150 * PT, 299 * PT, 350 * PT, 301 * PT + 1) < 160  # its bottom at 1300 - 1000


def test_a_long_text_splits_between_lines_at_the_break_and_continues_at_the_next_top_margin() -> None:
    long = field(
        SheetFieldType.InputField, lines(40), YPos=700, Height=20, GrowthBehavior=GrowthBehavior.DownGlobal
    )
    after = field(SheetFieldType.StaticText, "After", YPos=730)
    first, second = read_pages(render_sheet_pdf(letter(), [long, after]))

    on_first = [int(w.text[4:]) for w in first.words if w.text.startswith("Line")]
    on_second = [int(w.text[4:]) for w in second.words if w.text.startswith("Line")]
    assert on_first + on_second == list(range(40))  # every line once, none cut
    assert on_first
    assert on_second
    assert max(w.y_max for w in first.words) <= 1040 * PT
    assert min(w.y_min for w in second.words) == pytest.approx(41 * PT, abs=3)
    (moved,) = second.find("After")
    assert moved.y_min > max(w.y_max for w in second.words if w.text.startswith("Line"))


def test_a_text_longer_than_two_pages_prints_each_line_once_on_three() -> None:
    long = field(
        SheetFieldType.InputField, lines(120), YPos=700, Height=20, GrowthBehavior=GrowthBehavior.DownGlobal
    )
    pages = read_pages(render_sheet_pdf(letter(), [long]))

    per_page = [[int(w.text[4:]) for w in page.words] for page in pages]
    assert len(pages) == 3
    assert all(per_page)
    assert [n for page in per_page for n in page] == list(range(120))
    for page in pages[1:]:
        assert min(w.y_min for w in page.words) >= 40 * PT - 1  # glyph boxes reach a little above a line
    for page in pages:
        assert max(w.y_max for w in page.words) <= 1040 * PT


def test_a_signed_signature_box_across_the_break_moves_whole_to_the_next_page() -> None:
    sig = field(SheetFieldType.SigBox, YPos=1000, Height=80, DateTimeSig=datetime(2026, 1, 2, 9, 0))
    first, second = read_pages(render_sheet_pdf(letter(), [sig, line_at(1500)]))

    assert first.text == ""
    (signed,) = second.find("Signed:")
    assert signed.y_min == pytest.approx((1041 + 80 - 17 - 1000) * PT, abs=SLACK)


@pytest.mark.parametrize("kind", [SheetType.LabelPatient, SheetType.Rx, SheetType.DepositSlip])
def test_labels_rx_and_deposit_slips_are_one_page_without_bands(kind: SheetType) -> None:
    sheet = letter(SheetType=int(kind))
    rows = [
        field(SheetFieldType.StaticText, "Band", YPos=1050),
        field(SheetFieldType.StaticText, "Gone", YPos=1500),
    ]
    pdf = render_sheet_pdf(sheet, rows)
    (page,) = read_pages(pdf)

    assert page.text == "Band"
    assert page.find("Band")[0].y_min == pytest.approx(1050 * PT, abs=SLACK)


def test_a_box_of_no_height_prints_nothing_unless_it_may_grow() -> None:
    fixed = field(SheetFieldType.InputField, "Fixed", YPos=100, Height=0)
    narrow = field(
        SheetFieldType.InputField, "Narrow", YPos=150, Width=0, GrowthBehavior=GrowthBehavior.DownGlobal
    )
    growing = field(
        SheetFieldType.InputField, "Growing", YPos=200, Height=0, GrowthBehavior=GrowthBehavior.DownGlobal
    )
    (page,) = read_pages(render_sheet_pdf(letter(), [fixed, narrow, growing]))

    assert page.text == "Growing"


def test_an_unchecked_check_box_below_the_page_still_makes_a_page() -> None:
    unchecked = field(SheetFieldType.CheckBox, "", YPos=1500, Width=13, Height=13)
    pdf = render_sheet_pdf(letter(), [unchecked])

    assert page_count(pdf) == 2
    assert rasterize(pdf, 2).darkest(0, 0, 612, 792) == 255


def test_fields_that_draw_nothing_still_count_for_the_pages_as_in_open_dental() -> None:
    parameter = field(SheetFieldType.Parameter, "PatNum", YPos=1500)
    pdf = render_sheet_pdf(letter(), [field(SheetFieldType.StaticText, "Here"), parameter])

    assert page_count(pdf) == 2
    assert [page.text for page in read_pages(pdf)] == ["Here", ""]

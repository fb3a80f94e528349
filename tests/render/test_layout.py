"""GrowthBehavior and pages as Open Dental's CalculateHeights, on boxes in pixels (exact numbers)."""

from __future__ import annotations

import math
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.render.draw.layout import Item, Kind, break_pages, grow, page_count, place
from service.vocab.enums import GrowthBehavior

H = 1100  # a US-letter page, in pixels


def text(y: float, *, x: float = 100, w: float = 300, h: float = 20, text_px: float = 0, lines: int = 1,
         growth: GrowthBehavior = GrowthBehavior.None_) -> Item:  # fmt: skip
    return Item(0, Kind.TEXT, x, y, w, h, int(growth), text_px, lines)


def box(y: float, *, x: float = 100, w: float = 300, h: float = 20, kind: Kind = Kind.OTHER) -> Item:
    return Item(0, kind, x, y, w, h)


def test_down_global_grows_to_the_text_and_moves_every_field_below_by_the_growth() -> None:
    grower = text(100, text_px=60.2, growth=GrowthBehavior.DownGlobal)
    below, far_aside, same_y, above = box(150), box(900, x=600), box(100, x=600), box(50)
    grow([above, grower, below, far_aside, same_y])

    assert grower.height == 61  # whole pixels, rounded up
    assert (below.y, far_aside.y) == (191, 941)
    assert (same_y.y, above.y) == (100, 50)


def test_down_local_moves_what_its_grown_box_overlaps_and_transitively_what_that_overlaps() -> None:
    grower = text(100, text_px=60, growth=GrowthBehavior.DownLocal)  # grows 40: reaches y 100 + 60 + 40 + 1
    under = box(130)  # overlaps the grown box
    deeper = box(190)  # inside the growth's reach below the grown box
    next_in_chain = box(250, x=350, w=100)  # overlapped by `deeper` on its way down (190..250 + 1)
    aside = box(130, x=500)  # no X overlap
    same_y = box(100, x=500)
    out_of_reach = box(400)
    items = [grower, under, deeper, next_in_chain, aside, same_y, out_of_reach]
    grow(items)

    assert grower.height == 60
    assert (under.y, deeper.y, next_in_chain.y) == (170, 230, 290)
    assert (aside.y, same_y.y, out_of_reach.y) == (130, 100, 400)


def test_down_local_reaches_the_growth_plus_1_px_below_its_grown_box() -> None:
    grower = text(100, text_px=60, growth=GrowthBehavior.DownLocal)  # box 100..160, reach to 201
    within, just_out = box(200, x=100, w=100), box(201, x=300, w=100)
    grow([grower, within, just_out])

    assert (within.y, just_out.y) == (240, 201)


def test_down_local_never_moves_a_drawing_and_down_global_does() -> None:
    local = text(100, text_px=60, growth=GrowthBehavior.DownLocal)
    drawing = box(130)
    drawing.pushed_locally = False
    grow([local, drawing])
    assert drawing.y == 130

    down = text(100, text_px=60, growth=GrowthBehavior.DownGlobal)
    grow([down, drawing])
    assert drawing.y == 170


def test_a_field_is_moved_once_however_many_moved_fields_overlap_it() -> None:
    grower = text(100, w=400, text_px=50, growth=GrowthBehavior.DownLocal)
    left, right = box(125, w=100), box(125, x=300, w=100)
    both = box(160, w=400)
    grow([grower, left, right, both])

    assert (left.y, right.y, both.y) == (155, 155, 190)


@pytest.mark.parametrize("growth", list(GrowthBehavior))
def test_a_box_taller_than_its_text_never_shrinks_and_moves_nothing(growth: GrowthBehavior) -> None:
    field, below = text(100, h=50, text_px=12, growth=growth), box(160)
    grow([field, below])

    assert (field.height, below.y) == (50, 160)


@pytest.mark.parametrize(
    "growth",
    [
        GrowthBehavior.FillDown,
        GrowthBehavior.FillRight,
        GrowthBehavior.FillRightDown,
        GrowthBehavior.FillDownFitColumns,
    ],
)
def test_fill_behaviours_grow_without_moving_anything(growth: GrowthBehavior) -> None:
    field, below = text(100, text_px=80, growth=growth), box(125)
    grow([field, below])

    assert (field.height, below.y) == (80, 125)


def test_none_keeps_its_box() -> None:
    field, below = text(100, text_px=80), box(125)
    grow([field, below])

    assert (field.height, below.y) == (20, 125)


def test_growth_is_applied_top_down_so_a_moved_field_grows_where_it_lands() -> None:
    first = text(100, text_px=60, growth=GrowthBehavior.DownGlobal)
    second = text(150, text_px=50, growth=GrowthBehavior.DownGlobal)
    last = box(300)
    grow([last, second, first])

    assert (second.y, second.height, last.y) == (190, 50, 370)


@pytest.mark.parametrize(("lowest_bottom", "pages"), [(1100, 1), (1101, 2), (2040, 2), (2041, 3), (5040, 5)])
def test_page_count_is_one_up_to_the_page_height_then_per_printable_height(
    lowest_bottom: int, pages: int
) -> None:
    assert page_count([box(10), box(lowest_bottom - 20)], H) == pages


def test_the_first_page_shows_y_below_1040_and_the_next_from_1040_drawn_1000_px_higher() -> None:
    last_on_first, first_on_second, low = box(1039, h=0), box(1040, h=0), box(1500)
    placed = place([last_on_first, first_on_second, low], H, page_count([low], H), single=False)

    assert [(p.page, p.y, p.clip_top, p.clip_bottom) for p in placed] == [
        (0, 1039, 0, 1040),
        (1, 40, 40, 1040),
        (1, 500, 40, 1040),
    ]


def test_a_box_across_a_break_shows_on_both_pages_within_their_bands() -> None:
    tall = box(900, h=400)
    placed = place([tall], H, 2, single=False)

    assert [(p.page, p.y) for p in placed] == [(0, 900), (1, -100)]


def test_a_single_page_sheet_has_no_bands() -> None:
    placed = place([box(1050, h=20)], H, 1, single=False)

    assert [(p.page, p.y, p.clip_top, p.clip_bottom) for p in placed] == [(0, 1050, 0, H)]


def test_text_across_the_printable_bottom_splits_between_lines_and_continues_below_the_break() -> None:
    split = text(1000, h=100, text_px=100, lines=10)  # ten 10 px lines
    pushed = box(1050, x=150, w=50)  # overlapped by the continuation: moved with it
    aside = box(1050, x=600)
    low = box(1500)
    items = [split, pushed, aside, low]
    break_pages(items, H)

    continuation = items[-1]
    assert (split.y, split.height, split.first_line, split.line_count) == (1000, 40, 0, 4)
    assert (continuation.y, continuation.height, continuation.first_line, continuation.line_count) == (
        1041,
        60,
        4,
        6,
    )
    assert (pushed.y, aside.y, low.y) == (1051, 1050, 1500)


def test_text_whose_first_line_does_not_fit_moves_whole_to_the_next_page() -> None:
    late = text(1035, h=30, text_px=30, lines=3)
    items = [late, box(1500)]
    break_pages(items, H)

    assert len(items) == 2
    assert (late.y, late.height, late.line_count) == (1041, 30, None)


def test_text_split_over_three_pages() -> None:
    long = text(1000, h=1200, text_px=1200, lines=120)
    items = [long]
    break_pages(items, H)

    assert [(i.y, i.first_line, i.lines_left) for i in items] == [
        (1000, 0, 4),
        (1041, 4, 99),
        (2041, 103, 17),
    ]


def test_a_signature_box_across_the_break_moves_whole() -> None:
    sig = box(1000, h=80, kind=Kind.SIGBOX)
    fits = box(900, h=80, kind=Kind.SIGBOX, x=500)
    items = [sig, fits, box(1500)]
    break_pages(items, H)

    assert (sig.y, sig.height, fits.y) == (1041, 80, 900)


def test_a_one_page_sheet_splits_nothing() -> None:
    near_bottom = text(1060, h=30, text_px=30, lines=3)  # in what would be the bottom band
    items = [near_bottom]
    break_pages(items, H)

    assert (near_bottom.y, items) == (1060, [near_bottom])


@st.composite
def sheets(draw: st.DrawFn) -> tuple[float, list[Item]]:
    page = draw(st.sampled_from([575.0, 850.0, 1100.0]))
    items = []
    for n in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(list(Kind)))
        x, y = draw(st.integers(0, 700)), draw(st.integers(0, int(3 * page)))
        w = draw(st.integers(1, 300))
        if kind is Kind.TEXT:
            lines, pitch = draw(st.integers(1, 80)), draw(st.floats(6, 30))
            items.append(Item(n, kind, x, y, w, math.ceil(lines * pitch), 0, lines * pitch, lines))
        else:
            items.append(Item(n, kind, x, y, w, draw(st.integers(0, 200))))
    return page, items


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sheets())
def test_breaking_pages_keeps_every_line_once_in_order_and_moves_nothing_up(
    sheet: tuple[float, list[Item]],
) -> None:
    page, items = sheet
    before = {item.field: (item.y, item.lines) for item in items}
    # Only a text or a signature box moves anything; a later one may push an earlier one's pieces on.
    single_text = [item.kind for item in items if item.kind is not Kind.OTHER] == [Kind.TEXT]
    break_pages(items, page)

    for field, (y, lines) in before.items():
        pieces = sorted((i for i in items if i.field == field), key=lambda i: i.first_line)
        assert min(p.y for p in pieces) >= y
        if pieces[0].kind is Kind.TEXT:
            assert [p.first_line for p in pieces] == list(
                accumulate([0] + [p.lines_left for p in pieces[:-1]])
            )
            assert sum(p.lines_left for p in pieces) == lines
            assert [p.y for p in pieces] == sorted(p.y for p in pieces)
    if single_text and page_count(items, page) > 1:
        # Alone, a text's pieces each end above their page's printable bottom.
        for piece in (i for i in items if i.kind is Kind.TEXT and i.pitch_px <= page - 100):
            bottom = page - 60
            while bottom < piece.y:
                bottom += page - 100
            assert piece.y + piece.lines_left * piece.pitch_px <= bottom + 1e-6


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sheets(), st.lists(st.sampled_from(list(GrowthBehavior)), min_size=12, max_size=12), st.floats(0.5, 3))
def test_growth_never_shrinks_never_moves_up_and_grows_text_to_its_height(
    sheet: tuple[float, list[Item]], growths: list[GrowthBehavior], factor: float
) -> None:
    _, items = sheet
    for item, growth in zip(items, growths, strict=False):
        item.growth = int(growth)
        item.text_px *= factor
    before = {item.field: (item.y, item.height) for item in items}
    grow(items)

    for item in items:
        y, height = before[item.field]
        assert item.y >= y
        assert item.height >= height
        if item.kind is Kind.TEXT and item.growth:
            assert item.height == max(height, math.ceil(item.text_px - 1e-6))
        else:
            assert item.height == height

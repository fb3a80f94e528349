"""The PDF renderer: Open Dental's own sheets drawn where their fields say, and the pool that runs it."""

from __future__ import annotations

import asyncio
import http.server
import io
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import PERMISSIVE_POLICY
from xhtml2pdf.document import pisaStory

from service.config.settings import Settings
from service.render.config import RenderConfig
from service.render.draw import text
from service.render.draw import worker as render
from service.render.draw.layout import MAX_PAGES
from service.render.draw.text import MIN_FONT_PT, refuse_fetch
from service.render.draw.worker import render_sheet_pdf
from service.render.pool import PdfRenderer, wait_until_gone
from service.vocab.enums import SheetFieldType, TextAlign
from tests.support import render_workers as _render_workers
from tests.support.render_pdf import (
    PT,
    TEXT_KINDS,
    Page,
    Word,
    field,
    letter,
    need_fonts,
    rasterize,
    read_pages,
    sheet_from_def,
)
from tests.support.requires import SHEETDEF_FILES, SHEETDEFS, open_dental_files, sheetdef_params

SLACK = 2.0  # points
RED = -65536  # ItemColor: ARGB 0xFFFF0000


def render_pages(sheet: dict[str, Any], fields: Sequence[dict[str, Any]]) -> list[Page]:
    return read_pages(render_sheet_pdf(sheet, fields))


def page_height_px(sheet: dict[str, Any]) -> float:
    return float(sheet["Width"] if sheet.get("IsLandscape") else sheet["Height"])


def words_in_box(page: Page, row: dict[str, Any], top_px: float) -> list[Word]:
    left, top = row["XPos"] * PT, top_px * PT
    right, bottom = left + row["Width"] * PT, top + row["Height"] * PT
    return [
        word
        for word in page.words
        if left - SLACK <= word.x_min
        and word.x_max <= right + SLACK
        and top - SLACK <= word.y_min <= bottom + SLACK
    ]


def assert_printed_at(pages: list[Page], sheet: dict[str, Any], row: dict[str, Any]) -> None:
    """The field's words are on its page, inside its box, the first one at its top (and left edge).

    The page is YPos // page height: `row` says where the field is drawn (its YPos as laid out).
    """
    per_page = page_height_px(sheet)
    index = int(row["YPos"] // per_page)
    top_px = row["YPos"] - index * per_page
    page = pages[index]
    tokens = row["FieldValue"].split()
    inside = words_in_box(page, row, top_px)
    where = f"{row['FieldValue']!r} at ({row['XPos']}, {row['YPos']}) on page {index + 1}"
    assert not set(tokens) - {word.text for word in inside}, f"{where}: words missing from the box"
    first = [w for w in inside if w.text == tokens[0] and abs(w.y_min - top_px * PT) <= SLACK]
    assert first, f"{where}: first word not at the top of the box"
    if row["TextAlign"] == TextAlign.Left:
        assert any(abs(w.x_min - row["XPos"] * PT) <= SLACK for w in first), f"{where}: not at the left edge"


def drawn_texts(fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in fields if f["FieldType"] in TEXT_KINDS and f["FieldValue"].strip()]


@open_dental_files
@pytest.mark.parametrize("path", sheetdef_params())
def test_every_text_field_of_open_dentals_sheets_prints_inside_its_box(path: Path) -> None:
    sheet, fields = sheet_from_def(path)
    pages = render_pages(sheet, fields)

    assert len(pages) == 1
    assert (pages[0].width, pages[0].height) == pytest.approx((sheet["Width"] * PT, sheet["Height"] * PT))
    texts = drawn_texts(fields)
    assert texts
    for row in texts:
        assert_printed_at(pages, sheet, row)


@open_dental_files
def test_the_sheet_definitions_are_there_to_test_against() -> None:
    assert len(SHEETDEF_FILES) >= 7, SHEETDEFS


def test_an_empty_field_on_a_later_page_still_makes_that_page() -> None:
    pages = render_pages(letter(), [field(SheetFieldType.InputField, "", YPos=1500)])

    assert len(pages) == 2


def test_landscape_swaps_width_and_height_and_breaks_pages_at_the_new_height() -> None:
    sheet = letter(IsLandscape=True)
    low = field(SheetFieldType.StaticText, "Still first", YPos=700)
    next_page = field(SheetFieldType.StaticText, "Second page", YPos=900)
    pages = render_pages(sheet, [low, next_page])

    # 850 px high: the first page shows y < 790, the second y from 790, drawn 750 px higher.
    assert [(p.width, p.height) for p in pages] == [pytest.approx((1100 * PT, 850 * PT))] * 2
    assert_printed_at(pages, sheet, low)
    assert_printed_at(pages, sheet, next_page | {"YPos": 900 - 750 + 850})


def test_fields_beyond_the_page_limit_are_not_drawn() -> None:
    far = field(SheetFieldType.StaticText, "Far away", YPos=MAX_PAGES * 1100 + 5)
    pages = render_pages(letter(), [far, field(SheetFieldType.StaticText, "Here")])

    assert len(pages) == 1
    assert pages[0].text == "Here"


def test_bold_prints_in_a_bold_face() -> None:
    regular = field(SheetFieldType.StaticText, "Weight", YPos=100)
    bold = field(SheetFieldType.StaticText, "Weight", YPos=200, FontIsBold=True)
    (page,) = render_pages(letter(), [regular, bold])

    light, heavy = sorted(page.find("Weight"), key=lambda w: w.y_min)
    assert heavy.x_max - heavy.x_min > (light.x_max - light.x_min) * 1.05


def test_font_size_is_in_points() -> None:
    small = field(SheetFieldType.StaticText, "Size", YPos=100, FontSize=10.0)
    large = field(SheetFieldType.StaticText, "Size", YPos=200, FontSize=20.0)
    (page,) = render_pages(letter(), [small, large])

    ten, twenty = sorted(page.find("Size"), key=lambda w: w.y_min)
    assert (twenty.x_max - twenty.x_min) / (ten.x_max - ten.x_min) == pytest.approx(2.0, rel=0.02)


def test_right_and_center_alignment_place_text_against_the_box() -> None:
    right = field(SheetFieldType.StaticText, "Right", TextAlign=TextAlign.Right, YPos=100)
    center = field(SheetFieldType.StaticText, "Center", TextAlign=TextAlign.Center, YPos=200)
    (page,) = render_pages(letter(), [right, center])

    (r,) = page.find("Right")
    (c,) = page.find("Center")
    assert r.x_max == pytest.approx((100 + 300) * PT, abs=SLACK)
    assert (c.x_min + c.x_max) / 2 == pytest.approx((100 + 150) * PT, abs=SLACK)


def test_line_breaks_in_values_start_new_lines() -> None:
    row = field(SheetFieldType.InputField, "one\r\ntwo\rthree\nfour", Height=100)
    (page,) = render_pages(letter(), [row])

    tops = [page.find(word)[0].y_min for word in ("one", "two", "three", "four")]
    assert tops == sorted(tops)
    assert len(set(tops)) == 4


def test_markup_in_a_value_prints_as_text() -> None:
    values = ['<img src="http://127.0.0.1:9/x.png">', "<b>bold</b>", "&amp; &lt;", "<pdf:nextpage/>"]
    rows = [field(SheetFieldType.InputField, v, YPos=100 + 50 * n, Width=600) for n, v in enumerate(values)]
    pages = render_pages(letter(), rows)

    assert len(pages) == 1
    assert pages[0].text == " ".join(values)


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_error(404)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    """A local web server's base URL, and the paths it was asked for."""
    hits: list[str] = []
    handler = type("Handler", (_Hits,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_an_image_in_a_value_is_never_fetched(web_server: tuple[str, list[str]]) -> None:
    url, hits = web_server
    value = f'<img src="{url}/in-a-value.png"> <link rel="stylesheet" href="{url}/x.css">'
    (page,) = render_pages(letter(), [field(SheetFieldType.StaticText, value, Width=700, Height=80)])

    assert page.text == value
    assert hits == []


def _images_drawn(markup: str, **pisa_options: Any) -> int:
    out = io.BytesIO()
    assert not pisa.CreatePDF(markup, dest=out, resource_policy=PERMISSIVE_POLICY, **pisa_options).err
    return sum(len(page.images) for page in PdfReader(io.BytesIO(out.getvalue())).pages)


@pytest.mark.parametrize("kind", ["http", "file URL", "path"])
def test_the_link_callback_answers_every_fetch_with_an_empty_inline_resource(
    kind: str, tmp_path: Path, web_server: tuple[str, list[str]]
) -> None:
    url, hits = web_server
    image = tmp_path / "dot.png"
    PILImage.new("RGB", (4, 4), "red").save(image)
    link = {"http": f"{url}/dot.png", "file URL": image.as_uri(), "path": str(image)}[kind]
    markup = f'<img src="{link}" width="40" height="40">'
    if kind != "http":
        # What the callback stands between: unasked, xhtml2pdf reads the file and draws it.
        assert _images_drawn(markup) == 1

    assert _images_drawn(markup, link_callback=refuse_fetch) == 0
    assert hits == []


def test_the_link_callback_alone_stops_a_fetch_the_markup_asks_for(web_server: tuple[str, list[str]]) -> None:
    url, hits = web_server
    markup = f'<img src="{url}/asked.png">'

    pisaStory(markup, resource_policy=PERMISSIVE_POLICY)
    asked = len(hits)
    assert asked, "the server should see the fetch nothing stops"
    pisaStory(markup, link_callback=refuse_fetch, resource_policy=PERMISSIVE_POLICY)
    assert len(hits) == asked


def test_a_checked_checkbox_draws_an_x_and_an_unchecked_one_nothing() -> None:
    checked = field(SheetFieldType.CheckBox, "X", XPos=100, YPos=100, Width=20, Height=20)
    unchecked = field(SheetFieldType.CheckBox, "", XPos=200, YPos=100, Width=20, Height=20)
    image = rasterize(render_sheet_pdf(letter(), [checked, unchecked]))

    assert image.darkest(105 * PT, 105 * PT, 107 * PT, 107 * PT) < 128  # on the diagonal
    assert image.darkest(113 * PT, 105 * PT, 115 * PT, 107 * PT) < 128  # on the other diagonal
    assert image.darkest(199 * PT, 99 * PT, 221 * PT, 121 * PT) == 255


def test_lines_and_rectangles_draw_their_strokes_and_an_unsigned_signature_box_nothing() -> None:
    line = field(SheetFieldType.Line, XPos=100, YPos=300, Width=400, Height=0)
    rect = field(SheetFieldType.Rectangle, XPos=100, YPos=400, Width=200, Height=100)
    unsigned = field(SheetFieldType.SigBox, XPos=400, YPos=400, Width=300, Height=80)
    image = rasterize(render_sheet_pdf(letter(), [line, rect, unsigned]))

    assert image.darkest(300 * PT, 298 * PT, 302 * PT, 302 * PT) < 128
    assert image.darkest(98 * PT, 450 * PT, 102 * PT, 452 * PT) < 128  # the rectangle's left side
    assert image.darkest(110 * PT, 410 * PT, 290 * PT, 490 * PT) == 255  # not filled
    assert image.darkest(395 * PT, 395 * PT, 705 * PT, 485 * PT) == 255  # an unsigned signature box: nothing


def test_item_color_colours_lines_and_text() -> None:
    line = field(SheetFieldType.Line, XPos=100, YPos=300, Width=400, Height=0, ItemColor=RED)
    text = field(SheetFieldType.StaticText, "MMMM", FontSize=40.0, FontIsBold=True, Height=80, ItemColor=RED)
    black = field(SheetFieldType.Line, XPos=100, YPos=350, Width=400, Height=0, ItemColor=0)
    image = rasterize(render_sheet_pdf(letter(), [line, text, black]), gray=False)

    def red(pixel: tuple[int, ...]) -> bool:
        r, g, b = pixel
        return r > 200 and g < 140 and b < 140 and abs(g - b) < 20

    assert any(red(image.at(300 * PT, y)) for y in range(214, 218))
    assert any(red(image.at(x, y)) for x in range(72, 200) for y in range(72, 110))
    assert min(max(image.at(300 * PT, y)) for y in range(250, 254)) < 160  # 0 is "Empty", drawn black


def test_a_signed_signature_box_says_when_along_its_bottom_and_an_unsigned_one_nothing() -> None:
    moment = datetime(2024, 1, 2, 15, 4, 5)
    signed = field(SheetFieldType.SigBox, XPos=100, YPos=100, Height=80, DateTimeSig=moment)
    unsigned = field(SheetFieldType.SigBox, XPos=100, YPos=300, DateTimeSig="1880-01-01 00:00:00")
    (page,) = render_pages(letter(), [signed, unsigned])

    assert page.text == "Signed: 01/02/2024 3:04:05 PM"
    (word,) = page.find("Signed:")
    assert word.y_min == pytest.approx((180 - 17) * PT, abs=SLACK)  # 17 px above the bottom, as Open Dental
    assert word.y_max - word.y_min == pytest.approx(8.25, abs=1.5)
    assert word.x_min == pytest.approx(101 * PT, abs=SLACK)


def test_the_signed_time_prints_in_the_offices_culture() -> None:
    signed = field(SheetFieldType.SigBox, Width=300, Height=80, DateTimeSig=datetime(2024, 1, 2, 15, 4, 5))
    pdf = render_sheet_pdf(letter(), [signed], RenderConfig(culture="en-GB"))
    (page,) = read_pages(pdf)

    assert page.text == "Signed: 02/01/2024 15:04:05"
    assert RenderConfig.from_settings(Settings(culture="fr-CA")).culture == "fr-CA"


def test_a_combo_box_prints_its_chosen_option_only() -> None:
    combo = field(SheetFieldType.ComboBox, "March;January|February|March|April")
    (page,) = render_pages(letter(), [combo])

    assert page.text == "March"


def test_parameters_mobile_headers_and_images_are_not_drawn() -> None:
    rows = [
        field(SheetFieldType.Parameter, "ParamValue"),
        field(SheetFieldType.MobileHeader, "Header"),
        field(SheetFieldType.Image, "logo.png"),
    ]
    (page,) = render_pages(letter(), rows)

    assert page.text == ""


def test_overflowing_text_shrinks_until_it_fits_its_box() -> None:
    words = [f"word{n}" for n in range(60)]
    row = field(SheetFieldType.InputField, " ".join(words), FontSize=12.0, Width=300, Height=40)
    (page,) = render_pages(letter(), [row])

    inside = words_in_box(page, row, row["YPos"])
    assert [w.text for w in inside] == words
    assert all(w.y_max <= (100 + 40) * PT + 0.25 * 12 for w in inside)
    assert max(w.y_max - w.y_min for w in inside) < 12 * 0.8  # a smaller font than asked for


def test_a_word_wider_than_its_box_breaks_inside_the_box() -> None:
    row = field(SheetFieldType.StaticText, "Supercalifragilisticexpialidocious", Width=60, Height=80)
    (page,) = render_pages(letter(), [row])

    assert "".join(w.text for w in page.words) == row["FieldValue"]
    assert all(w.x_max <= (100 + 60) * PT + SLACK for w in page.words)


def test_text_that_cannot_fit_at_the_smallest_font_is_clipped_at_its_box() -> None:
    row = field(SheetFieldType.InputField, "overflowing " * 2000, FontSize=12.0, Width=200, Height=20)
    image = rasterize(render_sheet_pdf(letter(), [row]))

    assert image.darkest(100 * PT, 100 * PT, 300 * PT, 120 * PT) < 128
    below = (120 * PT) + 0.25 * MIN_FONT_PT + 1
    assert image.darkest(90 * PT, below, 310 * PT, below + 100) == 255


def test_chinese_japanese_and_korean_print_extractably() -> None:
    need_fonts()
    rows = [
        field(SheetFieldType.StaticText, "患者姓名 Name", YPos=100),
        field(SheetFieldType.StaticText, "ひらがな カタカナ 漢字", YPos=200),
        field(SheetFieldType.InputField, "한국어 텍스트", YPos=300),
    ]
    (page,) = render_pages(letter(), rows)

    assert page.text == "患者姓名 Name ひらがな カタカナ 漢字 한국어 텍스트"


def test_control_and_invisible_characters_are_dropped_and_tabs_print_as_spaces() -> None:
    row = field(SheetFieldType.InputField, "ok\x00\x07\u200b!\tend")
    (page,) = render_pages(letter(), [row])

    assert page.text == "ok! end"


def test_latin_accents_and_windows_punctuation_print_as_written() -> None:
    value = "Zo\u00eb \u00d8rsted \u2013 caf\u00e9 \u201cquoted\u201d \u20ac5"
    (page,) = render_pages(letter(), [field(SheetFieldType.StaticText, value, Width=600)])

    assert page.text == value


@pytest.mark.parametrize(
    ("sheet", "row"),
    [
        ({}, {"FieldType": 2, "FieldValue": "No columns"}),
        (letter(Width=0, Height=-5, FontSize=None), field(SheetFieldType.StaticText, "Bad page")),
        (
            letter(),
            {"FieldType": "2", "FieldValue": 42, "XPos": "10", "YPos": None, "Width": "x", "Height": 9},
        ),
        (letter(), field(SheetFieldType.StaticText, "NaN", FontSize=float("nan"), XPos=float("inf"))),
        (letter(), field(SheetFieldType.StaticText, "Huge", FontSize=1e12, Width=10**30, TextAlign=7)),
        (letter(), field(SheetFieldType.Line, Width=-50, Height=-50, ItemColor="red")),
        (letter(), {"FieldType": 99, "FieldValue": "unknown kind"}),
    ],
)
def test_odd_rows_still_render_a_pdf(sheet: dict[str, Any], row: dict[str, Any]) -> None:
    pages = render_pages(sheet, [row])

    assert len(pages) == 1


def test_a_story_that_no_longer_lines_up_with_the_fields_is_laid_out_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parse = text.Story.parse

    def dropping_one(self: text.Story, source: str) -> list[Any]:
        flowables = parse(self, source)
        return flowables[:-1] if len(flowables) > 1 else flowables

    monkeypatch.setattr(text.Story, "parse", dropping_one)
    monkeypatch.setattr(text, "plain_font", lambda box: None)  # every field through xhtml2pdf
    rows = [
        field(SheetFieldType.InputField, "First", YPos=100),
        field(SheetFieldType.InputField, "Second", YPos=200),
    ]
    pages = render_pages(letter(), rows)

    for row in rows:
        assert_printed_at(pages, letter(), row)


def test_the_pdf_title_is_the_sheet_description() -> None:
    pdf = render_sheet_pdf(letter(Description="Medical History"), [])

    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Medical History"  # type: ignore[union-attr]


@open_dental_files
def test_a_second_sheet_of_a_definition_lays_out_only_its_filled_in_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sheet, fields = sheet_from_def(SHEETDEFS / "MedicalHist.xml")
    render.forget_static_layers()
    laid_out: list[int] = []
    lay_out = text.lay_out

    def counting(story: text.Story, boxes: Sequence[Any]) -> Any:
        laid_out.append(len(boxes))
        return lay_out(story, boxes)

    monkeypatch.setattr(text, "lay_out", counting)
    first = render_pages(sheet, fields)
    refilled = [
        f | {"FieldValue": "Refilled"} if f["FieldType"] == SheetFieldType.InputField else f for f in fields
    ]
    second = render_pages(sheet, refilled)

    looks = ("Width", "Height", "FontSize", "FontName", "FontIsBold", "TextAlign", "ItemColor")
    inputs = {tuple(f[c] for c in looks) for f in refilled if f["FieldType"] == SheetFieldType.InputField}
    assert laid_out[0] > len(inputs)
    signed = {
        f["Width"] for f in refilled if f["FieldType"] == SheetFieldType.SigBox
    }  # "Signed: ..." per sheet
    assert laid_out[1:] == [len(inputs) + len(signed)]
    static = [w for w in first[0].words if not w.text.startswith("Val")]
    assert [w for w in second[0].words if w.text != "Refilled"] == static
    for row in drawn_texts(refilled):
        assert_printed_at(second, sheet, row)


@open_dental_files
async def test_the_renderer_renders_in_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    sheet, fields = sheet_from_def(SHEETDEFS / "Consent.xml")
    async with PdfRenderer(workers=1) as renderer:
        pdf = await renderer.render(sheet, fields)
    monkeypatch.setattr(_render_workers, "PARENT_STATE", "changed-in-the-parent")
    async with PdfRenderer(workers=1, render_fn=_render_workers.worker_pid) as renderer:
        pid, state = (await renderer.render(sheet, fields)).decode().split(" ", 1)

    # Not forked: the worker does not share the parent's memory (nor gRPC's locks in it).
    assert state == "imported afresh"
    assert int(pid) != os.getpid()
    assert read_pages(pdf)[0].text == render_pages(sheet, fields)[0].text


async def test_the_event_loop_keeps_serving_while_renders_run() -> None:
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    async with PdfRenderer(workers=2, render_fn=_render_workers.busy) as renderer:
        await asyncio.gather(*(renderer.render({}, []) for _ in range(2)))  # workers up
        ticking = asyncio.create_task(ticker())
        started = loop.time()
        results = await asyncio.gather(*(renderer.render({"seconds": 0.6}, []) for _ in range(4)))
        elapsed = loop.time() - started
        ticking.cancel()

    assert results == [b"%PDF-busy"] * 4
    assert elapsed >= 1.1  # two workers, four renders: the renders really did hold CPUs
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 30
    assert max(gaps) < 0.3


async def test_a_worker_that_dies_fails_its_render_and_later_renders_work() -> None:
    async with PdfRenderer(workers=1, render_fn=_render_workers.dies_when_asked) as renderer:
        with pytest.raises(BrokenProcessPool):
            await renderer.render({"die": True}, [])
        assert await renderer.render({}, []) == b"%PDF-alive"


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_waiting_for_a_process_returns_once_it_has_exited_and_not_before(
    pidfd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        waiter = threading.Thread(target=wait_until_gone, args=(child.pid,), kwargs={"interval": 0.05})
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()
    finally:
        child.kill()
        child.wait()  # reaped: polling cannot tell a zombie from a live process
    waiter.join(2)
    assert not waiter.is_alive()
    # Already gone: returns at once.
    wait_until_gone(child.pid, interval=0.05)


async def test_a_closed_renderer_refuses_to_render() -> None:
    renderer = PdfRenderer(workers=1)
    renderer.close()

    with pytest.raises(RuntimeError, match="closed"):
        await renderer.render({}, [])


def test_workers_default_to_one_per_cpu() -> None:
    renderer = PdfRenderer()
    try:
        assert renderer.workers == (os.cpu_count() or 1)
    finally:
        renderer.close()

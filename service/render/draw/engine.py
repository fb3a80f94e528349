"""A sheet as a PDF, as Open Dental prints it: the engine that reads a sheet's rows, lays them out
and has them painted.

Design. Four steps, four modules. This module reads each row (its values coerced by
`service.render.draw.coerce`) into what it draws; `service.render.draw.text` lays out every text field
as xhtml2pdf does (plain text itself, with xhtml2pdf's line breaking rules;
anything else with xhtml2pdf, in the fonts of `service.render.fonts`, per character
from a chain of embedded TrueType fonts) and measures it; `service.render.draw.layout`
grows boxes by their GrowthBehavior and breaks the sheet into pages, on
copies of the rows; `service.render.draw.paint` draws: text as the laid-out paragraphs (split
between lines at page breaks), lines, rectangle borders and check marks as PDF path
operators, images from the configured `SheetImages` folder
(`service.render.draw.images`), each page clipped to its printable band when the sheet
runs to more than one page. A process's engines and kept layouts live in its
`service.render.draw.worker.Worker`.

Geometry. 100 px per inch: 0.72 pt per pixel; IsLandscape swaps Width and
Height, as Open Dental's WidthPage/HeightPage do. Labels, Rx and deposit
slips are one page without margins (what does not fit is cut at the page's
edge); every other type has as many pages as its fields need
(`service.render.draw.layout`), at most `MAX_PAGES`.

What is drawn. StaticText, OutputText and InputField: the value in its font
(FontSize in points, bold, TextAlign, ItemColor), wrapped inside the box;
ComboBox: the text before ";"; CheckBox with "X": two diagonals 1.6 px wide,
no outline; Line and Rectangle in ItemColor; Image: the file stretched to the
box; SigBox signed (DateTimeSig after 1880): "Signed: " and the time, 8.25 pt,
along its bottom, and nothing when unsigned. Parameter, MobileHeader,
PatImage, Drawing, Grid, Special and ScreenChart fields are not drawn.

Output. The PDF's Title is the sheet's Description; the file holds no
timestamp and no random id, so the same sheet renders to the same bytes.

Safety. Every value is HTML-escaped, so markup in a value prints as text; no
value reaches the CSS. The only files read are the fonts and the images
folder: xhtml2pdf's fetch policy allows the font folders and nothing else
(no network), its link callback answers any resource a document names with
an empty inline one, and image names are plain file names.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from xhtml2pdf.config.resources import ResourceAccessPolicy

from service.render import fonts
from service.render.config import RenderConfig, Rendered
from service.render.draw import images, layout, text
from service.render.draw.coerce import flag, number, rgb, signed_at, string
from service.render.draw.layout import MAX_PAGES, Item, Kind
from service.render.draw.paint import PT_PER_PX, Drawable, paint, pen
from service.render.draw.text import MIN_FONT_PT, TextBox
from service.vocab import GrowthBehavior, SheetFieldType, SheetType, TextAlign, culture

__all__ = ["SIGNED_FONT_PT", "Engine"]

log = logging.getLogger("service.render")

SIGNED_FONT_PT = 8.25

# For rows that leave them out (Open Dental's own always carry them): a
# US-letter page, and the size of a sheet field's default font.
_DEFAULT_PAGE_PX = (850.0, 1100.0)
_DEFAULT_FONT_PT = 8.5
_LINE_PX = 1.0
_CHECK_PX = 1.6

_ALIGN: dict[int, str] = {TextAlign.Left: "left", TextAlign.Right: "right", TextAlign.Center: "center"}
_STATIC_TEXT = int(SheetFieldType.StaticText)
_TEXT_KINDS = frozenset(int(k) for k in (SheetFieldType.OutputText, SheetFieldType.InputField, _STATIC_TEXT))
_COMBO_BOX = int(SheetFieldType.ComboBox)
_CHECK_BOX = int(SheetFieldType.CheckBox)
_LINE = int(SheetFieldType.Line)
_RECTANGLE = int(SheetFieldType.Rectangle)
_IMAGE = int(SheetFieldType.Image)
_DRAWING = int(SheetFieldType.Drawing)
_SIG_BOXES = frozenset(int(k) for k in (SheetFieldType.SigBox, SheetFieldType.SigBoxPractice))
_NO_GROWTH = int(GrowthBehavior.None_)
_SINGLE_PAGE_TYPES = frozenset(
    int(t)
    for t in (
        SheetType.LabelPatient,
        SheetType.LabelCarrier,
        SheetType.LabelReferral,
        SheetType.LabelAppointment,
        SheetType.Rx,
        SheetType.DepositSlip,
        SheetType.PatientDashboardWidget,
    )
)


class Engine:
    """A renderer for one configuration: its fonts registered, its fetch policy, its layouts."""

    def __init__(
        self, config: RenderConfig, found: fonts.FontSet | None = None, *, layouts: text.Layouts
    ) -> None:
        self.config = config
        if found is None:
            # Rendering without a PdfRenderer (`sheets render`): this is the start, so say what is missing.
            found = fonts.find_fonts(config.font_dirs, system=config.system_fonts)
            fonts.log_missing(found)
        self.palette = fonts.register(found)
        folders = list(dict.fromkeys(path.parent for path in self.palette.fonts.files.values()))
        policy = ResourceAccessPolicy(
            allow_remote=False, base_dir=folders[0] if folders else None, extra_roots=tuple(folders[1:])
        )
        self.story = text.Story(policy)
        self.layouts = layouts
        self.culture = culture(config.culture)

    def render(self, sheet: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> Rendered:
        width_px = number(sheet.get("Width"), 0)
        height_px = number(sheet.get("Height"), 0)
        if width_px <= 0 or height_px <= 0:
            width_px, height_px = _DEFAULT_PAGE_PX
        if flag(sheet.get("IsLandscape")):
            width_px, height_px = height_px, width_px
        sheet_font = number(sheet.get("FontSize"), 0)
        default_size = sheet_font if sheet_font > 0 else _DEFAULT_FONT_PT
        clinic = int(number(sheet.get("ClinicNum"), 0))
        sheet_face = string(sheet.get("FontName")).strip()
        single = int(number(sheet.get("SheetType"), -1)) in _SINGLE_PAGE_TYPES

        drawables: list[Drawable] = []
        items: list[Item] = []
        replaced = missing_images = 0
        beyond = 0
        for row in rows:
            drawable, item, count = self._parse(row, len(drawables), default_size, sheet_face, clinic)
            if item.top >= MAX_PAGES * height_px:
                # A YPos of two billion would otherwise ask for two million pages.
                beyond += 1
                continue
            replaced += count
            if drawable.kind == _IMAGE and drawable.image is None:
                missing_images += 1
            drawables.append(drawable)
            items.append(item)

        if beyond:
            log.warning("%d field(s) lie beyond page %d and were not drawn", beyond, MAX_PAGES)
        boxes = [d.box for d in drawables if d.box is not None]
        laid = self.layouts.for_boxes(
            self.story, boxes, {d.box for d in drawables if d.box is not None and d.static}
        )
        for item, drawable in zip(items, drawables, strict=True):
            paragraph = laid.get(drawable.box) if drawable.box is not None else None
            if paragraph is not None and item.kind is Kind.TEXT:
                item.text_px = paragraph.height / PT_PER_PX
                item.lines = paragraph.lines

        layout.grow(items)
        pages = 1
        if not single:
            layout.break_pages(items, height_px)
            pages = layout.page_count(items, height_px)
        if pages > MAX_PAGES:
            log.warning("a sheet needs %d pages; only the first %d are drawn", pages, MAX_PAGES)
            pages = MAX_PAGES
        placed = layout.place(items, height_px, pages, single=single)

        out = io.BytesIO()
        page_size = (width_px * PT_PER_PX, height_px * PT_PER_PX)
        canvas = Canvas(out, pagesize=page_size, invariant=True, initialFontName=self.palette.first_font)
        canvas.setTitle(string(sheet.get("Description")))
        canvas.setCreator("open-dental-sheets")
        canvas.setProducer("open-dental-sheets")
        paint(canvas, page_size[1], pages, placed, drawables, laid, banded=pages > 1)
        canvas.save()
        if replaced:
            log.warning(
                "%d character(s) no font has printed as %r", replaced, self.palette.replacement("sans")
            )
        return Rendered(out.getvalue(), replaced, missing_images)

    def _parse(
        self, row: Mapping[str, Any], index: int, default_size: float, sheet_face: str, clinic: int
    ) -> tuple[Drawable, Item, int]:
        kind = int(number(row.get("FieldType"), -1))
        x, y = number(row.get("XPos"), 0), number(row.get("YPos"), 0)
        w, h = number(row.get("Width"), 0), number(row.get("Height"), 0)
        growth = int(number(row.get("GrowthBehavior"), 0))
        value = string(row.get("FieldValue"))
        layout_kind = Kind.OTHER
        drawable = Drawable(kind)
        replaced = 0
        if kind in _TEXT_KINDS or kind == _COMBO_BOX:
            layout_kind = Kind.TEXT
            if kind == _COMBO_BOX:
                # "The chosen option, semicolon, then a pipe delimited list of options."
                value, growth = value.split(";", 1)[0], _NO_GROWTH
            size = number(row.get("FontSize"), 0)
            # A box that grows is laid out unbounded (height None) and measured.
            bound = None if growth != _NO_GROWTH else h
            drawable.box, replaced = self._box(row, value, w, bound, size or default_size)
            drawable.static = kind == _STATIC_TEXT
        elif kind == _CHECK_BOX:
            # An unchecked box draws nothing, but still takes its place on the pages.
            if value.strip().upper() == "X":
                drawable.pen = pen(row.get("ItemColor"), _CHECK_PX)
        elif kind in (_LINE, _RECTANGLE):
            drawable.pen = pen(row.get("ItemColor"), _LINE_PX)
        elif kind in _SIG_BOXES:
            layout_kind = Kind.SIGBOX
            signed = signed_at(row.get("DateTimeSig"))
            if signed is not None:
                # Open Dental's: the sheet's font (monospaced when it names none), black, in a
                # 14 px high box 17 px above the bottom, 1 px in.
                plain = {"FontName": sheet_face or "Courier New", "FontIsBold": False, "TextAlign": 0}
                # DateTime.ToString(), in the office's culture.
                signed_text = "Signed: " + self.culture.general(signed)
                drawable.box, replaced = self._box(plain, signed_text, w - 4, None, SIGNED_FONT_PT)
        elif kind == _IMAGE:
            path = images.find_image(self.config.images_dir, clinic, string(row.get("FieldName")))
            drawable.image = images.load_image(path) if path is not None else None
            if drawable.image is None:
                h = 0  # as Open Dental: a missing image takes no room and makes no page
        # Anything else (Parameter, MobileHeader, PatImage, Drawing, Grid...) draws nothing
        # but, as in Open Dental, counts for the pages.
        item = Item(index, layout_kind, x, y, w, h, growth, pushed_locally=kind != _DRAWING)
        return drawable, item, replaced

    def _box(
        self, row: Mapping[str, Any], value: str, w_px: float, h_px: float | None, size: float
    ) -> tuple[TextBox | None, int]:
        """The field's paragraph; `h_px` None lays it out to its own height (it grows)."""
        chain = fonts.chain_for(row.get("FontName"))
        printable, replaced = text.printable(value, chain, self.palette)
        if w_px <= 0 or (h_px is not None and h_px <= 0) or not printable.strip():
            return None, replaced
        box = TextBox(
            text=printable,
            family=self.palette.css[chain],
            bold=flag(row.get("FontIsBold")),
            size=round(min(max(size, MIN_FONT_PT), text.MAX_FONT_PT), 2),
            align=_ALIGN.get(int(number(row.get("TextAlign"), 0)), "left"),
            color="#{:02x}{:02x}{:02x}".format(*rgb(row.get("ItemColor"))),
            rtl=text.is_rtl(printable),
            width=w_px * PT_PER_PX,
            height=0.0 if h_px is None else h_px * PT_PER_PX,
        )
        return box, replaced

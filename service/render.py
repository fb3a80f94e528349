"""A sheet as a PDF (SPEC §6), rendered off the event loop.

Design. xhtml2pdf lays out the text; reportlab places it and draws the rest.
Every text field becomes one `<p>` of a single small HTML document (its value
escaped, its font, size, weight, alignment and colour as inline CSS), so one
xhtml2pdf parse per render yields one paragraph flowable per field, broken into
lines by xhtml2pdf. Each flowable is wrapped to its field's width and drawn
with its top at the field's top left corner: what one static `@frame` per field
would do, without a page template of 249 frames (42x reportlab, SPEC §9).

Each paragraph is drawn once, on a scratch canvas, and kept as the PDF
operators it drew (a snippet, see `_Snippets`); pages replay snippets at their
fields' positions. StaticText snippets are kept for later renders in the same
process (bounded, least recently used dropped first), keyed by everything that
shapes them (text, font, size, weight, alignment, colour, box size): the static
layer of a definition is laid out and drawn once, and a later sheet of it
costs a parse of its filled-in fields only. Filled-in `[tokens]` make some
StaticText patient-specific, so a kept snippet may hold a patient's name; it
never leaves the process. Lines, rectangles, signature boxes and the X of a
checkbox are PDF path operators: there is no text to lay out in them. Renders
in one process take turns on one lock (xhtml2pdf serialises its parser on a
process-wide lock anyway); `PdfRenderer`'s worker processes run side by side.
bench/render_bench.py measures Open Dental's 249-field medical history at about
5x plain reportlab drawing the same strings once its static layer is kept, and
about 13x for the first sheet of a definition in a process.

Geometry. 100 px per inch: 0.72 pt per pixel; IsLandscape swaps Width and
Height, as Open Dental's WidthPage/HeightPage do. A field at YPos >= the page
height goes on page floor(YPos / height) + 1 at YPos mod height; a field that
starts on a page and runs past its bottom edge is cut off by that edge. Pages
past `MAX_PAGES` are not drawn (a YPos of two billion would otherwise ask for
two million pages). A text box of zero width or height draws nothing.

Overflow: shrink, then clip. Text that needs more height than its box (with
room for the last line's descenders) is laid out again at a smaller size until
it fits, never below `MIN_FONT_PT`; at that size whatever still does not fit is
clipped at the box's bottom edge. Words longer than the box is wide are broken
between letters, as Windows does for Open Dental. Boxes keep their stored size:
GrowthBehavior (growing a box and pushing the fields below it down) is not
applied, so what a field prints never moves another field.

Fonts. Open Dental's "Microsoft Sans Serif", "Arial", "" and other sans faces
print in Helvetica, serif faces in Times, monospaced ones in Courier: the PDF
base-14 fonts, nothing embedded, nothing read from the host. They cover the
Windows-1252 characters. Chinese, Japanese and Korean characters print in
reportlab's built-in CID fonts (STSong-Light, HeiseiKakuGo-W5, HYGothic-Medium,
chosen per field by the scripts it holds; not embedded, so viewers substitute a
local CJK face); they stay extractable. Characters no font here can draw
(Cyrillic, Greek, Hebrew, Arabic, emoji...) print as "?", control and invisible
formatting characters are dropped, tabs become spaces, and \\r\\n, \\r and \\n
are line breaks. HTML collapses runs of spaces.

Safety. Every value is HTML-escaped, so markup in a value prints as text; no
value reaches the CSS. Nothing is fetched: the document never names a resource,
and if one were named anyway the link callback answers with an empty inline
resource and the fetch policy refuses network and file reads.
"""

from __future__ import annotations

import asyncio
import bisect
import html
import io
import logging
import math
import multiprocessing
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, NamedTuple, Self

from reportlab import rl_config  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from xhtml2pdf.document import pisaStory

from service.enums import SheetFieldType, TextAlign

try:
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    # base_dir=None names no readable directory at all: every local read is
    # refused, as is every remote one.
    _NO_FETCH_POLICY: Any = ResourceAccessPolicy(allow_remote=False, base_dir=None)
except ImportError:  # xhtml2pdf before fetch policies: the link callback is the gate
    _NO_FETCH_POLICY = None

log = logging.getLogger(__name__)

PT_PER_PX = 0.72
MIN_FONT_PT = 4.0
MAX_FONT_PT = 200.0
MAX_PAGES = 100

# For rows that leave them out (Open Dental's own always carry them): a
# US-letter page, and the size of a sheet field's default font.
_DEFAULT_PAGE_PX = (850.0, 1100.0)
_DEFAULT_FONT_PT = 8.5
_LINE_HEIGHT = 1.15
# Below its box a paragraph may reach this much of its font size: the
# descenders of its last line, which Windows draws inside the leading.
_DESCENDER_ROOM = 0.25
_SHRINK_ROUNDS = 8
_UNBOUNDED = 1e7
# Coordinates and sizes beyond this are not numbers a sheet can mean.
_HUGE = 1e9
_LINE_PX = 1.0
_CHECK_PX = 1.6
_KEPT_LAYOUTS = 4096
# No text is this small, so every recorded paragraph names its own font.
_UNUSED_FONT_PT = 0.5

_NEWLINES = re.compile(r"\r\n|\r|\n")
_ASCII_CLEAN: dict[int, str | None] = dict.fromkeys((*range(0, 9), *range(11, 32), 127)) | {9: " "}
_WIN_ANSI = frozenset(
    bytes([b]).decode("cp1252") for b in range(32, 256) if b not in (0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D)
)
# (first code point, last code point, script): the blocks reportlab's CID
# fonts cover, by the script whose font should draw them.
_CJK_BLOCKS = (
    (0x1100, 0x11FF, "ko"),
    (0x2E80, 0x2FDF, "zh"),
    (0x3000, 0x303F, "zh"),
    (0x3040, 0x30FF, "ja"),
    (0x3100, 0x312F, "zh"),
    (0x3130, 0x318F, "ko"),
    (0x31F0, 0x31FF, "ja"),
    (0x3200, 0x4DBF, "zh"),
    (0x4E00, 0x9FFF, "zh"),
    (0xAC00, 0xD7AF, "ko"),
    (0xF900, 0xFAFF, "zh"),
    (0xFF00, 0xFF64, "zh"),
    (0xFF65, 0xFF9F, "ja"),
    (0xFFA0, 0xFFDC, "ko"),
    (0xFFE0, 0xFFEF, "zh"),
)
_CJK_STARTS = [block[0] for block in _CJK_BLOCKS]
_CJK_FONTS = {"ko": "HYGothic-Medium", "ja": "HeiseiKakuGo-W5", "zh": "STSong-Light"}

# xhtml2pdf's family names, which it resolves to the base-14 faces with their
# bold variants.
_SERIF = frozenset({"times new roman", "times", "georgia", "garamond", "cambria", "book antiqua", "serif"})
_MONO = frozenset({"courier new", "courier", "consolas", "lucida console", "monospace"})
_ALIGN: dict[int, str] = {TextAlign.Left: "left", TextAlign.Right: "right", TextAlign.Center: "center"}
# Plain ints: the planning loop runs once per field, and enum lookups cost.
_STATIC_TEXT = int(SheetFieldType.StaticText)
_TEXT_KINDS = frozenset(int(k) for k in (SheetFieldType.OutputText, SheetFieldType.InputField, _STATIC_TEXT))
_COMBO_BOX = int(SheetFieldType.ComboBox)
_CHECK_BOX = int(SheetFieldType.CheckBox)
_LINE = int(SheetFieldType.Line)
_RECTANGLE = int(SheetFieldType.Rectangle)
_SIG_BOXES = frozenset(int(k) for k in (SheetFieldType.SigBox, SheetFieldType.SigBoxPractice))
_DRAWN = _TEXT_KINDS | _SIG_BOXES | {_COMBO_BOX, _CHECK_BOX, _LINE, _RECTANGLE}

# The default stylesheet would be parsed on every render; this is all of it a
# field's paragraph uses.
_BASE_CSS = (
    "p { display: block; margin: 0; padding: 0; border: 0; "
    f"line-height: {_LINE_HEIGHT}; overflow-wrap: break-word; }}"
)


def refuse_fetch(uri: str, rel: str) -> str:
    """xhtml2pdf's link_callback: whatever is asked for, an empty inline resource, never a fetch."""
    log.warning("refused to fetch %.80r while rendering a sheet", uri)
    return "data:,"


class _TextBox(NamedTuple):
    """Everything that shapes a paragraph's layout, in points; equal boxes lay out alike."""

    text: str
    family: str
    bold: bool
    size: float
    align: str
    color: str
    width: float
    height: float


class _Text(NamedTuple):
    page: int
    x: float
    top: float
    box: _TextBox
    static: bool


class _Stroke(NamedTuple):
    """A line, or a rectangle's border, in points from the page's top left corner."""

    page: int
    rect: bool
    x1: float
    y1: float
    x2: float
    y2: float
    pen: str


@dataclass(frozen=True, slots=True)
class _Laid:
    flowable: Any
    height: float
    size: float
    clipped: bool


@dataclass(slots=True)
class _Plan:
    width: float
    height: float
    pages: int
    texts: list[_Text]
    strokes: list[_Stroke]


def _number(value: Any, default: float) -> float:
    # The common case first: rows hold ints and floats.
    if type(value) is int and -_HUGE < value < _HUGE:
        return value
    if not isinstance(value, bool | int | float | str):
        return default
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return default
    if math.isnan(number):
        return default
    return min(max(number, -_HUGE), _HUGE)


def _fp(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def _rgb(item_color: Any) -> tuple[int, int, int]:
    argb = int(_number(item_color, 0)) & 0xFFFFFFFF
    # Alpha is not honoured: sheets are printed opaque, and 0 is "Empty", black.
    return (argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF


def _pen(item_color: Any, px: float) -> str:
    r, g, b = _rgb(item_color)
    return f"{_fp(r / 255)} {_fp(g / 255)} {_fp(b / 255)} RG {_fp(px * PT_PER_PX)} w"


def _cjk_script(char: str) -> str | None:
    code = ord(char)
    i = bisect.bisect_right(_CJK_STARTS, code) - 1
    if i >= 0 and code <= _CJK_BLOCKS[i][1]:
        return _CJK_BLOCKS[i][2]
    return None


def _printable(value: str) -> tuple[str, str | None]:
    """The text as the fonts can print it, and the CID font it needs, if any."""
    text = _NEWLINES.sub("\n", value)
    if text.isascii():
        return text.translate(_ASCII_CLEAN), None
    out: list[str] = []
    scripts: set[str] = set()
    for char in unicodedata.normalize("NFC", text):
        if char in _WIN_ANSI or char == "\n":
            out.append(char)
        elif char == "\t":
            out.append(" ")
        elif script := _cjk_script(char):
            out.append(char)
            scripts.add(script)
        elif unicodedata.category(char) not in ("Cc", "Cf"):
            out.append("?")
    cjk = next((_CJK_FONTS[s] for s in ("ko", "ja", "zh") if s in scripts), None)
    return "".join(out), cjk


def _latin_family(font_name: Any) -> str:
    name = _string(font_name).strip().lower()
    if name in _SERIF:
        return "times"
    if name in _MONO:
        return "courier"
    return "helvetica"


def _signed_at(value: Any) -> datetime | date | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, date) and value.year > 1:
        return value
    return None


def _text_box(
    field: Mapping[str, Any], value: str, width: float, height: float, default_size: float
) -> _TextBox | None:
    printable, cjk = _printable(value)
    if width <= 0 or height <= 0 or not printable.strip():
        return None
    latin = _latin_family(field.get("FontName"))
    size = _number(field.get("FontSize"), 0)
    size = min(max(size if size > 0 else default_size, MIN_FONT_PT), MAX_FONT_PT)
    return _TextBox(
        text=printable,
        family=latin if cjk is None else f"{latin}, {cjk}",
        bold=_flag(field.get("FontIsBold")),
        size=round(size, 2),
        align=_ALIGN.get(int(_number(field.get("TextAlign"), 0)), "left"),
        color="#{:02x}{:02x}{:02x}".format(*_rgb(field.get("ItemColor"))),
        width=width,
        height=height,
    )


def _plan(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> _Plan:
    width_px = _number(sheet.get("Width"), 0)
    height_px = _number(sheet.get("Height"), 0)
    if width_px <= 0 or height_px <= 0:
        width_px, height_px = _DEFAULT_PAGE_PX
    if _flag(sheet.get("IsLandscape")):
        width_px, height_px = height_px, width_px
    sheet_font = _number(sheet.get("FontSize"), 0)
    default_size = sheet_font if sheet_font > 0 else _DEFAULT_FONT_PT
    plan = _Plan(width_px * PT_PER_PX, height_px * PT_PER_PX, 1, [], [])
    pens: dict[tuple[float, float], str] = {}

    def pen(field: Mapping[str, Any], px: float) -> str:
        key = (_number(field.get("ItemColor"), 0), px)
        if key not in pens:
            pens[key] = _pen(key[0], px)
        return pens[key]

    beyond = 0
    for field in fields:
        kind = _number(field.get("FieldType"), -1)
        if kind not in _DRAWN:
            # Parameter, MobileHeader and the kinds drawn from data a sheet
            # row does not carry (images, drawings, grids, charts).
            continue
        y = _number(field.get("YPos"), 0)
        page = int(y // height_px) if y >= height_px else 0
        if page >= MAX_PAGES:
            beyond += 1
            continue
        plan.pages = max(plan.pages, page + 1)
        x, top = _number(field.get("XPos"), 0) * PT_PER_PX, (y - page * height_px) * PT_PER_PX
        w, h = _number(field.get("Width"), 0) * PT_PER_PX, _number(field.get("Height"), 0) * PT_PER_PX
        value = _string(field.get("FieldValue"))
        text = None
        if kind in _TEXT_KINDS:
            text = value
        elif kind == _COMBO_BOX:
            # "The chosen option, semicolon, then a pipe delimited list of options."
            text = value.split(";", 1)[0]
        elif kind == _CHECK_BOX:
            if value.strip().upper() == "X":
                cross = pen(field, _CHECK_PX)
                plan.strokes.append(_Stroke(page, False, x, top, x + w, top + h, cross))
                plan.strokes.append(_Stroke(page, False, x, top + h, x + w, top, cross))
        else:
            rect = kind != _LINE
            plan.strokes.append(_Stroke(page, rect, x, top, x + w, top + h, pen(field, _LINE_PX)))
            signed = _signed_at(field.get("DateTimeSig")) if kind in _SIG_BOXES else None
            if signed is not None:
                text = "Signed " + signed.strftime(
                    "%Y-%m-%d %H:%M:%S" if isinstance(signed, datetime) else "%Y-%m-%d"
                )
        if text is not None and (box := _text_box(field, text, w, h, default_size)) is not None:
            plan.texts.append(_Text(page, x, top, box, kind == _STATIC_TEXT))
    if beyond:
        log.warning("%d field(s) lie beyond page %d and were not drawn", beyond, MAX_PAGES)
    return plan


def _paragraph(box: _TextBox, size: float) -> str:
    body = "<br/>".join(html.escape(line) for line in box.text.split("\n"))
    return (
        f'<p style="font-family: {box.family}; font-size: {size:.2f}pt; '
        f"font-weight: {'bold' if box.bold else 'normal'}; text-align: {box.align}; "
        f'color: {box.color}">{body}</p>'
    )


def _story(html_source: str) -> list[Any]:
    context = pisaStory(
        html_source, link_callback=refuse_fetch, default_css=_BASE_CSS, resource_policy=_NO_FETCH_POLICY
    )
    return list(context.story)


def _flowables(items: Sequence[tuple[_TextBox, float]]) -> list[Any | None]:
    story = _story("".join(_paragraph(box, size) for box, size in items))
    if len(story) == len(items):
        return story
    # Something made xhtml2pdf split or drop a paragraph, so the story no
    # longer lines up with the fields: lay each one out alone.
    laid: list[Any | None] = []
    for box, size in items:
        alone = _story(_paragraph(box, size))
        if len(alone) != 1:
            log.warning("a text field laid out as %d flowables and was not drawn", len(alone))
        laid.append(alone[0] if len(alone) == 1 else None)
    return laid


def _lay_out(boxes: Sequence[_TextBox]) -> list[_Laid | None]:
    """Each box's paragraph, shrunk until it fits (see the module docstring)."""
    result: list[_Laid | None] = [None] * len(boxes)
    sizes = [box.size for box in boxes]
    pending = list(range(len(boxes)))
    for attempt in range(_SHRINK_ROUNDS + 1):
        if not pending:
            break
        flowables = _flowables([(boxes[i], sizes[i]) for i in pending])
        still: list[int] = []
        for i, flowable in zip(pending, flowables, strict=True):
            if flowable is None:
                continue
            box, size = boxes[i], sizes[i]
            _, height = flowable.wrap(box.width, _UNBOUNDED)
            fits = height <= box.height + _DESCENDER_ROOM * size
            if fits or size <= MIN_FONT_PT:
                result[i] = _Laid(flowable, height, size, clipped=not fits)
                continue
            # A paragraph's height grows with the square of its font size.
            estimate = size * math.sqrt((box.height + _DESCENDER_ROOM * size) / height) * 0.98
            last = attempt >= _SHRINK_ROUNDS - 1
            sizes[i] = MIN_FONT_PT if last else max(MIN_FONT_PT, min(estimate, size * 0.95))
            still.append(i)
        pending = still
    return result


@dataclass(frozen=True, slots=True)
class _Snippet:
    """A laid-out paragraph as PDF operators, its box's top left corner at the origin."""

    code: str
    fonts: int  # how many fonts of the palette, in order, the code may name


class _Snippets:
    """Paragraphs drawn once and replayed: StaticText ones kept for later renders.

    reportlab has no public way to carry drawing from one document to another,
    so a scratch canvas draws each paragraph and its operator list (`_code`)
    is read back. The operators name fonts by the document's internal names
    (/F1, /F2...), which reportlab hands out in the order fonts are first
    used; so every canvas, scratch or real, starts by naming the same fonts
    in the same order (the palette), at a size no text has so that every
    paragraph sets its own. Each replay is wrapped in q/Q and the page's
    other drawing keeps to its own q/Q too, so a replayed paragraph always
    starts from the state it was recorded in.
    """

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._kept: OrderedDict[_TextBox, _Snippet | None] = OrderedDict()
        self._palette: list[str] = []
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self._kept.clear()

    def for_texts(self, texts: Sequence[_Text]) -> tuple[dict[_TextBox, _Snippet | None], list[str]]:
        """Each text's snippet, and the fonts a canvas must name first to replay them."""
        with self.lock:
            snippets: dict[_TextBox, _Snippet | None] = {}
            static: set[_TextBox] = set()
            for text in texts:
                if text.static:
                    static.add(text.box)
                    if text.box in self._kept:
                        self._kept.move_to_end(text.box)
                        snippets[text.box] = self._kept[text.box]
            todo = [box for box in dict.fromkeys(text.box for text in texts) if box not in snippets]
            if todo:
                for box, snippet in zip(todo, self._record(todo, _lay_out(todo)), strict=True):
                    snippets[box] = snippet
                    if box in static:
                        self._kept[box] = snippet
                while len(self._kept) > self._keep:
                    self._kept.popitem(last=False)
            fonts = max((s.fonts for s in snippets.values() if s is not None), default=0)
            return snippets, self._palette[:fonts]

    def _record(self, boxes: Sequence[_TextBox], layouts: Sequence[_Laid | None]) -> list[_Snippet | None]:
        canvas = Canvas(io.BytesIO())
        # The canvas's first font is named already; when it is all the palette
        # holds, it still has to be set to the size no text has.
        _name_fonts(canvas, self._palette or [rl_config.canvas_basefontname])
        code: list[str] = canvas._code
        names: dict[str, str] = canvas._doc.fontMapping
        recorded: list[_Snippet | None] = []
        for box, layout in zip(boxes, layouts, strict=True):
            if layout is None:
                recorded.append(None)
                continue
            start = len(code)
            if layout.clipped:
                canvas.saveState()
                room = _DESCENDER_ROOM * layout.size
                clip = canvas.beginPath()
                clip.rect(0, -box.height - room, box.width, box.height + room)
                canvas.clipPath(clip, stroke=0, fill=0)
            layout.flowable.drawOn(canvas, 0, -layout.height)
            if layout.clipped:
                canvas.restoreState()
            # A font the palette did not name yet joins it in the order the
            # scratch document named it, so the internal names stay the same
            # everywhere. Naming one more font than the code uses costs a few
            # bytes; one fewer would break the PDF, so "named" errs that way.
            self._palette.extend(name for name in names if name not in self._palette)
            snippet = "\n".join(code[start:])
            fonts = 1 + max(
                (i for i, name in enumerate(self._palette) if f"{names[name]} " in snippet), default=-1
            )
            recorded.append(_Snippet(snippet, fonts))
        return recorded


def _name_fonts(canvas: Canvas, fonts: Sequence[str]) -> None:
    for name in fonts:
        canvas.setFont(name, _UNUSED_FONT_PT)


# One per process: the memo behind "a definition's static layer is rendered
# once" (SPEC §9). Each worker of a PdfRenderer keeps its own.
_SNIPPETS = _Snippets(_KEPT_LAYOUTS)


def _stroke_code(strokes: Sequence[_Stroke], page_height: float) -> str:
    # Operators written here rather than through canvas.line/rect: formatting
    # numbers is most of what those cost, and a sheet has hundreds of strokes.
    ops = ["q"]
    pen = ""
    for s in strokes:
        if s.pen != pen:
            pen = s.pen
            ops.append(pen)
        y1, y2 = page_height - s.y1, page_height - s.y2
        if s.rect:
            ops.append(f"{_fp(s.x1)} {_fp(y2)} {_fp(s.x2 - s.x1)} {_fp(y1 - y2)} re S")
        else:
            ops.append(f"{_fp(s.x1)} {_fp(y1)} m {_fp(s.x2)} {_fp(y2)} l S")
    ops.append("Q")
    return "\n".join(ops)


def _paint(canvas: Canvas, plan: _Plan, snippets: Mapping[_TextBox, _Snippet | None]) -> None:
    strokes: dict[int, list[_Stroke]] = {}
    texts: dict[int, list[_Text]] = {}
    for stroke in plan.strokes:
        strokes.setdefault(stroke.page, []).append(stroke)
    for text in plan.texts:
        texts.setdefault(text.page, []).append(text)
    for page in range(plan.pages):
        if page in strokes:
            canvas.addLiteral(_stroke_code(strokes[page], plan.height))
        for text in texts.get(page, ()):
            snippet = snippets.get(text.box)
            if snippet is not None:
                canvas.addLiteral(
                    f"q 1 0 0 1 {_fp(text.x)} {_fp(plan.height - text.top)} cm\n{snippet.code}\nQ"
                )
        canvas.showPage()


def render_sheet_pdf(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
    """The sheet (a `sheet` row) with its fields (`sheetfield` rows) as PDF bytes.

    Pure and CPU-bound; rows are mappings of Open Dental's column names. See
    the module docstring for what is drawn and how.
    """
    plan = _plan(sheet, fields)
    snippets, fonts = _SNIPPETS.for_texts(plan.texts)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(plan.width, plan.height))
    canvas.setTitle(_string(sheet.get("Description")))
    canvas.setCreator("open-dental-sheets")
    _name_fonts(canvas, fonts)
    _paint(canvas, plan, snippets)
    canvas.save()
    return out.getvalue()


def _start_method() -> str:
    # Not fork: the parent runs gRPC's threads, and a forked child inherits
    # their locks in whatever state they were in.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _lower_priority() -> None:
    # Renders are batch work: when the CPU is contended, the process serving
    # RPCs goes first (SPEC §9: ListSheets p99 while PDFs render). SCHED_IDLE
    # runs a worker only on CPU time nothing else wants (Linux); a nice level
    # still leaves it a third of a contended core.
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass
    if hasattr(os, "nice"):
        os.nice(5)


RenderFunction = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], bytes]


class PdfRenderer:
    """Renders sheets in a pool of worker processes, so the event loop keeps serving.

    `workers` 0 means one per CPU. `render_fn` is what runs in the workers
    (a module-level function, so it can be pickled); `render_sheet_pdf` unless
    a test says otherwise. A worker that dies fails its render and the pool
    is replaced, so later renders work.
    """

    def __init__(self, workers: int = 0, *, render_fn: RenderFunction = render_sheet_pdf) -> None:
        self.workers = workers if workers > 0 else os.cpu_count() or 1
        self.start_method = _start_method()
        self._render_fn = render_fn
        self._closed = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_lower_priority,
        )

    async def render(self, sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
        """`render_sheet_pdf(sheet, fields)` in a worker process."""
        if self._closed:
            raise RuntimeError("the PdfRenderer is closed")
        pool = self._pool
        rows = [dict(field) for field in fields]
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, self._render_fn, dict(sheet), rows)
        except BrokenProcessPool:
            if pool is self._pool and not self._closed:
                self._pool = self._new_pool()
                pool.shutdown(wait=False)
            raise

    def close(self) -> None:
        """Stop the workers, cancelling renders not yet started; waits for running ones."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

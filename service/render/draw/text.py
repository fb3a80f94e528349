"""Text fields as paragraphs: laid out as xhtml2pdf lays them out, measured, kept, drawn where laid out.

Plain text (`plain_font`: left to right, every character in the chain's
first font, nothing to reorder, shape or combine: most of any sheet) is
broken into lines here, with reportlab's string widths, by xhtml2pdf's own
rules (`plain_layout`), and drawn as one text object per paragraph: the same
lines, line pitch and positions as xhtml2pdf's, without its HTML parse or its
paragraph drawing (tests/render/test_plain_text.py compares the two).

Every other text box becomes one `<p>` of a single small HTML document (its
value escaped, its font chain, size, weight, alignment, colour and direction
as inline CSS and attributes), so one xhtml2pdf parse per render yields one
paragraph flowable per box, broken into lines by xhtml2pdf. xhtml2pdf picks
the font per character from the chain's family list, shapes Arabic and lays
right-to-left runs out right to left (`dir="rtl"` on a paragraph whose first
strong character is right-to-left).

A box that may grow (GrowthBehavior other than None) is laid out at its
font size and measured; the layout module grows the box to that height. A
box that may not grow is shrunk until its text fits, never below
`MIN_FONT_PT`, and clipped at its bottom edge if it still does not fit.

StaticText layouts are kept for later renders in the same process (bounded,
least recently used dropped first), keyed by everything that shapes them:
the static layer of a definition is parsed and broken into lines once.
Filled-in `[tokens]` make some StaticText patient-specific, so a kept layout
may hold a patient's name; it never leaves the process.
"""

from __future__ import annotations

import html
import logging
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from reportlab.lib.colors import HexColor  # type: ignore[import-untyped]
from reportlab.lib.fonts import tt2ps  # type: ignore[import-untyped]
from reportlab.lib.rl_accel import fp_str  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.pdfgen.textobject import PDFTextObject  # type: ignore[import-untyped]
from xhtml2pdf.document import pisaStory

from service.render.fonts import Palette

log = logging.getLogger("service.text")

MIN_FONT_PT = 4.0
MAX_FONT_PT = 200.0
_LINE_HEIGHT = 1.15
# Below its box a paragraph may reach this much of its font size: the
# descenders of its last line, which Windows draws inside the leading.
DESCENDER_ROOM = 0.25
_SHRINK_ROUNDS = 8
_UNBOUNDED = 1e7
_KEPT_LAYOUTS = 4096

_NEWLINES = re.compile(r"\r\n|\r|\n")
_ASCII_CLEAN: dict[int, str | None] = dict.fromkeys((*range(0, 9), *range(11, 32), 127)) | {9: " "}
_RTL_CLASSES = frozenset({"R", "AL"})

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


class TextBox(NamedTuple):
    """Everything that shapes a paragraph's layout, in points; equal boxes lay out alike.

    `height` 0 means the box grows to its text: laid out at `size`, never shrunk or clipped.
    """

    text: str
    family: str
    bold: bool
    size: float
    align: str
    color: str
    rtl: bool
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Laid:
    """A paragraph laid out in its box, ready to draw (again and again), with its measures."""

    flowable: Any  # xhtml2pdf's wrapped paragraph, or a PlainParagraph
    height: float  # points
    lines: int
    size: float  # the font size it was laid out at (smaller than asked when shrunk)
    clipped: bool  # does not fit its box even at MIN_FONT_PT

    @property
    def pitch(self) -> float:
        """The distance from one line's top to the next one's, in points."""
        return self.height / max(self.lines, 1)


# Plain text: characters a left-to-right paragraph prints as they are, in
# reading order, with no bidirectional reordering, shaping or combining.
_PLAIN_BIDI = frozenset({"L", "EN", "ES", "ET", "CS", "ON"})
_PLAIN_CATEGORIES = frozenset(
    (
        "Lu",
        "Ll",
        "Lt",
        "Lm",
        "Lo",
        "Nd",
        "Nl",
        "No",
        "Pc",
        "Pd",
        "Ps",
        "Pe",
        "Pi",
        "Pf",
        "Po",
        "Sm",
        "Sc",
        "Sk",
        "So",
    )
)
# Per registered face: which characters are plain in it (asked once per character).
_plain_chars: dict[str, dict[str, bool]] = {}
_plain_lock = threading.Lock()


def _is_plain_char(face: Any, char: str) -> bool:
    if char == " ":
        return True
    if char.isspace() or ord(char) not in face.charToGlyph:
        return False
    return unicodedata.bidirectional(char) in _PLAIN_BIDI and unicodedata.category(char) in _PLAIN_CATEGORIES


def plain_font(box: TextBox) -> str | None:
    """The font a box prints in when its text is plain in its chain's first font, else None.

    Plain: left to right, every character but spaces and line breaks drawn by
    that one embedded TrueType face, nothing to reorder, shape or combine:
    xhtml2pdf would make it one run of one font. Such a box is laid out and
    drawn here (`PlainParagraph`), exactly where xhtml2pdf would put it.
    """
    if box.rtl:
        return None
    family = box.family.split(",", 1)[0].strip()
    try:
        name: str = tt2ps(family, int(box.bold), 0)
        font = pdfmetrics.getFont(name)
    except (ValueError, KeyError):
        return None
    face = getattr(font, "face", None)
    if not getattr(font, "_dynamicFont", False) or getattr(face, "charToGlyph", None) is None:
        return None
    with _plain_lock:
        known = _plain_chars.setdefault(name, {})
        for char in set(box.text):
            if char == "\n":
                continue
            plain = known.get(char)
            if plain is None:
                plain = known[char] = _is_plain_char(face, char)
            if not plain:
                return None
    return name


@dataclass(frozen=True, slots=True)
class PlainParagraph:
    """Plain text in one font, broken into lines as xhtml2pdf breaks them, drawn with text operators.

    `lines` holds each line's text and the room left on it (what alignment
    shares out); `ascent` is how far the first baseline sits below the top,
    `pitch` the distance between baselines; `fill` sets the text's colour.
    """

    font: str
    size: float
    fill: str
    lines: tuple[tuple[str, float], ...]
    ascent: float
    pitch: float


def _chunks(word: str, font: str, size: float, width: float) -> list[tuple[str, float]]:
    """A word wider than the line, cut between characters into pieces that fit (overflow-wrap)."""
    chunks: list[tuple[str, float]] = []
    chunk, chunk_width = "", 0.0
    for char in word:
        char_width = pdfmetrics.stringWidth(char, font, size)
        if chunk and chunk_width + char_width > width:
            chunks.append((chunk, chunk_width))
            chunk, chunk_width = "", 0.0
        chunk += char
        chunk_width += char_width
    if chunk:
        chunks.append((chunk, chunk_width))
    return chunks


def plain_layout(box: TextBox, font: str, size: float) -> tuple[PlainParagraph, float]:
    """The box's plain text laid out at `size` in `font`, and its height, as xhtml2pdf would.

    As `_paragraph` and xhtml2pdf treat it: each \\n a line break (but for
    one followed by spaces only), runs of spaces one space, spaces at the
    start and end of a line gone; words
    placed greedily, a word wider than the box cut between characters; each
    line as high as the leading split 5/6 above and 1/6 below the baseline,
    each part widened to the font's ascent or descent where taller.
    """
    size = float(f"{size:.2f}")  # the size the CSS says
    width = box.width
    space = pdfmetrics.stringWidth(" ", font, size)
    lines: list[tuple[str, float]] = []
    segments = box.text.split("\n")
    if len(segments) > 1 and segments[-1] and not segments[-1].strip(" "):
        # Spaces after the last break make no line; nothing at all after it makes an empty one.
        segments.pop()
    for segment in segments:
        words: list[tuple[str, float]] = []
        for word in segment.split(" "):
            if not word:
                continue
            word_width = pdfmetrics.stringWidth(word, font, size)
            if word_width > width > 0:
                words.extend(_chunks(word, font, size, width))
            else:
                words.append((word, word_width))
        line: list[str] = []
        used = -space
        for word, word_width in words:
            wider = used + space + word_width
            if line and wider > width:
                lines.append((" ".join(line), width - used))
                line, used = [word], word_width
            else:
                line.append(word)
                used = wider
        lines.append((" ".join(line), width - used))
    ascent, descent = pdfmetrics.getAscentDescent(font, size)
    leading = size * _LINE_HEIGHT
    above, below = max(5.0 / 6 * leading, ascent), max(1.0 / 6 * leading, -descent)
    height = 0.0
    for _ in lines:
        height += above + below
    color = HexColor(box.color)
    fill = f"{fp_str(color.red, color.green, color.blue)} rg"
    return PlainParagraph(font, size, fill, tuple(lines), ascent, above + below), height


def printable(value: str, chain: str, palette: Palette) -> tuple[str, int]:
    """The text as the chain's fonts can print it, and how many characters had to be replaced.

    Line breaks become \\n, tabs spaces; control and invisible formatting
    characters are dropped; a character no font of the chain has becomes a
    visible replacement (never silently "?").
    """
    text = _NEWLINES.sub("\n", value)
    if text.isascii() and palette.embedded:
        return text.translate(_ASCII_CLEAN), 0
    out: list[str] = []
    replaced = 0
    for char in unicodedata.normalize("NFC", text):
        if char == "\n":
            out.append(char)
        elif char == "\t":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf"):
            continue
        elif char.isspace() or palette.has_glyph(chain, char):
            out.append(char)
        else:
            out.append(palette.replacement(chain))
            replaced += 1
    return "".join(out), replaced


def is_rtl(text: str) -> bool:
    """Whether the first strong character is right-to-left (Hebrew, Arabic...)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in _RTL_CLASSES:
            return True
        if kind == "L":
            return False
    return False


def _paragraph(box: TextBox, size: float) -> str:
    body = "<br/>".join(html.escape(line) for line in box.text.split("\n"))
    direction = ' dir="rtl"' if box.rtl else ""
    return (
        f'<p{direction} style="font-family: {box.family}; font-size: {size:.2f}pt; '
        f"font-weight: {'bold' if box.bold else 'normal'}; text-align: {box.align}; "
        f'color: {box.color}">{body}</p>'
    )


class Story:
    """How a render's paragraphs get parsed: the fetch policy the fonts need, nothing more."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def parse(self, html_source: str) -> list[Any]:
        context = pisaStory(
            html_source, link_callback=refuse_fetch, default_css=_BASE_CSS, resource_policy=self.policy
        )
        return list(context.story)


def _flowables(story: Story, items: Sequence[tuple[TextBox, float]]) -> list[Any | None]:
    laid = story.parse("".join(_paragraph(box, size) for box, size in items))
    if len(laid) == len(items):
        return laid
    # Something made xhtml2pdf split or drop a paragraph, so the story no
    # longer lines up with the fields: lay each one out alone.
    alone_laid: list[Any | None] = []
    for box, size in items:
        alone = story.parse(_paragraph(box, size))
        if len(alone) != 1:
            log.warning("a text field laid out as %d flowables and was not drawn", len(alone))
        alone_laid.append(alone[0] if len(alone) == 1 else None)
    return alone_laid


def _lines(flowable: Any) -> int:
    para = getattr(flowable, "blPara", None)
    return max(1, len(getattr(para, "lines", ()) or ()))


def lay_out(story: Story, boxes: Sequence[TextBox]) -> list[Laid | None]:
    """Each box's paragraph: measured when it grows, shrunk until it fits when it may not."""
    result: list[Laid | None] = [None] * len(boxes)
    sizes = [box.size for box in boxes]
    fonts = [plain_font(box) for box in boxes]
    pending = list(range(len(boxes)))
    for attempt in range(_SHRINK_ROUNDS + 1):
        if not pending:
            break
        parsed = [i for i in pending if fonts[i] is None]
        flowables: dict[int, Any] = {}
        if parsed:
            flowables = dict(
                zip(parsed, _flowables(story, [(boxes[i], sizes[i]) for i in parsed]), strict=True)
            )
        still: list[int] = []
        for i in pending:
            box, size, font = boxes[i], sizes[i], fonts[i]
            flowable: Any
            if font is not None:
                flowable, height = plain_layout(box, font, size)
                lines = len(flowable.lines)
            else:
                flowable = flowables[i]
                if flowable is None:
                    continue
                _, height = flowable.wrap(box.width, _UNBOUNDED)
                lines = _lines(flowable)
            grows = box.height <= 0
            fits = grows or height <= box.height + DESCENDER_ROOM * size
            if fits or size <= MIN_FONT_PT:
                result[i] = Laid(flowable, height, max(1, lines), size, clipped=not fits)
                continue
            # A paragraph's height grows with the square of its font size.
            estimate = size * math.sqrt((box.height + DESCENDER_ROOM * size) / height) * 0.98
            last = attempt >= _SHRINK_ROUNDS - 1
            sizes[i] = MIN_FONT_PT if last else max(MIN_FONT_PT, min(estimate, size * 0.95))
            still.append(i)
        pending = still
    return result


class Layouts:
    """Paragraphs laid out once per render, StaticText ones kept for later renders (the static layer).

    A kept layout is a wrapped flowable or a plain paragraph's lines; drawing
    it again costs what drawing it the first time did, without the parse and
    line breaking.
    Fonts are subset per document, so what is kept is the layout, never
    the PDF operators.
    """

    def __init__(self, keep: int = _KEPT_LAYOUTS) -> None:
        self._keep = keep
        self._kept: OrderedDict[TextBox, Laid | None] = OrderedDict()
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self._kept.clear()

    def for_boxes(
        self, story: Story, boxes: Sequence[TextBox], static: set[TextBox]
    ) -> dict[TextBox, Laid | None]:
        """Each box's layout; the StaticText ones (`static`) come from, or join, the kept ones."""
        with self.lock:
            laid: dict[TextBox, Laid | None] = {}
            for box in static:
                if box in self._kept:
                    self._kept.move_to_end(box)
                    laid[box] = self._kept[box]
            todo = [box for box in dict.fromkeys(boxes) if box not in laid]
            if todo:
                for box, layout in zip(todo, lay_out(story, todo), strict=True):
                    laid[box] = layout
                    if box in static:
                        self._kept[box] = layout
                while len(self._kept) > self._keep:
                    self._kept.popitem(last=False)
            return laid


def _some_lines(laid: Laid, width: float, first: int, count: int) -> tuple[Any, float] | None:
    """A flowable of `count` lines of the paragraph from line `first`, and its height."""
    flowable = laid.flowable
    # Half a line of slack: the last line of a paragraph is a little shorter than the others.
    for skip, keep in ((first, False), (count, True)):
        flowable.wrap(width, _UNBOUNDED)
        if skip <= 0 or (keep and skip >= _lines(flowable)):
            continue
        flowable.allowOrphans = flowable.allowWidows = 1
        parts = flowable.split(width, (skip + 0.5) * laid.pitch)
        if len(parts) != 2:
            return None
        flowable = parts[0] if keep else parts[1]
    _, height = flowable.wrap(width, _UNBOUNDED)
    return flowable, height


def draw(
    canvas: Canvas, box: TextBox, laid: Laid, x: float, top: float, lines: tuple[int, int] | None = None
) -> None:
    """The paragraph with its box's top left corner at (x, top) in PDF coordinates.

    `lines` (first, count) draws only those lines, the first of them at `top`:
    the paragraph is split between lines, so the others are not in the page
    at all (not merely hidden), and its text extracts once.
    """
    if isinstance(laid.flowable, PlainParagraph):
        _draw_plain(canvas, box, laid, laid.flowable, x, top, lines)
        return
    flowable, height = laid.flowable, laid.height
    if lines is not None:
        part = _some_lines(laid, box.width, *lines)
        if part is None:
            log.warning("a text field could not be split between lines and was not drawn")
            return
        flowable, height = part
    canvas.saveState()
    if laid.clipped:
        room = DESCENDER_ROOM * laid.size
        clip = canvas.beginPath()
        clip.rect(x, top - box.height - room, box.width, box.height + room)
        canvas.clipPath(clip, stroke=0, fill=0)
    flowable.drawOn(canvas, x, top - height)
    canvas.restoreState()


def _draw_plain(
    canvas: Canvas,
    box: TextBox,
    laid: Laid,
    plain: PlainParagraph,
    x: float,
    top: float,
    lines: tuple[int, int] | None,
) -> None:
    """A plain paragraph's lines as one text object, in a saved graphics state (its colour stays inside)."""
    shown = plain.lines
    if lines is not None:
        first, count = lines
        shown = shown[first : first + count]
    if laid.clipped:
        canvas.saveState()
        room = DESCENDER_ROOM * laid.size
        clip = canvas.beginPath()
        clip.rect(x, top - box.height - room, box.width, box.height + room)
        canvas.clipPath(clip, stroke=0, fill=0)
    text = PDFTextObject(canvas)
    text.setFont(plain.font, plain.size)
    text._code.append(plain.fill)
    share = 0.0 if box.align == "left" else 0.5 if box.align == "center" else 1.0
    baseline = top - plain.ascent
    for line, room in shown:
        if line:
            text.setTextOrigin(x + share * room, baseline)
            text._textOut(line)
        baseline -= plain.pitch
    if laid.clipped:
        canvas.drawText(text)
        canvas.restoreState()
    else:
        canvas._code.append(f"q {text.getCode()} Q")


_layouts = Layouts()


def layouts() -> Layouts:
    """This process's layouts: the memo behind "a definition's static layer is laid out once"."""
    return _layouts


def forget_static_layers() -> None:
    """Drop every kept layout (the benchmark measures first renders with this)."""
    _layouts.clear()

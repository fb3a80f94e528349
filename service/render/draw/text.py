"""Text fields as paragraphs: laid out as xhtml2pdf lays them out, measured, kept, drawn where laid out.

Plain text (`plain_font`: left to right, every character in the chain's
first font, nothing to reorder, shape or combine: most of any sheet) is laid
out and drawn by `service.render.draw.plain`, without xhtml2pdf's HTML parse
or its paragraph drawing.

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

StaticText layouts are kept for later renders by their owner (`Layouts`, one per render
worker; bounded, least recently used dropped first), keyed by everything that shapes them:
the static layer of a definition is parsed and broken into lines once.
Filled-in `[tokens]` make some StaticText patient-specific, so a kept layout
may hold a patient's name; it never leaves the process."""

from __future__ import annotations

import html
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from xhtml2pdf.document import pisaStory

from service.render.draw.plain import PlainParagraph, _draw_plain, plain_font, plain_layout
from service.render.draw.textbox import (
    _LINE_HEIGHT,
    DESCENDER_ROOM,
    MAX_FONT_PT,
    MIN_FONT_PT,
    Laid,
    TextBox,
    is_rtl,
    printable,
)

# The text layout's face: the boxes, the plain path and the paragraphs, for the sheet and the tests.
__all__ = [
    "DESCENDER_ROOM",
    "MAX_FONT_PT",
    "MIN_FONT_PT",
    "Laid",
    "Layouts",
    "PlainParagraph",
    "Story",
    "TextBox",
    "draw",
    "is_rtl",
    "lay_out",
    "plain_font",
    "plain_layout",
    "printable",
    "refuse_fetch",
]

log = logging.getLogger("service.text")
_SHRINK_ROUNDS = 8
_UNBOUNDED = 1e7
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
    the PDF operators. At most `keep` are kept (0: none), the least recently used dropped first.
    """

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._kept: OrderedDict[TextBox, Laid | None] = OrderedDict()
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self._kept.clear()

    def __len__(self) -> int:
        """How many layouts are kept."""
        return len(self._kept)

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

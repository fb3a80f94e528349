"""Where each field prints: GrowthBehavior and pages, as Open Dental's `SheetUtil.CalculateHeights`.

Pure geometry in pixels (100 per inch), on copies of the fields: the stored
sheet never changes. The renderer measures each text field's wrapped height
with the fonts it draws with and hands it over as `Item.text_px`; nothing
here knows about fonts or PDFs.

Growth. Fields are taken top-down (by YPos, then XPos). A text field whose
text is taller than its box and whose GrowthBehavior is not None grows to
the text's height, rounded up to a whole pixel (never shrinks). DownGlobal
then moves every field with a larger YPos down by the growth; DownLocal moves
the fields at or below its YPos that its grown box, made taller by the growth
plus 1 px, overlaps (X included), and transitively the fields each moved one
overlaps on its way down (its box from where it was to where it is, plus
1 px); each field moves once. Fill* grow without moving anything.

Pages (every type but labels, Rx and deposit slips, which are one page).
One page when the lowest field bottom (of every field, drawn or not) is at
most the page height H; else
ceil((lowest bottom - 40) / (H - 100)) pages, with a 40 px top band left
blank after the first page and a 60 px bottom band on every page. Page p
draws a field at YPos - p * (H - 100): the first page shows y below H - 60,
page p after it y from p * (H - 100) + 40. Before that, as Open Dental does
when printing, each text field that runs past its page's printable bottom
is split between lines: the lines that fit stay, the rest continues 1 px
below the break (at the next page's top margin), pushing down what it then
overlaps; a text field none of whose lines fits, and a signature box, moves
whole to the next page the same way.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from service.vocab import GrowthBehavior

TOP_BAND_PX = 40
BOTTOM_BAND_PX = 60
MAX_PAGES = 100

_DOWN_LOCAL = int(GrowthBehavior.DownLocal)
_DOWN_GLOBAL = int(GrowthBehavior.DownGlobal)
_NO_GROWTH = int(GrowthBehavior.None_)


class Kind(Enum):
    TEXT = "text"
    SIGBOX = "sigbox"
    OTHER = "other"


@dataclass(slots=True, eq=False)
class Item:
    """A field's box as laid out; text items carry their measured text, and which of its lines they print."""

    field: int  # the index of the field it draws
    kind: Kind
    x: float
    y: float
    width: float
    height: float
    growth: int = _NO_GROWTH
    text_px: float = 0.0  # the wrapped text's height
    lines: int = 0  # the wrapped text's line count
    first_line: int = 0  # a continuation prints from this line...
    line_count: int | None = None  # ...this many lines (None: to the end)
    pushed_locally: bool = True  # Open Dental's DownLocal never moves a Drawing

    @property
    def pitch_px(self) -> float:
        return self.text_px / self.lines if self.lines else 0.0

    @property
    def lines_left(self) -> int:
        return self.lines - self.first_line if self.line_count is None else self.line_count

    @property
    def top(self) -> float:
        return min(self.y, self.y + self.height)

    @property
    def bottom(self) -> float:
        return max(self.y, self.y + self.height)


@dataclass(frozen=True, slots=True)
class Placed:
    """An item on one page: its top on that page and the band of the page it may draw in, in pixels."""

    item: Item
    page: int
    y: float
    clip_top: float
    clip_bottom: float


def _overlaps(x: float, y: float, w: float, h: float, other: Item) -> bool:
    # System.Drawing's Rectangle.IntersectsWith: touching edges do not count.
    return other.x < x + w and x < other.x + other.width and other.y < y + h and y < other.y + other.height


def _push(items: list[Item], mover: Item, amount: float, reach: float) -> None:
    """Move down by `amount` what `mover`'s box, `reach` px taller, overlaps; transitively what those do."""
    moved: set[int] = {id(mover)}
    queue = [(mover, mover.y, mover.height + reach)]
    while queue:
        source, y, h = queue.pop(0)
        for other in items:
            if (
                id(other) in moved
                or not other.pushed_locally
                or other.y < y
                or not _overlaps(source.x, y, source.width, h, other)
            ):
                continue
            moved.add(id(other))
            queue.append((other, other.y, other.height + amount + 1))
            other.y += amount


def grow(items: list[Item]) -> None:
    """Apply each text item's GrowthBehavior, top-down (see the module docstring)."""
    for item in sorted(items, key=lambda i: (i.y, i.x)):
        if item.kind is not Kind.TEXT or item.growth == _NO_GROWTH:
            continue
        needed = math.ceil(item.text_px - 1e-6)
        if needed <= item.height:
            continue
        amount = needed - item.height
        item.height = needed
        if item.growth == _DOWN_GLOBAL:
            for other in items:
                if other is not item and other.y > item.y:
                    other.y += amount
        elif item.growth == _DOWN_LOCAL:
            _push(items, item, amount, amount + 1)


def page_count(items: Iterable[Item], page_height: float) -> int:
    lowest = max((item.bottom for item in items), default=0.0)
    if lowest <= page_height or page_height <= TOP_BAND_PX + BOTTOM_BAND_PX:
        return 1
    return math.ceil((lowest - TOP_BAND_PX) / (page_height - TOP_BAND_PX - BOTTOM_BAND_PX))


def _page_bottom(y: float, page_height: float) -> float:
    """Open Dental's bottomCurPage: the printable bottom of the page a field at `y` starts on."""
    step = page_height - TOP_BAND_PX - BOTTOM_BAND_PX
    bottom = page_height - BOTTOM_BAND_PX
    if y > bottom:
        bottom += math.ceil((y - bottom) / step) * step
    return bottom


def break_pages(items: list[Item], page_height: float) -> None:
    """Split text and move signature boxes at page breaks (see the module docstring); adds continuations."""
    if page_height <= TOP_BAND_PX + BOTTOM_BAND_PX or page_count(items, page_height) == 1:
        return
    for item in sorted(items, key=lambda i: (i.y, i.x)):
        if item.kind is not Kind.OTHER and not _break(items, item, page_height):
            return


def _move_to_next_page(items: list[Item], item: Item, bottom: float) -> None:
    amount = bottom + 1 - item.y
    _push(items, item, amount, amount)
    item.y += amount


def _break(items: list[Item], item: Item, page_height: float) -> bool:
    """Break `item` at its page's bottom; False when the sheet has become one page (nothing more to break).

    Moving only pushes fields down, so a sheet of more than one page stays one
    until a box is cut short at a break: only then is the page count looked at again.
    """
    printable = page_height - TOP_BAND_PX - BOTTOM_BAND_PX
    while True:
        bottom = _page_bottom(item.y, page_height)
        if item.y + item.height <= bottom or item.y > MAX_PAGES * page_height:
            return True
        if item.kind is Kind.SIGBOX or not item.lines_left:
            if item.height <= printable:
                _move_to_next_page(items, item, bottom)
            return True
        pitch = item.pitch_px
        if math.ceil(pitch) > printable:
            return True
        if math.ceil(item.y + pitch) > bottom:
            _move_to_next_page(items, item, bottom)
            continue
        fit = max(1, int((bottom - item.y) / pitch + 1e-9))
        while fit > 1 and math.ceil(item.y + fit * pitch) > bottom:
            fit -= 1
        head = math.ceil(fit * pitch)
        if fit >= item.lines_left:
            # Every line fits: the box below them is empty and ends at the break.
            item.height = head
            return page_count(items, page_height) > 1
        tail = copy.copy(item)
        tail.first_line = item.first_line + fit
        tail.line_count = item.lines_left - fit
        tail.y = item.y + head
        tail.height = max(item.height - head, tail.line_count * pitch)
        item.line_count = fit
        item.height = head
        _move_to_next_page(items, tail, bottom)
        items.append(tail)
        item = tail


def place(items: Iterable[Item], page_height: float, pages: int, *, single: bool) -> list[Placed]:
    """Every item on every page it shows on, with the band it is clipped to."""
    placed: list[Placed] = []
    if single or pages == 1:
        for item in items:
            if item.top < page_height:
                placed.append(Placed(item, 0, item.y, 0.0, page_height))
        return placed
    step = page_height - TOP_BAND_PX - BOTTOM_BAND_PX
    first_bottom = page_height - BOTTOM_BAND_PX
    last = min(pages, MAX_PAGES) - 1

    def page_of(y: float) -> int:
        return 0 if y < first_bottom else 1 + int((y - first_bottom) // step)

    for item in items:
        start = page_of(item.top)
        end = page_of(item.bottom - 1e-6) if item.bottom > item.top else start
        for page in range(start, min(end, last) + 1):
            top_band = 0.0 if page == 0 else float(TOP_BAND_PX)
            placed.append(Placed(item, page, item.y - page * step, top_band, page_height - BOTTOM_BAND_PX))
    return placed

"""Painting a laid-out sheet onto a reportlab canvas: images under strokes (lines, rectangle
borders, check marks as PDF path operators) under text (the laid-out paragraphs, split between
lines at page breaks), each page clipped to its printable band when the sheet runs to more than
one page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from service.render.draw import text
from service.render.draw.coerce import rgb
from service.render.draw.layout import Kind, Placed
from service.render.draw.text import TextBox
from service.vocab import SheetFieldType

__all__ = ["PT_PER_PX", "Drawable", "fp", "paint", "pen"]

# 100 px per inch.
PT_PER_PX = 0.72
_SIGNED_ABOVE_BOTTOM_PX = 17  # its 14 px box sits 15 px above the bottom of a box 2 px smaller
_CHECK_BOX = int(SheetFieldType.CheckBox)
_RECTANGLE = int(SheetFieldType.Rectangle)


@dataclass(slots=True)
class Drawable:
    """What one field draws, before layout decides where."""

    kind: int
    box: TextBox | None = None
    static: bool = False
    pen: str = ""
    image: Any = None


def fp(value: float) -> str:
    """A number as a PDF operand: at most three decimals, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def pen(item_color: Any, px: float) -> str:
    """The operators that set a stroke's colour (ItemColor) and width (`px` pixels)."""
    r, g, b = rgb(item_color)
    return f"{fp(r / 255)} {fp(g / 255)} {fp(b / 255)} RG {fp(px * PT_PER_PX)} w"


def paint(
    canvas: Canvas,
    page_height: float,
    pages: int,
    placed: Sequence[Placed],
    drawables: Sequence[Drawable],
    laid: Mapping[TextBox, text.Laid | None],
    *,
    banded: bool,
) -> None:
    by_page: dict[int, list[Placed]] = {}
    for piece in placed:
        by_page.setdefault(piece.page, []).append(piece)
    for page in range(pages):
        pieces = by_page.get(page, [])
        if banded and pieces:
            top, bottom = pieces[0].clip_top * PT_PER_PX, pieces[0].clip_bottom * PT_PER_PX
            canvas.addLiteral(
                f"q 0 {fp(page_height - bottom)} {fp(canvas._pagesize[0])} {fp(bottom - top)} re W n"
            )
        # Open Dental's layers: images under strokes under text.
        for piece in pieces:
            drawable = drawables[piece.item.field]
            if drawable.image is not None:
                item = piece.item
                canvas.drawImage(
                    drawable.image,
                    item.x * PT_PER_PX,
                    page_height - (piece.y + item.height) * PT_PER_PX,
                    item.width * PT_PER_PX,
                    item.height * PT_PER_PX,
                    mask="auto",
                )
        strokes = [_stroke(piece, drawables[piece.item.field], page_height) for piece in pieces]
        code = [s for s in strokes if s]
        if code:
            canvas.addLiteral("q\n" + "\n".join(code) + "\nQ")
        for piece in pieces:
            box = drawables[piece.item.field].box
            paragraph = laid.get(box) if box is not None else None
            if box is not None and paragraph is not None:
                _draw_text(canvas, piece, box, paragraph, page_height)
        if banded and pieces:
            canvas.addLiteral("Q")
        canvas.showPage()


def _stroke(piece: Placed, drawable: Drawable, page_height: float) -> str:
    if not drawable.pen:
        return ""
    item = piece.item
    x1, x2 = item.x * PT_PER_PX, (item.x + item.width) * PT_PER_PX
    y1, y2 = page_height - piece.y * PT_PER_PX, page_height - (piece.y + item.height) * PT_PER_PX
    if drawable.kind == _RECTANGLE:
        return f"{drawable.pen} {fp(x1)} {fp(y2)} {fp(x2 - x1)} {fp(y1 - y2)} re S"
    if drawable.kind == _CHECK_BOX:
        cross = f"{fp(x1)} {fp(y2)} m {fp(x2)} {fp(y1)} l"
        return f"{drawable.pen} {fp(x1)} {fp(y1)} m {fp(x2)} {fp(y2)} l {cross} S"
    return f"{drawable.pen} {fp(x1)} {fp(y1)} m {fp(x2)} {fp(y2)} l S"


def _draw_text(canvas: Canvas, piece: Placed, box: TextBox, laid: text.Laid, page_height: float) -> None:
    item = piece.item
    top = piece.y * PT_PER_PX
    x = item.x * PT_PER_PX
    if item.kind is Kind.SIGBOX:
        top = (piece.y + item.height - _SIGNED_ABOVE_BOTTOM_PX) * PT_PER_PX
        x += PT_PER_PX
    whole = item.first_line == 0 and item.line_count is None
    lines = None if whole else (item.first_line, item.lines_left)
    text.draw(canvas, box, laid, x, page_height - top, lines)

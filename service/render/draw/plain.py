"""Plain text, laid out and drawn without xhtml2pdf: left to right, every character in the chain's
first font, nothing to reorder, shape or combine (most of any sheet). Lines are broken with
reportlab's string widths by xhtml2pdf's own rules, and drawn as one text object per paragraph:
the same lines, line pitch and positions as xhtml2pdf's (tests/render/test_plain_text.py
compares the two)."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from reportlab.lib.colors import HexColor  # type: ignore[import-untyped]
from reportlab.lib.fonts import tt2ps  # type: ignore[import-untyped]
from reportlab.lib.rl_accel import fp_str  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.pdfgen.textobject import PDFTextObject  # type: ignore[import-untyped]

from service.render.draw.textbox import _LINE_HEIGHT, DESCENDER_ROOM, Laid, TextBox

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

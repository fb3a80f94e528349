"""A text field's box (everything that shapes its layout) and a paragraph laid out in it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, NamedTuple

from service.render.fonts import Palette

MIN_FONT_PT = 4.0
MAX_FONT_PT = 200.0
_LINE_HEIGHT = 1.15
# Below its box a paragraph may reach this much of its font size: the
# descenders of its last line, which Windows draws inside the leading.
DESCENDER_ROOM = 0.25
_NEWLINES = re.compile(r"\r\n|\r|\n")
_ASCII_CLEAN: dict[int, str | None] = dict.fromkeys((*range(0, 9), *range(11, 32), 127)) | {9: " "}
_RTL_CLASSES = frozenset({"R", "AL"})


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

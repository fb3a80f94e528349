"""A row's values as the drawing code reads them: whatever a column holds (a driver's type, a
string, None, garbage) becomes a bounded number, a flag, a string, a colour or a time, never an
exception."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from service.vocab import after_1880, datetime_parts

__all__ = ["flag", "number", "rgb", "signed_at", "string"]

# Coordinates and sizes beyond this are not numbers a sheet can mean.
_HUGE = 1e9


def number(value: Any, default: float) -> float:
    if type(value) is int and -_HUGE < value < _HUGE:
        return value
    if not isinstance(value, bool | int | float | str):
        return default
    try:
        parsed = float(value)
    except (ValueError, OverflowError):
        return default
    if math.isnan(parsed):
        return default
    return min(max(parsed, -_HUGE), _HUGE)


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def rgb(item_color: Any) -> tuple[int, int, int]:
    argb = int(number(item_color, 0)) & 0xFFFFFFFF
    # Alpha is not honoured: sheets are printed opaque, and 0 is "Empty", black.
    return (argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF


def signed_at(value: Any) -> datetime | None:
    """A SigBox's DateTimeSig, to the second, when it says the box was signed (after 1880), else None."""
    try:
        signed = datetime(*datetime_parts(value))
    except ValueError:  # text whose month or day is out of range
        return None
    return signed if after_1880(signed) else None

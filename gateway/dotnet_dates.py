""".NET date and time format strings, as Open Dental's API applies its
`DateFormatString` and `DateTimeFormatString` parameters (`DateTime.ToString`).

Custom specifiers: d dd ddd dddd, f… and F… (up to 7), g, h hh H HH, K, m mm,
M MM MMM MMMM, s ss, t tt, y yy yyy…, z zz zzz; `'…'` and `"…"` literals, `\\`
escapes, `%` before a lone specifier, `/` and `:` as the culture's separators.
A format of one character is a standard format (d D f F g G o O r R s t T u)
spelled with the culture's patterns. Day and month names come from Babel's
locale data. The times formatted are local wall-clock times (Open Dental
stores no zone): `K` is empty, as for .NET's unspecified kind, and `z`/`zzz`
are the service's UTC offset at that instant. `0001-01-01 00:00:00` (unset)
formats as .NET formats `DateTime.MinValue`.

What .NET refuses (an unclosed quote, a trailing `\\` or `%`, `%%`, more
than seven f) and an empty or over-long format are refused with an explanation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from babel import Locale

from service.vocab import DateCulture

MAX_FORMAT_LENGTH = 100
_Part = Callable[[datetime], str]
_STANDARD = "dDfFgGoOstTu"
_PIECE = r"""'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*"|\\[\s\S]|%[^%'"\\]|[^'"\\%]"""
# The grammar of the formats taken, in the regular expressions of both Python
# and JSON Schema (the OpenAPI document declares it): a standard format, or
# custom specifiers, literals and escapes, at most 7 f or F in a row.
FORMAT_PATTERN = (
    rf"^(?![\s\S]*(?:f{{8}}|F{{8}}))(?:[{_STANDARD}]|(?:{_PIECE}){{2,}}|"
    rf"""'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*"|\\[\s\S]|%[^%'"\\])(?![\s\S])"""
)
_FORMAT = re.compile(FORMAT_PATTERN)


class FormatError(ValueError):
    """A format string .NET would refuse, or one too long or empty; the message says why."""


EN_US = DateCulture("en-US", "M/d/yyyy", "dddd, MMMM d, yyyy", "h:mm tt", "h:mm:ss tt", "AM", "PM")


class _Names:
    """A culture's day and month names and separators, read from Babel once."""

    def __init__(self, culture: DateCulture) -> None:
        locale = Locale.parse(culture.name.replace("-", "_"))
        months, days = locale.months["format"], locale.days["format"]
        self.months = [""] + [str(months["wide"][m]) for m in range(1, 13)]
        self.months_abbreviated = [""] + [str(months["abbreviated"][m]) for m in range(1, 13)]
        # Babel counts from Monday (0), Python's weekday() too.
        self.days = [str(days["wide"][d]) for d in range(7)]
        self.days_abbreviated = [str(days["abbreviated"][d]) for d in range(7)]
        self.am, self.pm = culture.am, culture.pm
        separators = [c for c in culture.short_date if not c.isalpha() and c not in "'\" "]
        self.date_separator = separators[0] if separators else "/"
        self.time_separator = ":"
        self.culture = culture

    @cached_property
    def standard(self) -> dict[str, str]:
        c = self.culture
        return {
            "d": c.short_date,
            "D": c.long_date,
            "t": c.short_time,
            "T": c.long_time,
            "f": f"{c.long_date} {c.short_time}",
            "F": f"{c.long_date} {c.long_time}",
            "g": f"{c.short_date} {c.short_time}",
            "G": f"{c.short_date} {c.long_time}",
            # The culture-invariant ones.
            "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
            "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
            "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
            "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        }


@lru_cache(maxsize=16)
def _names(culture: DateCulture) -> _Names:
    return _Names(culture)


def utc_offset(value: datetime) -> timedelta:
    """The service's UTC offset at a local wall-clock time (its standard offset
    where the platform cannot tell, as for year 1)."""
    # Offsets change on the minute at most; the zone's names key a change of zone (tzset).
    return _offset_at(value.replace(second=0, microsecond=0), time.tzname)


@lru_cache(maxsize=4096)
def _offset_at(minute: datetime, zone: tuple[str, str]) -> timedelta:
    try:
        offset = minute.astimezone().utcoffset()
    except (OverflowError, OSError, ValueError):
        offset = None
    return offset if offset is not None else timedelta(seconds=-time.timezone)


def _offset_text(value: datetime, count: int) -> str:
    minutes = int(utc_offset(value).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    if count == 1:
        return f"{sign}{hours}"
    if count == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


def _run(pattern: str, index: int) -> int:
    """How many times the character at `index` repeats from there."""
    end = index
    while end < len(pattern) and pattern[end] == pattern[index]:
        end += 1
    return end - index


def _literal(text: str) -> _Part:
    return lambda _: text


_POINT = _literal(".")


def _point_before(fraction: _Part) -> _Part:
    def text(value: datetime) -> str:
        digits = fraction(value)
        return "." + digits if digits else ""

    return text


def _specifier(letter: str, count: int, names: _Names) -> _Part | None:
    """One run of a specifier letter, or None when the letter is not one."""
    if letter == "d":
        if count == 1:
            return lambda v: str(v.day)
        if count == 2:
            return lambda v: f"{v.day:02d}"
        days = names.days_abbreviated if count == 3 else names.days
        return lambda v: days[v.weekday()]
    if letter == "M":
        if count == 1:
            return lambda v: str(v.month)
        if count == 2:
            return lambda v: f"{v.month:02d}"
        months = names.months_abbreviated if count == 3 else names.months
        return lambda v: months[v.month]
    if letter == "y":
        if count == 1:
            return lambda v: str(v.year % 100)
        if count == 2:
            return lambda v: f"{v.year % 100:02d}"
        return lambda v: str(v.year).zfill(count)
    if letter in "hHms":
        width = min(count, 2)

        def number(value: datetime) -> int:
            if letter == "h":
                return value.hour % 12 or 12
            return {"H": value.hour, "m": value.minute, "s": value.second}[letter]

        return lambda v: str(number(v)).zfill(width)
    if letter in "fF":
        if count > 7:
            raise FormatError("at most 7 f or F may stand in a row.")
        if letter == "f":
            return lambda v: f"{v.microsecond:06d}0"[:count]
        return lambda v: f"{v.microsecond:06d}0"[:count].rstrip("0")
    if letter == "t":
        if count == 1:
            return lambda v: (names.am if v.hour < 12 else names.pm)[:1]
        return lambda v: names.am if v.hour < 12 else names.pm
    if letter == "z":
        return lambda v: _offset_text(v, min(count, 3))
    if letter == "g":
        return _literal("A.D.")
    if letter == "K":
        # Open Dental's times have no kind: .NET writes nothing for them.
        return _literal("")
    return None


def _compile(pattern: str, names: _Names) -> list[_Part]:
    parts: list[_Part] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char in "'\"":
            end = index + 1
            text = []
            while end < len(pattern) and pattern[end] != char:
                if pattern[end] == "\\":
                    end += 1
                    if end == len(pattern):
                        break
                text.append(pattern[end])
                end += 1
            if end >= len(pattern):
                raise FormatError(f"the quote at position {index + 1} is not closed.")
            parts.append(_literal("".join(text)))
            index = end + 1
            continue
        if char == "\\":
            if index + 1 == len(pattern):
                raise FormatError("it ends with an escape character (\\).")
            parts.append(_literal(pattern[index + 1]))
            index += 2
            continue
        if char == "%":
            # The one character after it is a custom specifier on its own.
            if index + 1 == len(pattern) or pattern[index + 1] in "%'\"\\":
                raise FormatError("'%' must come before a single format specifier.")
            following = pattern[index + 1]
            single = _specifier(following, 1, names)
            parts.extend([single] if single is not None else _compile(following, names))
            index += 2
            continue
        if char == ".":
            parts.append(_POINT)
            index += 1
            continue
        if char == "/":
            parts.append(_literal(names.date_separator))
            index += 1
            continue
        if char == ":":
            parts.append(_literal(names.time_separator))
            index += 1
            continue
        count = 1 if char in "K" else _run(pattern, index)
        part = _specifier(char, count, names)
        if part is None:
            parts.append(_literal(char))
            index += 1
            continue
        if char == "F" and parts and parts[-1] is _POINT:
            # .NET drops the decimal point before an F fraction that comes out empty.
            parts[-1] = _point_before(part)
        else:
            parts.append(part)
        index += count
    return parts


@lru_cache(maxsize=256)
def formatter(pattern: str, culture: DateCulture = EN_US) -> Callable[[datetime], str]:
    """A function that formats a date-time as `pattern`; FormatError when .NET would refuse it
    (or it is empty or longer than MAX_FORMAT_LENGTH characters)."""
    if not pattern:
        raise FormatError("it is empty.")
    if len(pattern) > MAX_FORMAT_LENGTH:
        raise FormatError(f"it is too long: at most {MAX_FORMAT_LENGTH} characters.")
    names = _names(culture)
    if len(pattern) == 1:
        if pattern not in _STANDARD:
            raise FormatError(f"'{pattern}' alone is not one of .NET's standard date formats.")
        return formatter(names.standard[pattern], culture)
    parts = _compile(pattern, names)
    if not _FORMAT.fullmatch(pattern):
        # What the grammar refuses beyond what .NET does: eight f or F in a row, even quoted.
        raise FormatError("at most 7 f or F may stand in a row.")
    if len(parts) == 1:
        return parts[0]
    return lambda value: "".join([part(value) for part in parts])

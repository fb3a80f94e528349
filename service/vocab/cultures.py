"""Dates, times and money as Open Dental prints them for the office's culture.

Open Dental formats with .NET's culture data on Windows (`ToShortDateString`,
`ToLongDateString`, `ToShortTimeString`, `ToString("c")`…). The patterns of the
cultures below are .NET's, written in .NET's notation and translated to
Babel's (CLDR) notation once; names of days and months and the currency come from
Babel's locale data. Other cultures are refused at start, naming those served.

Every Open Dental program first normalises the short date pattern
(`DateTimeOD.NormalizeApplicationShortDateFormat`): en-US prints `MM/dd/yyyy`
and a two-digit year becomes four digits elsewhere, so every short date
(`ToShortDateString`, and `DateTime.ToString()` which starts with it) prints
that way; `open_dental_short_date` does the same to .NET's pattern.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, get_territory_currencies

from service.vocab.date_culture import DateCulture

# .NET's DateTimeFormatInfo on Windows for the cultures Open Dental offices use most.
_DOTNET: dict[str, DateCulture] = {
    c.name: c
    for c in (
        DateCulture("en-US", "M/d/yyyy", "dddd, MMMM d, yyyy", "h:mm tt", "h:mm:ss tt", "AM", "PM"),
        DateCulture("en-CA", "yyyy-MM-dd", "MMMM d, yyyy", "h:mm tt", "h:mm:ss tt", "a.m.", "p.m."),
        DateCulture("en-GB", "dd/MM/yyyy", "dd MMMM yyyy", "HH:mm", "HH:mm:ss", "AM", "PM"),
        DateCulture("en-AU", "d/MM/yyyy", "dddd, d MMMM yyyy", "h:mm tt", "h:mm:ss tt", "AM", "PM"),
        DateCulture(
            "es-MX", "dd/MM/yyyy", "dddd, d' de 'MMMM' de 'yyyy", "hh:mm tt", "hh:mm:ss tt", "a. m.", "p. m."
        ),
        DateCulture("fr-CA", "yyyy-MM-dd", "d MMMM yyyy", "HH 'h' mm", "HH 'h' mm 'min' ss 's'", "", ""),
    )
}

# .NET custom format specifiers and their CLDR equivalents (longest first).
_DOTNET_TOKEN = re.compile(r"'[^']*'|dddd|ddd|dd|d|MMMM|MMM|MM|M|yyyy|yy|HH|H|hh|h|mm|m|ss|s|tt|.", re.S)
_TO_CLDR = {"dddd": "EEEE", "ddd": "EEE"}


# A two-digit year in a short date pattern: "yy/…", "…/yy/…", "…/yy".
_TWO_DIGIT_YEAR = re.compile(r"^y{2}[^y]|[^y]y{2}[^y]|[^y]y{2}$")


def open_dental_short_date(name: str, dotnet_pattern: str) -> str:
    """The short date pattern Open Dental sets for a culture at start (DateTimeOD)."""
    if name == "en-US":
        return "MM/dd/yyyy"
    if _TWO_DIGIT_YEAR.search(dotnet_pattern):
        return dotnet_pattern.replace("yy", "yyyy")
    return dotnet_pattern


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'" if text else ""


def _to_cldr(pattern: str, am_pm: str) -> str:
    """A .NET date/time pattern as a CLDR one; `tt` becomes the quoted designator."""
    out = []
    for specifier in _DOTNET_TOKEN.findall(pattern):
        if specifier.startswith("'"):
            out.append(_quote(specifier[1:-1]))
        elif specifier == "tt":
            out.append(_quote(am_pm))
        elif specifier[0] in "dMyHhms":
            out.append(_TO_CLDR.get(specifier, specifier))
        elif specifier.isalpha():
            out.append(_quote(specifier))
        else:
            out.append(specifier)
    return "".join(out)


class Culture:
    """Formats for one culture name (`en-US`, `es-MX`…)."""

    __slots__ = ("_currency", "_formatted", "_locale", "_patterns", "_short_date", "name")

    def __init__(self, name: str) -> None:
        try:
            self._locale = Locale.parse(name.replace("-", "_"))
        except (UnknownLocaleError, ValueError) as exc:
            raise ValueError(f"SHEETS_CULTURE {name!r} is not a culture Babel knows.") from exc
        self.name = name
        patterns = _DOTNET.get(name)
        if patterns is None:
            raise ValueError(
                f"SHEETS_CULTURE {name!r} is not one of the cultures served: {', '.join(sorted(_DOTNET))}."
            )
        self._patterns = patterns
        self._short_date = open_dental_short_date(name, patterns.short_date)
        territory = self._locale.territory or ""
        currencies = get_territory_currencies(territory) if territory else []
        self._currency = currencies[0] if currencies else "USD"
        # What was formatted already: a sheet's dates and amounts recur (today, a
        # birthdate, zero balances) and Babel takes tens of microseconds for each.
        self._formatted: dict[tuple[object, str], str] = {}

    @property
    def patterns(self) -> DateCulture:
        """.NET's patterns and AM/PM designators of this culture."""
        return self._patterns

    def _remembered(self, key: tuple[object, str], text: str) -> str:
        if len(self._formatted) >= _REMEMBERED:
            self._formatted.clear()
        self._formatted[key] = text
        return text

    def _format(self, value: datetime, dotnet_pattern: str) -> str:
        key = (value, dotnet_pattern)
        found = self._formatted.get(key)
        if found is not None:
            return found
        am_pm = self._patterns.am if value.hour < 12 else self._patterns.pm
        text = str(format_datetime(value, _cldr(dotnet_pattern, am_pm), locale=self._locale))
        return self._remembered(key, text)

    def short_date(self, value: date) -> str:
        """ToShortDateString after Open Dental's normalisation (en-US `06/02/1961`)."""
        return self._format(_at_midnight(value), self._short_date)

    def long_date(self, value: date) -> str:
        """ToLongDateString (en-US `Sunday, November 29, 2026`)."""
        return self._format(_at_midnight(value), self._patterns.long_date)

    def short_time(self, value: datetime) -> str:
        """ToShortTimeString (en-US `3:24 PM`)."""
        return self._format(value, self._patterns.short_time)

    def general(self, value: datetime) -> str:
        """DateTime.ToString(): short date, a space, long time (en-US `06/02/1961 3:24:05 PM`)."""
        return self.short_date(value) + " " + self._format(value, self._patterns.long_time)

    def custom(self, value: datetime, dotnet_pattern: str) -> str:
        """ToString(pattern) with a .NET custom pattern (`MMMM dd, yyyy`)."""
        return self._format(value, dotnet_pattern)

    def day_name(self, value: date) -> str:
        """ToString("dddd"): the weekday's name."""
        return self._format(_at_midnight(value), "dddd")

    def money(self, amount: float) -> str:
        """ToString("c") in the culture's currency."""
        key = (repr(amount), "c")  # -0.0 and 0.0 are equal keys, not equal texts
        found = self._formatted.get(key)
        if found is not None:
            return found
        if amount < 0 and self.name == "en-US":
            # .NET Framework's en-US negative currency pattern is "($n)".
            text = "(" + str(format_currency(-amount, self._currency, locale=self._locale)) + ")"
        else:
            text = str(format_currency(amount, self._currency, locale=self._locale))
        return self._remembered(key, text)


_REMEMBERED = 4096


@lru_cache(maxsize=256)
def _cldr(dotnet_pattern: str, am_pm: str) -> str:
    return _to_cldr(dotnet_pattern, am_pm)


def _at_midnight(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


@lru_cache(maxsize=16)
def culture(name: str) -> Culture:
    """The culture of a name, built once."""
    return Culture(name)


EN_US = culture("en-US")

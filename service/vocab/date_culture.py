"""The shape of a culture's .NET date and time patterns, apart from Babel.

Filling prints a sheet's dates with them (`service.vocab.cultures`) and the REST gateway applies
Open Dental's `DateFormatString` and `DateTimeFormatString` with them; the patterns themselves
are in `cultures`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DateCulture:
    """.NET's date and time patterns and designators of a culture (its name for Babel's names)."""

    name: str
    short_date: str
    long_date: str
    short_time: str
    long_time: str
    am: str
    pm: str

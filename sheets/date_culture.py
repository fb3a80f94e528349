"""The office's culture (`SHEETS_CULTURE`) as the REST gateway's date formats need it."""

from __future__ import annotations

from service.vocab import DateCulture, culture


def date_culture(name: str) -> DateCulture:
    """.NET's patterns and designators of a culture, for `DateFormatString` / `DateTimeFormatString`."""
    return culture(name).patterns

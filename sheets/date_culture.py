"""The office's culture (`SHEETS_CULTURE`) as the REST gateway's date formats need it."""

from __future__ import annotations

from gateway.dotnet_dates import DateCulture
from service.vocab import culture


def date_culture(name: str) -> DateCulture:
    """.NET's patterns and designators of a culture, for `DateFormatString` / `DateTimeFormatString`."""
    patterns = culture(name).patterns
    return DateCulture(
        name,
        short_date=patterns.short_date,
        long_date=patterns.long_date,
        short_time=patterns.short_time,
        long_time=patterns.long_time,
        am=patterns.am,
        pm=patterns.pm,
    )

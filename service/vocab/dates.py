"""Open Dental's dates: its unset date and time, the year before which a date counts as unset, and
reading a stored date-time whatever form its driver hands it over in."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

# Open Dental's "no date": what a fresh row holds in a date or date-time column.
NO_DATE = date(1, 1, 1)
NO_DATETIME = datetime(1, 1, 1)
MIDNIGHT = time(0, 0)
# Open Dental treats any date before 1880 as unset. Where it prints something only for a date
# "after 1880" its source compares `Year > 1880`; both comparisons are kept where Open Dental has them.
FIRST_REAL_YEAR = 1880
FIRST_REAL_DATE = date(FIRST_REAL_YEAR, 1, 1)


def real_date(value: Any) -> date | None:
    """The date of a stored date or date-time, or None when Open Dental would call it unset."""
    # MySQL hands back a zero date ('0000-00-00') as None.
    if value is None or value.year < FIRST_REAL_YEAR:
        return None
    return value.date() if isinstance(value, datetime) else value


def after_1880(value: date) -> bool:
    """Open Dental's "after 1880" (`Year > 1880`), where it prints something only for a set date."""
    return value.year > FIRST_REAL_YEAR


def datetime_parts(value: Any) -> tuple[int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second) of a stored date-time.

    SQLite keeps SQLAlchemy's text form ("2026-11-29 09:30:00.000000"), the
    MySQL and PostgreSQL drivers return datetimes, and MySQL's zero date
    (common in Open Dental databases) arrives as text with year 0: that and
    anything unreadable is Open Dental's unset 0001-01-01 00:00:00.
    """
    if isinstance(value, datetime):
        return value.year, value.month, value.day, value.hour, value.minute, value.second
    if isinstance(value, date):
        return value.year, value.month, value.day, 0, 0, 0
    if isinstance(value, str) and len(value) >= 10:
        try:
            year = int(value[0:4])
            if year:
                clock = (
                    (int(value[11:13]), int(value[14:16]), int(value[17:19]))
                    if len(value) >= 19
                    else (0, 0, 0)
                )
                return (year, int(value[5:7]), int(value[8:10]), *clock)
        except ValueError:
            pass
    return 1, 1, 1, 0, 0, 0

"""Open Dental's dates: its unset date and time, and the year before which a date counts as unset."""

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

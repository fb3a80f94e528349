"""Open Dental's unset dates: 0001-01-01, and anything before 1880."""

from __future__ import annotations

from datetime import date, datetime

from service.vocab import FIRST_REAL_DATE, NO_DATE, NO_DATETIME, real_date


def test_a_date_before_1880_or_none_is_unset() -> None:
    assert real_date(None) is None
    assert real_date(NO_DATE) is None
    assert real_date(NO_DATETIME) is None
    assert real_date(date(1879, 12, 31)) is None


def test_a_date_from_1880_on_is_a_date_and_a_date_time_gives_its_date() -> None:
    assert real_date(FIRST_REAL_DATE) == date(1880, 1, 1)
    assert real_date(datetime(1961, 6, 2, 14, 30)) == date(1961, 6, 2)

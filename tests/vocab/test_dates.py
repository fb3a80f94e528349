"""Open Dental's unset dates (0001-01-01, and anything before 1880), and the date-times drivers hand back."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from service.vocab import FIRST_REAL_DATE, NO_DATE, NO_DATETIME, datetime_parts, real_date


def test_a_date_before_1880_or_none_is_unset() -> None:
    assert real_date(None) is None
    assert real_date(NO_DATE) is None
    assert real_date(NO_DATETIME) is None
    assert real_date(date(1879, 12, 31)) is None


def test_a_date_from_1880_on_is_a_date_and_a_date_time_gives_its_date() -> None:
    assert real_date(FIRST_REAL_DATE) == date(1880, 1, 1)
    assert real_date(datetime(1961, 6, 2, 14, 30)) == date(1961, 6, 2)


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("2026-11-29 09:30:05.000000", (2026, 11, 29, 9, 30, 5)),
        ("2026-11-29 09:30:05", (2026, 11, 29, 9, 30, 5)),
        ("2026-11-29", (2026, 11, 29, 0, 0, 0)),
        (datetime(2021, 11, 16, 2, 45, 38), (2021, 11, 16, 2, 45, 38)),
        (date(1999, 12, 31), (1999, 12, 31, 0, 0, 0)),
        ("0000-00-00 00:00:00", (1, 1, 1, 0, 0, 0)),
        ("garbage!!!", (1, 1, 1, 0, 0, 0)),
        (None, (1, 1, 1, 0, 0, 0)),
    ],
)
def test_datetime_parts_reads_every_drivers_form(value: object, parts: tuple[int, ...]) -> None:
    assert datetime_parts(value) == parts

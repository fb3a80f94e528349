"""A SigBox's DateTimeSig, whatever form its driver hands it over in, read as the drawing code prints it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from service.render.draw.coerce import signed_at


@pytest.mark.parametrize(
    ("value", "signed"),
    [
        (datetime(2024, 1, 2, 15, 4, 5), datetime(2024, 1, 2, 15, 4, 5)),
        ("2024-01-02 15:04:05", datetime(2024, 1, 2, 15, 4, 5)),
        # SQLite's text; the box prints to the second.
        ("2024-01-02 15:04:05.123456", datetime(2024, 1, 2, 15, 4, 5)),
        ("2024-01-02T15:04:05+00:00", datetime(2024, 1, 2, 15, 4, 5)),
        ("2024-01-02", datetime(2024, 1, 2)),
        (date(2024, 1, 2), datetime(2024, 1, 2)),
        ("1881-01-01 00:00:00", datetime(1881, 1, 1)),
    ],
)
def test_a_signed_box_reads_its_time(value: object, signed: datetime) -> None:
    assert signed_at(value) == signed


@pytest.mark.parametrize(
    "value",
    [
        None,
        "0000-00-00 00:00:00",  # MySQL's zero date
        "0001-01-01 00:00:00",
        datetime(1, 1, 1),
        "1880-12-31 23:59:59",  # Open Dental prints only after 1880
        datetime(1880, 6, 1, tzinfo=UTC),
        "2024-13-45 99:99:99",
        "garbage!!!",
        "",
        12345,
    ],
)
def test_an_unsigned_or_unreadable_box_has_no_time(value: object) -> None:
    assert signed_at(value) is None

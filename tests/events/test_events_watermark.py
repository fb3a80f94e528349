"""Where a reader of the sheet changes stands: ties within a second, and a stream's cursor."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.contract.errors import InvalidArgument
from service.events import Watermark

T0 = datetime(2026, 12, 7, 9, 0, 0)
T1 = datetime(2026, 12, 7, 9, 0, 1)


def test_the_sheets_sent_at_the_watermarks_second_are_kept_until_a_later_second() -> None:
    mark = Watermark(T0).after([(T0, 5), (T0, 9)])
    assert mark == Watermark(T0, frozenset({5, 9}))
    assert mark.seen(T0, 5)
    assert not mark.seen(T0, 7)  # a change of the same second, not sent yet
    assert not mark.seen(T1, 5)  # the same sheet changed again later
    later = mark.after([(T0, 7), (T1, 2)])
    assert later == Watermark(T1, frozenset({2}))
    assert Watermark.stored(later.start, later.sent_text()) == later


def test_a_cursor_says_the_last_change_given_and_comes_back_the_same() -> None:
    mark = Watermark.at(T1, 42)
    assert mark.cursor() == "20261207090001.42"
    back = Watermark.from_cursor(mark.cursor())
    assert back == mark
    assert back.seen(T1, 41)
    assert back.seen(T1, 42)
    assert not back.seen(T1, 43)


@pytest.mark.parametrize(
    "cursor", ["yesterday", "20261207090001", "20261307090001.1", "2026120709000.1", "x.1"]
)
def test_a_bad_cursor_is_refused_with_the_reason(cursor: str) -> None:
    with pytest.raises(InvalidArgument, match="Cursor is invalid"):
        Watermark.from_cursor(cursor)

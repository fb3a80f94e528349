"""Rows to messages: a list's sheets added in place are the sheets `convert.sheet` builds, and the
converted sheets kept for lists read again belong to their `ListedSheets`, as many as it was given."""

from __future__ import annotations

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.storage import convert


def _row(sheet_num: int, note: str = "") -> tuple[object, ...]:
    return (sheet_num, 0, 7, "2026-11-29 09:30:05.000000", note, "Medical History", 0, 6, 0, 2, "2026-11-30")


def test_sheets_added_in_place_equal_those_built_one_by_one() -> None:
    rows = [
        (1, 0, 7, "2026-11-29 09:30:05.000000", "note", "Medical History", 1, 6, 0, 2, "2026-11-30 10:00:00"),
        (2, 13, 7, "0000-00-00 00:00:00", "", "Letter", 0, 2, 4, 0, None),
        (3, 999, 8, "2026-01-02", "x", "", 0, 0, 0, 0, "garbage"),
    ]
    for size in (16, 0):
        response = pb.ListSheetsResponse()
        convert.ListedSheets(size).add(response.sheets, rows)
        assert list(response.sheets) == [convert.sheet(row) for row in rows]
        assert response.sheets[0].is_web_form
        assert response.sheets[0].date_time_sheet.seconds == 5


def test_a_row_changed_in_the_database_lists_as_it_now_is() -> None:
    listed_sheets = convert.ListedSheets(16)
    before = (5, 0, 7, "2026-11-29 09:30:05.000000", "", "Medical History", 0, 6, 0, 2, "2026-11-30 10:00:00")
    after = (*before[:4], "edited", *before[5:10], "2026-12-01 08:00:00")
    for row in (before, after, before):
        response = pb.ListSheetsResponse()
        listed_sheets.add(response.sheets, [row])
        assert response.sheets[0] == convert.sheet(row)
    listed = pb.ListSheetsResponse()
    listed_sheets.add(listed.sheets, [list(after)])  # a driver's row that is not a tuple
    assert listed.sheets[0].internal_note == "edited"
    assert listed.sheets[0].date_t_sheet_edited.day == 1


def test_a_sheet_with_a_long_note_is_listed_whole_but_not_kept() -> None:
    listed_sheets = convert.ListedSheets(16)
    long_note = "n" * 10_000
    response = pb.ListSheetsResponse()
    listed_sheets.add(response.sheets, [_row(6, long_note)])
    assert response.sheets[0].internal_note == long_note
    assert listed_sheets.kept() == 0
    listed_sheets.add(response.sheets, [_row(7, "short")])
    assert listed_sheets.kept() == 1  # the count does move: a short one is kept


def test_at_most_the_given_number_of_sheets_is_kept_and_none_when_it_is_zero() -> None:
    rows = [_row(n) for n in range(1, 6)]
    for size, kept in ((3, 3), (0, 0), (100, 5)):
        listed_sheets = convert.ListedSheets(size)
        listed_sheets.add(pb.ListSheetsResponse().sheets, rows)
        assert listed_sheets.kept() == kept


def test_kept_sheets_belong_to_their_owner_and_go_when_it_clears_them() -> None:
    mine, theirs = convert.ListedSheets(16), convert.ListedSheets(16)
    mine.add(pb.ListSheetsResponse().sheets, [_row(1), _row(2)])
    assert (mine.kept(), theirs.kept()) == (2, 0)
    mine.clear()
    assert mine.kept() == 0
    response = pb.ListSheetsResponse()
    mine.add(response.sheets, [_row(1)])
    assert response.sheets[0] == convert.sheet(_row(1))

"""Rows to messages: a list's sheets added in place are the sheets `convert.sheet` builds."""

from __future__ import annotations

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.storage import convert


def test_sheets_added_in_place_equal_those_built_one_by_one() -> None:
    rows = [
        (1, 0, 7, "2026-11-29 09:30:05.000000", "note", "Medical History", 1, 6, 0, 2, "2026-11-30 10:00:00"),
        (2, 13, 7, "0000-00-00 00:00:00", "", "Letter", 0, 2, 4, 0, None),
        (3, 999, 8, "2026-01-02", "x", "", 0, 0, 0, 0, "garbage"),
    ]
    response = pb.ListSheetsResponse()
    convert.add_sheets(response.sheets, rows)
    assert list(response.sheets) == [convert.sheet(row) for row in rows]
    assert response.sheets[0].is_web_form
    assert response.sheets[0].date_time_sheet.seconds == 5


def test_a_row_changed_in_the_database_lists_as_it_now_is() -> None:
    before = (5, 0, 7, "2026-11-29 09:30:05.000000", "", "Medical History", 0, 6, 0, 2, "2026-11-30 10:00:00")
    after = (*before[:4], "edited", *before[5:10], "2026-12-01 08:00:00")
    for row in (before, after, before):
        response = pb.ListSheetsResponse()
        convert.add_sheets(response.sheets, [row])
        assert response.sheets[0] == convert.sheet(row)
    listed = pb.ListSheetsResponse()
    convert.add_sheets(listed.sheets, [list(after)])  # a driver's row that is not a tuple
    assert listed.sheets[0].internal_note == "edited"
    assert listed.sheets[0].date_t_sheet_edited.day == 1


def test_a_sheet_with_a_long_note_is_listed_whole_but_not_kept() -> None:
    long_note = "n" * 10_000
    row = (
        6,
        0,
        7,
        "2026-11-29 09:30:05.000000",
        long_note,
        "Medical History",
        0,
        6,
        0,
        2,
        "2026-11-30 10:00:00",
    )
    kept = convert._converted_sheet.cache_info().currsize
    response = pb.ListSheetsResponse()
    convert.add_sheets(response.sheets, [row])
    assert response.sheets[0].internal_note == long_note
    assert convert._converted_sheet.cache_info().currsize == kept

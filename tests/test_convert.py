"""Rows to messages: a list's sheets added in place are the sheets `convert.sheet` builds."""

from __future__ import annotations

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service import convert


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

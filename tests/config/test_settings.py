"""Settings in tests come from what the test sets, never from the developer's environment."""

from __future__ import annotations

import os

from service.config import Settings


def test_no_sheets_variable_of_the_developer_reaches_a_test() -> None:
    leaked = [
        name for name in os.environ if name.startswith("SHEETS_") and not name.startswith("SHEETS_TEST_")
    ]

    assert leaked == []
    assert Settings().database_url == "sqlite+aiosqlite:///data/sheets.db"  # the default

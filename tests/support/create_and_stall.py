"""A process that creates a sheet and stops dead just before the sheet's fields
are written, for tests/system/test_crash.py to SIGKILL at that moment.

    python -m tests.support.create_and_stall DATABASE_URL SHEETDEFNUM PATNUM
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from service.config.settings import Settings
from service.filling.create import create_sheet
from service.storage import db, sessions
from sheets.practice import practice_from

MARKER = "about to insert the fields"


async def _main(url: str, sheet_def_num: int, pat_num: int) -> None:
    engine = db.create_engine(url)

    def _stall(*_args: Any) -> Any:
        print(MARKER, flush=True)
        # Blocks the whole process, mid-create, until it is killed.
        time.sleep(120)

    # A create writes its fields in one INSERT ... SELECT (its only `run`): on SQLite on the
    # driver's thread, elsewhere through SQLAlchemy's connection.
    sessions.SqliteSession.run = _stall  # type: ignore[method-assign, assignment]
    sessions.AlchemySession.run = _stall  # type: ignore[method-assign, assignment]

    await create_sheet(
        engine,
        sheet_def_num=sheet_def_num,
        pat_num=pat_num,
        internal_note="killed mid-create",
        practice=practice_from(Settings(database_url=url)),
    )
    print("created: the kill came too late", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

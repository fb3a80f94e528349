"""One rule for a database that cannot serve: the same failure answers the same status on every engine."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.api import SheetStore
from service.contract import Unavailable


async def test_a_read_on_a_database_without_the_tables_is_unavailable_on_every_engine(
    bare_engine: AsyncEngine,
) -> None:
    # Not set up yet (`sheets init-db`): not ready, as on SQLite, whether the read is a prepared one
    # that talks to the driver directly or one through SQLAlchemy.
    async with SheetStore(bare_engine) as store:
        with pytest.raises(Unavailable):
            await store.list_sheets(pat_num=1, offset=0, limit=10)
        with pytest.raises(Unavailable):
            await store.get_sheet(sheet_num=1)

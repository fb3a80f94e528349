"""Whether the tables a sheet is written to have transactions.

Open Dental's own databases are often MyISAM, where a failure between the sheet
row and its fields would leave a visible half sheet: there the sheet is written
hidden (`IsDeleted=1`), its fields next, then revealed. Everywhere else one
transaction holds the lot.
"""

from __future__ import annotations

import weakref

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage import backends

_KNOWN: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


async def sheets_are_transactional(engine: AsyncEngine, tables: tuple[str, ...]) -> bool:
    """True unless one of `tables` is on a MariaDB/MySQL engine without
    transactions; learned once per engine (tables do not change engine under a
    running service), on a connection of its own."""
    sync = engine.sync_engine
    known = _KNOWN.get(sync)
    if known is not None:
        return known
    transactional = await backends.of(engine.dialect).sheets_are_transactional(engine, tables)
    _KNOWN[sync] = transactional
    return transactional

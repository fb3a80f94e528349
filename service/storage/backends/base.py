"""What every backend answers (`service.storage.backends`): the defaults are what the
server databases share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

Rows = Sequence[Sequence[Any]]


class Backend:
    """One database and its async driver (a module-level instance per backend module)."""

    # SQLAlchemy's dialect name and the one driver the service runs it on.
    name = ""
    driver = ""
    # The embedded database: created on the service's first start, Open Dental's fill tables with it
    # (`db.init_db`; elsewhere they are Open Dental's own).
    embedded = False
    # A parameter in a SELECT list has no type of its own: it is cast to its column's.
    casts_selected_parameters = False
    # The driver runs each connection on a thread of its own, where a whole write transaction
    # can run in one hop (`driver_thread_call`).
    runs_on_driver_thread = False

    def runs(self, dialect: sa.Dialect) -> bool:
        """Whether the dialect's driver is the one the service runs this backend on."""
        return dialect.driver == self.driver

    def create_engine(self, url: sa.URL, **kwargs: Any) -> AsyncEngine:
        """An engine with this backend's connection setup and pool options."""
        raise NotImplementedError

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        """What the driver itself raises (prepared reads talk to the driver directly)."""
        raise NotImplementedError

    async def fetch(self, driver: Any, sql: str, params: Sequence[Any]) -> Rows:
        """A prepared read's rows on the driver's own connection, in one round trip."""
        raise NotImplementedError

    def write_options(self, *, snapshot: bool) -> dict[str, Any]:
        """Execution options of a transaction that writes; with `snapshot`, one whose every read
        sees the database as of its first."""
        return {}

    async def sheets_are_transactional(self, engine: AsyncEngine, tables: tuple[str, ...]) -> bool:
        """Whether all of `tables` have transactions (asked once per engine)."""
        return True

    def driver_thread_call(self, driver: Any) -> Callable[..., Awaitable[Any]] | None:
        """Where the driver runs its connection on a thread of its own: how to run a function
        there (a whole transaction in one hop); None elsewhere."""
        return None

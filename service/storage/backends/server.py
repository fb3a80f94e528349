"""What the server databases (MariaDB/MySQL, PostgreSQL) share: a pool whose connections
cost no round trip on checkout or return while in use."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# A pooled connection idle longer than this is pinged before it is handed out; one in
# steady use is not (see `create_server_engine`).
IDLE_PING_SECONDS = 10.0
POOL_RECYCLE_SECONDS = 1800


def create_server_engine(url: sa.URL, **kwargs: Any) -> AsyncEngine:
    """An engine on MariaDB/MySQL or PostgreSQL whose connections cost no round
    trip on checkout or return while in use.

    - No ping on every checkout (SQLAlchemy's `pool_pre_ping`: one round trip
      on MariaDB, three on PostgreSQL, for each call): only a connection idle
      longer than `IDLE_PING_SECONDS` is pinged (and replaced when dead), so
      that a database restarted while the service was idle costs no failed
      call. A connection that dies in use fails its statement with the
      driver's error, which says so (`service.storage.errors.is_outage`: UNAVAILABLE)
      and makes the pool replace every connection of its generation; prepared
      reads then run once more on a new one (`service.storage.reads`).
    - No ROLLBACK on every return (`pool_reset_on_return`): SQLAlchemy's
      connections end their own transactions, and a prepared read runs outside
      any; a connection returned inside a transaction all the same (the
      driver knows, without a round trip) is rolled back.
    """
    kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, pool_pre_ping=False, pool_recycle=POOL_RECYCLE_SECONDS, **kwargs)
    sync = engine.sync_engine
    dialect = engine.dialect

    @sa.event.listens_for(sync, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(sync, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        record.info.pop("idle_since", None)
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and hands out a new one (whose
            # connect raises when the database is down).
            raise sa.exc.DisconnectionError("an idle pooled connection was dead") from exc

    @sa.event.listens_for(sync, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        driver = getattr(record, "driver_connection", None) if record is not None else None
        if state.asyncio_safe and driver is not None and in_transaction(driver):
            dialect.do_rollback(dbapi_connection)

    return engine


def in_transaction(driver: Any) -> bool:
    """Whether a driver connection (asyncmy, asyncpg) is inside a transaction, as it knows locally."""
    status = getattr(driver, "get_transaction_status", None)  # asyncmy: the server's last status flags
    if status is None:
        status = getattr(driver, "is_in_transaction", None)  # asyncpg
    return bool(status()) if callable(status) else True

"""What `sheets config` says about sheet events: the subscriptions table and how delivery runs."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from service.events.delivery import STOPPED
from service.storage import SUBSCRIPTION


def delivery_line(settings: Settings) -> str:
    if not settings.events:
        return "# Sheet events: not delivered by this replica (SHEETS_EVENTS=false)"
    hosts = ", ".join(settings.events_allowed_hosts) or "any"
    http = "allowed" if settings.events_allow_http else "loopback only"
    return (
        "# Sheet events: delivered every PollingSeconds, "
        f"{settings.events_batch_size} sheets a call at most, "
        f"{settings.events_call_timeout:g} s a call, retries up to {settings.events_backoff_cap:g} s apart, "
        f"lease {settings.events_lease_seconds:g} s, {settings.events_concurrency} at once; "
        f"hosts: {hosts}; plain http: {http}"
    )


async def table_line(engine: AsyncEngine) -> str:
    """The subscriptions table: absent, or how many subscriptions, stopped and leased."""
    async with engine.connect() as conn:
        names = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        if SUBSCRIPTION.name not in names:
            return f"# Sheet events table {SUBSCRIPTION.name}: absent (`sheets init-db` creates it)"
        c = SUBSCRIPTION.c
        now_ms = int(time.time() * 1000)
        query = sa.select(
            sa.func.count(),
            sa.func.count(sa.case((c.NextPollMs >= STOPPED, 1))),
            sa.func.count(sa.case((c.LastError != "", 1))),
            sa.func.count(sa.distinct(sa.case((c.LeaseUntilMs >= now_ms, c.LeaseOwner)))),
        ).select_from(SUBSCRIPTION)
        total, stopped, failing, replicas = (await conn.execute(query)).one()
    return (
        f"# Sheet events table {SUBSCRIPTION.name}: {total} subscription(s), {stopped} past DateTimeStop, "
        f"{failing} whose last call failed, leased by {replicas} replica(s)"
    )

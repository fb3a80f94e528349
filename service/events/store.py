"""Every statement of the events subsystem: subscriptions (owned by a customer
key), their delivery state and lease, and the sheets changed since a watermark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.contract import NotFound
from service.events.watermark import Watermark
from service.storage import (
    SUBSCRIPTION,
    CapacityWatch,
    convert,
    database_call,
    datetime_parts,
    models,
    write_transaction,
)

_S = SUBSCRIPTION.c
_SHEET = models.SHEET.c
# A sheet's change: created (DateTimeSheet) or edited since (DateTSheetEdited), whichever is later.
changed_at = sa.case(
    (_SHEET.DateTSheetEdited > _SHEET.DateTimeSheet, _SHEET.DateTSheetEdited), else_=_SHEET.DateTimeSheet
)
_SHEET_COLUMNS = [models.SHEET.c[name] for name in convert.SHEET_COLUMNS]


def as_datetime(value: Any) -> datetime:
    """A stored date-time (a datetime, or a driver's text) as a datetime."""
    return datetime(*datetime_parts(value))


@dataclass(frozen=True, slots=True)
class Change:
    """A changed sheet: its row (convert.SHEET_COLUMNS) and when it changed."""

    row: Sequence[Any]
    changed: datetime

    @property
    def sheet_num(self) -> int:
        return int(self.row[0])


class EventStore:
    """Subscriptions and changed sheets on one engine."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        database_errors: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError,),
        capacity: CapacityWatch | None = None,
    ) -> None:
        self.engine = engine
        self.database_errors = database_errors
        self.capacity = capacity

    # Subscriptions, as their owner sees them.

    @database_call
    async def create(self, *, values: dict[str, Any], per_key_limit: int) -> tuple[int, int] | None:
        """Insert a subscription; its SubscriptionNum, or None when its key already has `per_key_limit`
        (counted in the same transaction). Returns (SubscriptionNum, count before)."""
        async with write_transaction(self.engine) as conn:
            owned = (
                await conn.execute(sa.select(sa.func.count()).where(_S.CustomerKey == values["CustomerKey"]))
            ).scalar_one()
            if owned >= per_key_limit:
                return None
            result = await conn.execute(SUBSCRIPTION.insert().values(**values))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0]), int(owned)

    @database_call
    async def owned(self, *, owner: str) -> Sequence[Any]:
        async with self.engine.connect() as conn:
            query = sa.select(SUBSCRIPTION).where(_S.CustomerKey == owner).order_by(_S.SubscriptionNum)
            return (await conn.execute(query)).all()

    @database_call
    async def get(self, *, owner: str, subscription_num: int) -> Any:
        async with self.engine.connect() as conn:
            return await self._owned(conn, owner, subscription_num)

    async def _owned(self, conn: Any, owner: str, subscription_num: int) -> Any:
        # Another key's subscription is "not found", as one that does not exist: nothing tells them apart.
        query = sa.select(SUBSCRIPTION).where(_S.SubscriptionNum == subscription_num, _S.CustomerKey == owner)
        row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound("Subscription not found.")
        return row

    @database_call
    async def update(self, *, owner: str, subscription_num: int, values: dict[str, Any]) -> Any:
        async with write_transaction(self.engine) as conn:
            await self._owned(conn, owner, subscription_num)
            if values:
                await conn.execute(
                    SUBSCRIPTION.update().where(_S.SubscriptionNum == subscription_num).values(**values)
                )
            return await self._owned(conn, owner, subscription_num)

    @database_call
    async def delete(self, *, owner: str, subscription_num: int) -> None:
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                SUBSCRIPTION.delete().where(_S.SubscriptionNum == subscription_num, _S.CustomerKey == owner)
            )
            if result.rowcount != 1:
                raise NotFound("Subscription not found.")

    # Delivery: the lease, the watermark, the outcome of a call.

    async def due(self, *, owner: str, now_ms: int, limit: int) -> list[int]:
        """Subscriptions whose next look is due and whose lease is free, expired or `owner`'s."""
        query = (
            sa.select(_S.SubscriptionNum)
            .where(_S.NextPollMs <= now_ms, sa.or_(_S.LeaseOwner == owner, _S.LeaseUntilMs < now_ms))
            .order_by(_S.NextPollMs)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [int(row[0]) for row in await conn.execute(query)]

    async def claim(self, *, subscription_num: int, owner: str, now_ms: int, until_ms: int) -> Any | None:
        """Take or renew the lease in one conditional UPDATE (only one replica's can match); the row, or
        None."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                SUBSCRIPTION.update()
                .where(
                    _S.SubscriptionNum == subscription_num,
                    _S.NextPollMs <= now_ms,
                    sa.or_(_S.LeaseOwner == owner, _S.LeaseUntilMs < now_ms),
                )
                .values(LeaseOwner=owner, LeaseUntilMs=until_ms)
            )
            if result.rowcount != 1:
                return None
            query = sa.select(SUBSCRIPTION).where(_S.SubscriptionNum == subscription_num)
            return (await conn.execute(query)).first()

    async def record(self, *, subscription_num: int, owner: str, values: dict[str, Any]) -> bool:
        """Write delivery state only while `owner` holds the lease (a replica that lost it writes nothing)."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                SUBSCRIPTION.update()
                .where(_S.SubscriptionNum == subscription_num, _S.LeaseOwner == owner)
                .values(**values)
            )
            return bool(result.rowcount == 1)

    async def release(self, *, owner: str) -> None:
        """Give up every lease `owner` holds (a replica stopping: another may take over at once)."""
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                SUBSCRIPTION.update().where(_S.LeaseOwner == owner).values(LeaseOwner="", LeaseUntilMs=0)
            )

    async def counts(self, *, owner: str) -> tuple[int, int]:
        """(subscriptions in the table, leases `owner` holds), for the metrics."""
        leases = sa.func.count(sa.case((_S.LeaseOwner == owner, 1)))
        query = sa.select(sa.func.count(), leases)
        async with self.engine.connect() as conn:
            total, held = (await conn.execute(query.select_from(SUBSCRIPTION))).one()
        return int(total), int(held)

    # Changed sheets.

    async def changes(
        self, *, since: Watermark, limit: int, until: datetime | None = None, pat_num: int | None = None
    ) -> list[Change]:
        """Up to `limit` sheets changed at or after the watermark (and at or before `until`) and not yet
        sent, in change order (then SheetNum).

        Those already sent at the watermark's second are read again and skipped here: a second rarely
        holds many, and a list of them in the statement would outgrow a driver's parameter limit where
        it does (10,000 changes in one second)."""
        # The same condition twice: the CASE orders and bounds, the OR of the two columns is what a
        # planner can answer from an index on either where the database has one.
        query = sa.select(*_SHEET_COLUMNS, changed_at).where(
            changed_at >= since.start,
            sa.or_(_SHEET.DateTimeSheet >= since.start, _SHEET.DateTSheetEdited >= since.start),
        )
        if since.through:
            query = query.where(sa.or_(changed_at != since.start, _SHEET.SheetNum > since.through))
        if until is not None:
            query = query.where(changed_at <= until)
        if pat_num is not None:
            query = query.where(_SHEET.PatNum == pat_num)
        query = query.order_by(changed_at, _SHEET.SheetNum).limit(limit + len(since.sent))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        changes = []
        for row in rows:
            change = Change(row[:-1], as_datetime(row[-1]))
            if since.seen(change.changed, change.sheet_num):
                continue
            changes.append(change)
            if len(changes) == limit:
                break
        return changes

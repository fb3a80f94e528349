"""The one table the service adds to a database: `sheets_subscription`.

Open Dental keeps its own subscriptions in `apisubscription`, which its own
API service polls and delivers; ours live apart so that neither ever picks up
the other's. One row per subscription holds what the caller asked for (Open
Dental's columns), where delivery stands (the watermark and the changes
already sent at its second), how the last call went, and the lease that lets
one replica at a time deliver it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.storage.models import BIG, DATETIME, NO_DATETIME


def _col(sa_type: Any, default: Any) -> Any:
    return Field(default=default, sa_type=sa_type, nullable=False)


class SheetsSubscription(SQLModel, table=True):
    """A subscription to the `sheet` table's changes, and its delivery state."""

    __tablename__ = "sheets_subscription"

    SubscriptionNum: int | None = Field(
        default=None, primary_key=True, sa_type=BIG, sa_column_kwargs={"autoincrement": True}
    )
    CustomerKey: str = _col(sa.String(255), "")
    EndPointUrl: str = _col(sa.String(2000), "")
    Workstation: str = _col(sa.String(255), "")
    WatchTable: str = _col(sa.String(255), "")
    PollingSeconds: int = _col(sa.Integer, 0)
    UiEventType: str = _col(sa.String(255), "")
    # The watermark: changes at or after it are still to be sent (Open Dental moves DateTimeStart too).
    DateTimeStart: datetime = _col(DATETIME, NO_DATETIME)
    DateTimeStop: datetime = _col(DATETIME, NO_DATETIME)
    Note: str = _col(sa.Text, "")
    Secret: str = _col(sa.String(64), "")
    # SheetNums already sent whose change is at the watermark's second (space separated).
    SentAtStart: str = _col(sa.Text, "")
    DateTimeLastDelivery: datetime = _col(DATETIME, NO_DATETIME)
    LastError: str = _col(sa.Text, "")
    LagSeconds: float = _col(sa.Float, 0.0)
    Attempts: int = _col(sa.Integer, 0)
    # Epoch milliseconds: the replicas' clocks (kept by NTP), not the database's, whose
    # "now" differs by dialect and session time zone.
    NextPollMs: int = _col(BIG, 0)
    LeaseOwner: str = _col(sa.String(64), "")
    LeaseUntilMs: int = _col(BIG, 0)


SUBSCRIPTION: sa.Table = SheetsSubscription.__table__  # type: ignore[attr-defined]

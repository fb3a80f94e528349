"""Delivery: every PollingSeconds, the sheets changed since a subscription's
watermark are POSTed to its endpoint, in change order, at most a batch per
call, as Open Dental's API service sends database events.

Each replica runs one `Delivery`. It looks for subscriptions that are due
every `tick` seconds and delivers one only while it holds its lease, a row
update only one replica's can win; the lease is renewed with every batch and
outlasts a call, so a replica that dies (or stalls) is replaced once it runs
out, and the batch it had in flight is sent again, never skipped: the
watermark moves only when the receiver answers 2xx, and only while the lease
is still this replica's. Calls run in the background with a time limit, so a
slow receiver holds no API request (and no database connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from google.protobuf.message import Message

from service.config import Settings
from service.events.signature import EVENT_ID_HEADER, SIGNATURE_HEADER, event_id, sign
from service.events.store import Change, EventStore, as_datetime
from service.events.watermark import Watermark
from service.storage import NO_DATETIME, convert, now_seconds
from telemetry.metrics import Metrics

log = logging.getLogger(__name__)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# NextPollMs of a subscription past its DateTimeStop with nothing left to send: never due (a PUT resets it).
STOPPED = 1 << 62
# How often the subscription and lease gauges are refreshed, in ticks.
_GAUGE_TICKS = 10


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """Every limit of delivery (the SHEETS_EVENTS_* settings)."""

    batch_size: int = 1000
    call_timeout: float = 10.0
    backoff_cap: float = 300.0
    lease_seconds: float = 30.0
    tick_seconds: float = 0.5
    concurrency: int = 8
    settle_seconds: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryLimits:
        return cls(
            batch_size=settings.events_batch_size,
            call_timeout=settings.events_call_timeout,
            backoff_cap=settings.events_backoff_cap,
            lease_seconds=settings.events_lease_seconds,
            tick_seconds=settings.events_tick_seconds,
            concurrency=settings.events_concurrency,
            settle_seconds=settings.events_settle_seconds,
        )


def _ms() -> int:
    return int(time.time() * 1000)


class Delivery:
    """The delivery loop of one replica, running between `start()` and `stop()`."""

    def __init__(
        self,
        store: EventStore,
        *,
        encode: Callable[[Message], Any],
        limits: DeliveryLimits,
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self._store = store
        self._encode = encode
        self._limits = limits
        self._metrics = metrics
        # Unique per process: a restarted replica does not inherit the leases of the one it replaces.
        self.owner = owner or f"{socket.gethostname()[:40]}-{uuid.uuid4().hex[:16]}"
        self._workstation = socket.gethostname()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._loop: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._limits.call_timeout),
            connector=aiohttp.TCPConnector(limit=self._limits.concurrency),
        )
        self._loop = asyncio.create_task(self._run(), name="sheet events")

    async def stop(self) -> None:
        """Stop looking, cancel the calls in flight (their batches are sent again later) and give the
        leases up, so that another replica takes over at once."""
        tasks = [*self._running.values(), *([self._loop] if self._loop else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        try:
            await self._store.release(owner=self.owner)
        except Exception:
            log.warning("the event leases could not be released; they run out by themselves", exc_info=True)

    async def _run(self) -> None:
        ticks = 0
        while True:
            try:
                if ticks % _GAUGE_TICKS == 0 and self._metrics is not None:
                    total, held = await self._store.counts(owner=self.owner)
                    self._metrics.event_subscriptions.set(total)
                    self._metrics.event_leases.set(held)
                due = await self._store.due(
                    owner=self.owner, now_ms=_ms(), limit=self._limits.concurrency * 4
                )
            except Exception as exc:  # the database is away: look again next tick
                log.warning("sheet events: looking for due subscriptions failed: %s", type(exc).__name__)
                due = []
            for subscription_num in due:
                if subscription_num not in self._running:
                    task = asyncio.create_task(self._guarded(subscription_num))
                    self._running[subscription_num] = task
            ticks += 1
            await asyncio.sleep(self._limits.tick_seconds)

    async def _guarded(self, subscription_num: int) -> None:
        try:
            async with self._slots:
                await self.deliver(subscription_num)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "sheet events: delivery stopped by an error",
                extra={"SubscriptionNum": subscription_num, "error": type(exc).__name__},
            )
        finally:
            self._running.pop(subscription_num, None)

    async def deliver(self, subscription_num: int) -> None:
        """Claim the subscription and send what changed since its watermark, batch after batch, until
        nothing is left, a call fails, or the lease is lost."""
        limits = self._limits
        lease_ms = int(limits.lease_seconds * 1000)
        now_ms = _ms()
        row = await self._store.claim(
            subscription_num=subscription_num, owner=self.owner, now_ms=now_ms, until_ms=now_ms + lease_ms
        )
        if row is None:
            return
        sub = row._mapping
        polling_ms = int(sub["PollingSeconds"]) * 1000
        stop = as_datetime(sub["DateTimeStop"])
        since = Watermark.stored(as_datetime(sub["DateTimeStart"]), sub["SentAtStart"])
        attempts = int(sub["Attempts"])
        while True:
            settled = now_seconds() - timedelta(seconds=limits.settle_seconds)
            until = settled if stop == NO_DATETIME else min(settled, stop)
            changes = await self._store.changes(since=since, limit=limits.batch_size, until=until)
            if not changes:
                finished = stop != NO_DATETIME and settled >= stop
                await self._store.record(
                    subscription_num=subscription_num,
                    owner=self.owner,
                    values={"LagSeconds": 0.0, "NextPollMs": STOPPED if finished else _ms() + polling_ms},
                )
                return
            outcome, error, seconds = await self._post(sub, changes)
            oldest_lag = max(0.0, (datetime.now() - changes[0].changed).total_seconds())
            self._logged(subscription_num, outcome, error, changes, seconds, oldest_lag)
            if outcome != "ok":
                attempts += 1
                backoff = min(limits.backoff_cap, sub["PollingSeconds"] * 2 ** min(attempts - 1, 30))
                await self._store.record(
                    subscription_num=subscription_num,
                    owner=self.owner,
                    values={
                        "Attempts": attempts,
                        "LastError": error,
                        "LagSeconds": oldest_lag,
                        "NextPollMs": _ms() + int(backoff * 1000),
                    },
                )
                return
            since = since.after((change.changed, change.sheet_num) for change in changes)
            attempts = 0
            full = len(changes) == limits.batch_size
            now_ms = _ms()
            kept = await self._store.record(
                subscription_num=subscription_num,
                owner=self.owner,
                values={
                    "DateTimeStart": since.start,
                    "SentAtStart": since.sent_text(),
                    "DateTimeLastDelivery": now_seconds(),
                    "LastError": "",
                    "Attempts": 0,
                    "LagSeconds": oldest_lag,
                    "LeaseUntilMs": now_ms + lease_ms,
                    "NextPollMs": now_ms if full else now_ms + polling_ms,
                },
            )
            if self._metrics is not None:
                self._metrics.event_sheets.inc(len(changes))
                self._metrics.event_lag.observe(oldest_lag)
            if not kept or not full:
                # Lost the lease (another replica delivers now), or everything was sent.
                return

    async def _post(self, sub: Any, changes: list[Change]) -> tuple[str, str, float]:
        """One call: (outcome, error for LastError, seconds)."""
        assert self._session is not None
        body = _dumps([self._encode(convert.sheet(change.row)) for change in changes]).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Workstation": self._workstation,
            "Event-Type": f"WatchTable: {sub['WatchTable']}",
            EVENT_ID_HEADER: event_id(int(sub["SubscriptionNum"]), body),
            SIGNATURE_HEADER: sign(sub["Secret"], body),
        }
        if sub["CustomerKey"]:
            headers["Authorization"] = sub["CustomerKey"]
        started = time.perf_counter()
        try:
            # No redirects: an endpoint is checked when it is set, not wherever it points later.
            async with self._session.post(
                sub["EndPointUrl"], data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
            outcome, error = ("ok", "") if 200 <= status < 300 else ("http_error", f"HTTP {status}")
        except TimeoutError:
            outcome, error = "timeout", f"No answer within {self._limits.call_timeout:g} seconds."
        except aiohttp.ClientError as exc:
            outcome, error = "connection_error", f"{type(exc).__name__}: {exc}"[:500]
        return outcome, error, time.perf_counter() - started

    def _logged(
        self,
        subscription_num: int,
        outcome: str,
        error: str,
        changes: list[Change],
        seconds: float,
        lag: float,
    ) -> None:
        if self._metrics is not None:
            self._metrics.event_deliveries.labels(outcome).inc()
        # One line per call: never the endpoint (its query may hold a token), the secret or the key.
        log.log(
            logging.INFO if outcome == "ok" else logging.WARNING,
            "sheet event delivery",
            extra={
                "SubscriptionNum": subscription_num,
                "outcome": outcome,
                "error": error,
                "sheets": len(changes),
                "first_change": f"{changes[0].changed:%Y-%m-%d %H:%M:%S}",
                "last_change": f"{changes[-1].changed:%Y-%m-%d %H:%M:%S}",
                "duration_ms": round(seconds * 1000, 1),
                "lag_seconds": round(lag, 3),
            },
        )


@contextlib.asynccontextmanager
async def delivering(delivery: Delivery) -> Any:
    """Run `delivery` for the block."""
    await delivery.start()
    try:
        yield delivery
    finally:
        await delivery.stop()

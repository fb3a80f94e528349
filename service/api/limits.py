"""Bounded work: renders and exports run a few at a time behind a short queue,
and an optional token bucket per customer key (Open Dental throttles per
customer key too).

Beyond a bound the caller is told at once (RESOURCE_EXHAUSTED / 429) with a
Retry-After, instead of waiting in a queue that only grows.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from service.contract import ResourceExhausted


class WorkLimiter:
    """At most `concurrency` jobs run; up to `queue` more wait; the rest are refused."""

    def __init__(self, *, concurrency: int, queue: int, retry_after: int = 1) -> None:
        self._semaphore = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + queue
        self._admitted = 0
        self._retry_after = retry_after
        self.concurrency = concurrency

    @property
    def admitted(self) -> int:
        """Jobs running or waiting."""
        return self._admitted

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._admitted >= self._capacity:
            raise ResourceExhausted(
                "Too many renders and exports are in progress. Try again shortly.",
                retry_after=self._retry_after,
            )
        self._admitted += 1
        try:
            # A caller cancelled while queued (deadline, disconnect) leaves the queue here.
            async with self._semaphore:
                yield
        finally:
            self._admitted -= 1


class RateLimiter:
    """A token bucket per customer key: `rate` requests per second, `burst` at once.

    Buckets are keyed by the customer key alone (never logged); idle full
    buckets are dropped so the table stays as small as the set of active keys.
    """

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_sweep = clock()

    def admit(self, customer_key: str) -> None:
        """Take one token from the key's bucket, or raise ResourceExhausted saying when one will be there."""
        now = self._clock()
        tokens, stamp = self._buckets.get(customer_key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        if tokens < 1.0:
            self._buckets[customer_key] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self._rate)
            raise ResourceExhausted("Too many requests for this API key. Try again later.", retry_after=wait)
        self._buckets[customer_key] = (tokens - 1.0, now)
        self._sweep(now)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < 60:
            return
        self._last_sweep = now
        full_after = self._burst / self._rate
        self._buckets = {
            key: (tokens, stamp) for key, (tokens, stamp) in self._buckets.items() if now - stamp < full_after
        }

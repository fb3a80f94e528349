"""Identical reads in flight at once share one query.

Front-desk screens and integrations poll the same patient's sheets, often many
at once; each identical read used to cost the database (and the service's
share of the round trip) a query of its own. Here a read whose query, with the
same parameters, is already running waits for it to finish and then runs one
more query, which every identical read arriving meanwhile shares.

A read never joins a query sent before it arrived: whatever committed before a
read arrives shows in its answer, exactly as with a query of its own. At most
one query per parameters runs at a time, and one waits behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

Rows = Sequence[Sequence[Any]]


class Coalescer:
    """The queries of one read statement, running or waiting, by their parameters."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[None]] = {}
        self._waiting: dict[Hashable, asyncio.Future[Rows]] = {}
        # Reads answered by a query another read started (tests and the bench read it).
        self.joined = 0

    async def read(
        self,
        key: Hashable,
        busy: Callable[[], bool],
        acquire: Callable[[], Awaitable[None]],
        send: Callable[[], Awaitable[Rows]],
    ) -> Rows:
        """`send()`'s rows, from a query of this read's own or one it shares.

        `acquire` waits for a connection that `send` then uses and gives back;
        `busy()` says whether `acquire` would wait. Shared rows are read only.
        """
        waiting = self._waiting.get(key)
        if waiting is not None:
            self.joined += 1
            return await asyncio.shield(waiting)
        running = self._running.get(key)
        if running is None and not busy():
            await acquire()
            return await self._send(key, send)
        waiting = self._waiting[key] = asyncio.ensure_future(self._next(key, running, acquire, send))
        return await asyncio.shield(waiting)

    async def _next(
        self,
        key: Hashable,
        running: asyncio.Future[None] | None,
        acquire: Callable[[], Awaitable[None]],
        send: Callable[[], Awaitable[Rows]],
    ) -> Rows:
        try:
            if running is not None:
                await running
            await acquire()
        finally:
            # Sent from here on: a read arriving now waits for the query after this one.
            del self._waiting[key]
        return await self._send(key, send)

    async def _send(self, key: Hashable, send: Callable[[], Awaitable[Rows]]) -> Rows:
        done = self._running[key] = asyncio.get_running_loop().create_future()
        try:
            return await send()
        finally:
            del self._running[key]
            done.set_result(None)

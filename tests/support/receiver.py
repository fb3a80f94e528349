"""A real event receiver on 127.0.0.1:0: records every call, answers with the status it is told."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes
    status: int
    received: float

    @property
    def sheets(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = json.loads(self.body)
        return items


@dataclass
class Receiver:
    url: str = ""
    port: int = 0
    runner: web.AppRunner | None = None
    site: web.TCPSite | None = None
    status: int = 200
    delay: float = 0.0
    calls: list[Call] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[Call]:
        return [call for call in self.calls if 200 <= call.status < 300]

    def sheets(self) -> list[dict[str, Any]]:
        """Every sheet of every acknowledged call, in the order received."""
        return [sheet for call in self.acknowledged for sheet in call.sheets]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status = self.status
        self.calls.append(Call(dict(request.headers), body, status, time.monotonic()))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=status)

    async def down(self) -> None:
        """Stop listening: calls are refused until `up()`."""
        assert self.site is not None
        await self.site.stop()

    async def up(self) -> None:
        """Listen again, on the same port."""
        assert self.runner is not None
        self.site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await self.site.start()

    async def wait_for(self, done: Callable[[], bool], within: float = 15.0) -> None:
        deadline = time.monotonic() + within
        while not done():
            assert time.monotonic() < deadline, f"not received in {within} s: {self.calls}"
            await asyncio.sleep(0.05)


@asynccontextmanager
async def receiving(path: str = "/events") -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = runner.addresses[0][1]
    receiver.runner, receiver.site = runner, site
    receiver.url = f"http://127.0.0.1:{receiver.port}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()

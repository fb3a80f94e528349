"""Readiness: the database answers and the render pool is alive.

`GET /readyz` asks on demand; a background probe keeps gRPC health for
SheetService (and the server as a whole, "") at NOT_SERVING while the
database is unreachable, so a load balancer stops sending calls it would fail.

A full database is not unreadiness: it answers, reads are served, and every
replica shares it, so taking one out of a balancer helps nobody. `/readyz`
stays 200 and names the condition (`note`) while it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

import sqlalchemy as sa
from grpc_health.v1 import health, health_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from service.storage import CapacityWatch, database_error_fields
from telemetry.logs import get_logger

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _Renderer(Protocol):
    @property
    def alive(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Readiness:
    database: bool
    renderer: bool
    problem: str = ""
    # What holds while the service is ready (the database is full), or "".
    note: str = ""

    @property
    def ready(self) -> bool:
        return self.database and self.renderer


class ReadinessProbe:
    """Checks the database (a `SELECT 1` within `timeout`) and the renderer, and
    notes the capacity faults `capacity` holds.

    Used as an async context manager, it also runs the check every `interval`
    seconds and sets `health` for `services` on each change.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        renderer: _Renderer,
        health_servicer: health.aio.HealthServicer | None = None,
        services: tuple[str, ...] = ("",),
        interval: float = 2.0,
        timeout: float = 2.0,
        capacity: CapacityWatch | None = None,
    ) -> None:
        self._engine = engine
        self._capacity = capacity
        self._renderer = renderer
        self._health = health_servicer
        self._services = services
        self._interval = interval
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._serving: bool | None = None
        self._log = get_logger("sheets.readiness")

    async def _database_problem(self) -> str:
        try:
            async with asyncio.timeout(self._timeout), self._engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except TimeoutError:
            return f"the database did not answer within {self._timeout:g} s"
        except Exception as exc:
            fields = database_error_fields(exc)
            code = f" ({fields['db_code']})" if fields["db_code"] is not None else ""
            return f"the database is unreachable{code}: {fields['db_message']}"
        return ""

    async def check(self) -> Readiness:
        database_problem = await self._database_problem()
        renderer = self._renderer.alive
        problems = [database_problem] if database_problem else []
        if not renderer:
            problems.append("the render pool is not running")
        note = self._capacity.summary() if self._capacity is not None else ""
        return Readiness(
            database=not database_problem, renderer=renderer, problem="; ".join(problems), note=note
        )

    async def problem(self) -> str:
        """What keeps the service from being ready, or ""."""
        return (await self.check()).problem

    async def state(self) -> tuple[str, str]:
        """What keeps the service from being ready, or "", and what holds while it is ready,
        or "" (for `GET /readyz`)."""
        ready = await self.check()
        return ready.problem, ready.note

    async def _publish(self, ready: Readiness) -> None:
        serving = ready.database
        if serving == self._serving:
            return
        if self._serving is not None or not serving:
            if serving:
                self._log.info("database reachable again; serving")
            else:
                self._log.warning("database unreachable; not serving", problem=ready.problem)
        self._serving = serving
        if self._health is not None:
            for name in self._services:
                await self._health.set(name, _SERVING if serving else _NOT_SERVING)

    async def _run(self) -> None:
        while True:
            await self._publish(await self.check())
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="readiness-probe")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

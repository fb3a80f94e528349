"""A running service for tests: gRPC server, in-process gateway and a remote
gateway in front of the gRPC port, all on 127.0.0.1 with free ports."""

from __future__ import annotations

import io
import json as _json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import SeedResult, seed_demo
from service.config.settings import Settings
from service.render.pool import PdfRenderer
from service.rpc.server import GrpcServer
from service.storage import db
from sheets.remote import remote_gateway
from sheets.stack import running_service
from telemetry.metrics import Metrics

ALL_KEY = "ODFHIR devkey/custkey"
READ_KEY = "ODFHIR readdev/readcust"
API_KEYS = "devkey/custkey=all,readdev/readcust=read"


@dataclass
class Stack:
    """Addresses of a running service and its database."""

    engine: AsyncEngine
    settings: Settings
    grpc: GrpcServer
    grpc_target: str
    rest_urls: dict[str, str]
    demo_patients: list[int]
    demo_sheet_defs: list[int]
    metrics: Metrics


@asynccontextmanager
async def running_stack(
    database_url: str, data_dir: Path, renderer: PdfRenderer, **settings: Any
) -> AsyncIterator[Stack]:
    """Seed a database, then serve it over gRPC and both gateway modes."""
    options: dict[str, Any] = {"render_warmup": False, "api_keys": API_KEYS, **settings}
    config = Settings(
        database_url=database_url,
        data_dir=data_dir,
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        **options,
    )
    seeded: list[SeedResult] = []

    async def prepare(engine: AsyncEngine) -> None:
        await db.init_db(engine)
        seeded.append(await seed_demo(engine))

    async with (
        running_service(config, renderer=renderer, prepare=prepare) as service,
        remote_gateway(service.grpc_target, config) as remote,
    ):
        assert service.gateway is not None
        urls = {
            "in-process": f"http://127.0.0.1:{service.gateway.port}",
            "remote": f"http://127.0.0.1:{remote.port}",
        }
        demo = seeded[0]
        yield Stack(
            service.engine,
            config,
            service.grpc,
            service.grpc_target,
            urls,
            demo.patients,
            demo.sheet_defs,
            service.metrics,
        )


class Rest:
    """A REST client for one gateway, sending the all-permission key by default."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | io.BytesIO | None = None,
        auth: str | None = ALL_KEY,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {"Authorization": auth} if auth else {}
        async with self.session.request(
            method, self.base + path, json=json, data=data, headers=headers, params=params
        ) as response:
            raw = await response.read()
            body: Any = raw
            if response.content_type == "application/json":
                body = _json.loads(raw)
            return response.status, body, response

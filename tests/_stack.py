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
import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app, start_gateway
from gateway.invokers import InProcessInvoker, RemoteInvoker
from service import db
from service.api import SheetsApi
from service.auth import Authenticator
from service.demo import seed_demo
from service.render import PdfRenderer
from service.server import GrpcServer, start_grpc_server
from service.servicer import SheetServicer
from service.settings import Settings

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


@asynccontextmanager
async def running_stack(
    database_url: str, data_dir: Path, renderer: PdfRenderer, **settings: Any
) -> AsyncIterator[Stack]:
    """Seed a database, then serve it over gRPC and both gateway modes."""
    config = Settings(database_url=database_url, data_dir=data_dir, api_keys=API_KEYS, **settings)
    engine = db.create_engine(database_url)
    await db.init_db(engine)
    seeded = await seed_demo(engine)
    api = SheetsApi(
        engine=engine, settings=config, authenticator=Authenticator(config.api_keys), renderer=renderer
    )
    server = await start_grpc_server("127.0.0.1:0", SheetServicer(api))
    target = f"127.0.0.1:{server.port}"
    channel = grpc.aio.insecure_channel(target)
    runners = []
    try:
        urls = {}
        gateways = (
            ("in-process", InProcessInvoker(api), api.metrics),
            ("remote", RemoteInvoker(channel, authenticator=Authenticator(config.api_keys)), None),
        )
        for mode, invoker, metrics in gateways:
            app = create_app(invoker, max_body_bytes=config.max_body_bytes, service_metrics=metrics)
            runner, port = await start_gateway(app, "127.0.0.1:0")
            runners.append(runner)
            urls[mode] = f"http://127.0.0.1:{port}"
        yield Stack(engine, config, server, target, urls, seeded.patients, seeded.sheet_defs)
    finally:
        for runner in runners:
            await runner.cleanup()
        await channel.close()
        await server.stop(0)
        await api.close()
        await engine.dispose()


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

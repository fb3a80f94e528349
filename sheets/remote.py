"""The REST gateway as its own process in front of a remote gRPC target.

It imports the gateway, the contract, the settings and the culture's date
patterns only: no renderer, SFTP or ORM is loaded in a process that needs none
of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from gateway.app import Gateway, create_app, serving
from gateway.invokers import remote
from service.config import ClientTls, Settings
from service.contract import Authenticator
from sheets.date_culture import date_culture
from telemetry.metrics import Metrics


@asynccontextmanager
async def remote_gateway(
    target: str, settings: Settings, *, target_tls: ClientTls | None = None
) -> AsyncIterator[Gateway]:
    """The REST gateway alone, on `settings.http_listen`, in front of the gRPC `target`
    (over TLS verified by `target_tls`, when given).

    It checks keys of its own where `settings` has them (the target checks
    every call again either way).
    """
    keys = Authenticator(settings.api_keys) if settings.api_keys else None
    tls = settings.server_tls
    ssl_context = tls.ssl_context() if tls else None
    credentials = target_tls.grpc_credentials() if target_tls else None
    app = create_app(
        partial(
            remote, target, authenticator=keys, call_timeout=settings.request_timeout, credentials=credentials
        ),
        metrics=Metrics(),
        max_body_bytes=settings.max_body_bytes,
        request_timeout=settings.request_timeout,
        page_limit=settings.page_limit,
        culture=date_culture(settings.culture),
    )
    async with serving(
        app, settings.http_listen, grace=settings.grace_seconds, ssl_context=ssl_context
    ) as gateway:
        yield gateway

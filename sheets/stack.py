"""The composition root: one `async with` builds the running service (engine,
store and its readers, renderer, API, gRPC server, in-process gateway) and
tears it down in reverse.

The CLI, the tests and the bench all start the service through here; nothing
else wires it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import Gateway, create_app, serving
from gateway.encoder import to_od
from gateway.invokers import in_process
from service.api import SheetsApi, SheetStore
from service.config import Settings
from service.contract import Authenticator
from service.events import Delivery, DeliveryLimits, EventStore, SubscriptionsApi
from service.render import PdfRenderer, RenderConfig
from service.rpc import (
    SHEET_SERVICE,
    GrpcServer,
    ObservingInterceptor,
    ReadinessProbe,
    SheetEventServicer,
    SheetServicer,
    start_grpc_server,
)
from service.storage import db
from sheets.date_culture import date_culture
from sheets.practice import practice_from
from telemetry.metrics import Metrics


@dataclass
class RunningService:
    """A started service: what it serves on, and what it is built from."""

    settings: Settings
    engine: AsyncEngine
    renderer: PdfRenderer
    store: SheetStore
    api: SheetsApi
    grpc: GrpcServer
    gateway: Gateway | None
    metrics: Metrics
    readiness: ReadinessProbe
    delivery: Delivery | None = None

    @property
    def grpc_target(self) -> str:
        """Where a client on this machine reaches the gRPC server."""
        host = self.settings.grpc_listen.rpartition(":")[0]
        if host in ("", "0.0.0.0", "[::]"):  # noqa: S104 (a wildcard is answered on loopback too)
            host = "127.0.0.1"
        return f"{host}:{self.grpc.port}"

    async def stop(self, grace: float) -> None:
        """Both surfaces stop taking calls at once; calls in flight get `grace` seconds."""
        stopping = [self.grpc.stop(grace)] + ([self.gateway.stop()] if self.gateway else [])
        await asyncio.gather(*stopping)


@asynccontextmanager
async def running_service(
    settings: Settings,
    *,
    renderer: PdfRenderer | None = None,
    prepare: Callable[[AsyncEngine], Awaitable[object]] | None = None,
) -> AsyncIterator[RunningService]:
    """Serve `settings`' database on gRPC (and the in-process gateway unless
    `settings.gateway` is off) until the block ends.

    `prepare` runs on the engine before anything serves (creating tables, demo
    data). A `renderer` passed in stays open (its owner's to close); otherwise
    one is started with `settings.render_workers` workers.
    """
    async with AsyncExitStack() as stack:
        engine = db.create_engine(settings.database_url, **settings.engine_options())
        stack.push_async_callback(engine.dispose)
        if prepare is not None:
            await prepare(engine)
        if renderer is None:
            renderer = PdfRenderer(settings.render_workers, config=RenderConfig.from_settings(settings))
            stack.push_async_callback(asyncio.to_thread, renderer.close)
        # Certificates are read before anything serves: a bad file stops the start.
        tls = settings.server_tls
        credentials = tls.grpc_credentials() if tls else None
        ssl_context = tls.ssl_context() if tls and settings.gateway else None
        store = await stack.enter_async_context(SheetStore(engine, share_reads=settings.db_share_reads))
        # One registry for the process: API calls, both surfaces, renders, the pool.
        metrics = Metrics()
        metrics.watch_pool(engine)
        metrics.watch_render_counts(renderer.counts)
        metrics.watch_capacity(store.capacity)
        metrics.watch_shared_reads(store)
        events = EventStore(engine, database_errors=store.database_errors, capacity=store.capacity)
        api = SheetsApi(
            store=store,
            settings=settings,
            authenticator=Authenticator(settings.api_keys),
            renderer=renderer,
            practice=practice_from(settings),
            metrics=metrics,
            subscriptions=SubscriptionsApi(
                events,
                max_per_key=settings.events_max_subscriptions,
                allowed_hosts=settings.events_allowed_hosts,
                allow_http=settings.events_allow_http,
            ),
        )
        stack.callback(api.close)
        if settings.render_warmup:
            # In the background: the service answers meanwhile (a render waits for a free worker).
            warming = asyncio.create_task(api.warm_renderer())
            stack.callback(warming.cancel)
        grpc_server = await start_grpc_server(
            settings.grpc_listen,
            SheetServicer(api),
            interceptors=[ObservingInterceptor(metrics)],
            credentials=credentials,
            events=SheetEventServicer(
                events,
                authenticate=api.authenticate,
                tick_seconds=settings.events_tick_seconds,
                batch_size=settings.events_batch_size,
                settle_seconds=settings.events_settle_seconds,
            ),
        )
        stack.push_async_callback(grpc_server.stop, 0)
        # Keeps gRPC health NOT_SERVING while the database is unreachable.
        readiness = await stack.enter_async_context(
            ReadinessProbe(
                engine=engine,
                renderer=renderer,
                health_servicer=grpc_server.health,
                services=("", SHEET_SERVICE),
                interval=settings.readiness_interval,
                timeout=settings.readiness_timeout,
                capacity=store.capacity,
            )
        )
        gateway = None
        if settings.gateway:
            app = create_app(
                in_process(api, readiness.state),
                metrics=metrics,
                max_body_bytes=settings.max_body_bytes,
                request_timeout=settings.request_timeout,
                page_limit=settings.page_limit,
                culture=date_culture(settings.culture),
            )
            gateway = await stack.enter_async_context(
                serving(app, settings.http_listen, grace=settings.grace_seconds, ssl_context=ssl_context)
            )
        delivery = None
        if settings.events:
            # Sheet events go out in the background (the Sheet objects in the REST dialect), and stop
            # before the engine closes, giving their leases up.
            delivery = Delivery(
                events, encode=to_od, limits=DeliveryLimits.from_settings(settings), metrics=metrics
            )
            await delivery.start()
            stack.push_async_callback(delivery.stop)
        yield RunningService(
            settings, engine, renderer, store, api, grpc_server, gateway, metrics, readiness, delivery
        )

"""Prometheus metrics of one process (`GET /metrics`), in a registry of its own.

One `Metrics` per running service: the composition root makes it and hands it
to the API, the gRPC interceptor and the gateway, so a test process can run
many services side by side without their families colliding.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Calls answer in well under a millisecond to several seconds (a PDF export).
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
# A change waits about a polling interval (a second or more) for its event, far longer while a
# receiver is down.
_LAG_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300, 900, 3600)


class _PoolCollector(Collector):
    """The database pool's size and checked-out connections, read at scrape time."""

    def __init__(self, engine: Any) -> None:
        self._pool = engine.sync_engine.pool

    def collect(self) -> Iterable[Metric]:
        size = GaugeMetricFamily("sheets_db_pool_size", "Connections the database pool keeps open.")
        out = GaugeMetricFamily(
            "sheets_db_pool_checked_out", "Database connections in use by a call right now."
        )
        # Pools without a fixed size (NullPool, StaticPool) report nothing.
        if hasattr(self._pool, "size"):
            size.add_metric([], float(self._pool.size()))
        if hasattr(self._pool, "checkedout"):
            out.add_metric([], float(self._pool.checkedout()))
        return [size, out]


class RenderCounts(Protocol):
    """What renders could not print, summed over the workers (`service.render.pool.RenderCounts`)."""

    replaced_characters: int
    missing_images: int


class _RenderCountsCollector(Collector):
    def __init__(self, counts: RenderCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        replaced = CounterMetricFamily(
            "sheets_pdf_replaced_characters", "Characters no font has, printed as a replacement."
        )
        replaced.add_metric([], float(self._counts.replaced_characters))
        missing = CounterMetricFamily(
            "sheets_pdf_missing_images", "Image fields not drawn (missing, unreadable, refused)."
        )
        missing.add_metric([], float(self._counts.missing_images))
        return [replaced, missing]


class CapacityFaults(Protocol):
    """The database's capacity faults (`service.storage.errors.CapacityWatch`)."""

    @property
    def held(self) -> frozenset[str]: ...

    @property
    def refusals(self) -> Mapping[str, int]: ...


# Conditions always exported (0 while they do not hold), so an alert rule has a series.
CAPACITY_CONDITIONS = ("disk_full", "out_of_memory")


class _CapacityCollector(Collector):
    def __init__(self, faults: CapacityFaults) -> None:
        self._faults = faults

    def collect(self) -> Iterable[Metric]:
        held = self._faults.held
        refusals = dict(self._faults.refusals)
        fault = GaugeMetricFamily(
            "sheets_db_capacity_fault",
            "1 while the database refuses writes for lack of room (disk, tablespace, quota, memory).",
            labels=["condition"],
        )
        refused = CounterMetricFamily(
            "sheets_db_capacity_refusals",
            "Writes the database refused for lack of room, by condition.",
            labels=["condition"],
        )
        for condition in sorted({*CAPACITY_CONDITIONS, *held, *refusals}):
            fault.add_metric([condition], 1.0 if condition in held else 0.0)
            refused.add_metric([condition], float(refusals.get(condition, 0)))
        return [fault, refused]


class SharedReads(Protocol):
    """Reads that shared an identical read's query (`service.api.store.SheetStore`)."""

    @property
    def shared_reads(self) -> int: ...


class _SharedReadsCollector(Collector):
    def __init__(self, reads: SharedReads) -> None:
        self._reads = reads

    def collect(self) -> Iterable[Metric]:
        shared = CounterMetricFamily(
            "sheets_db_reads_shared",
            "Reads answered by the query of an identical read that was waiting to be sent.",
        )
        shared.add_metric([], float(self._reads.shared_reads))
        return [shared]


class Metrics:
    """Every metric family the service exports."""

    def __init__(self) -> None:
        # `*_created` series double every family for a timestamp no dashboard uses.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry = CollectorRegistry()
        self._series: dict[tuple[int, tuple[str, ...]], Any] = {}
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.api_calls = Counter(
            "sheets_api_calls",
            "Service API calls by method and gRPC code.",
            ["method", "code"],
            registry=registry,
        )
        self.api_seconds = Histogram(
            "sheets_api_call_duration_seconds",
            "Time of service API calls by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.grpc_requests = Counter(
            "sheets_grpc_requests",
            "gRPC requests by method and status code.",
            ["method", "code"],
            registry=registry,
        )
        self.grpc_seconds = Histogram(
            "sheets_grpc_request_duration_seconds",
            "Time of gRPC requests by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "sheets_http_requests",
            "REST requests by method, route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "sheets_http_request_duration_seconds",
            "Time of REST requests by method and route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "sheets_requests_in_flight", "Requests being handled, by surface.", ["surface"], registry=registry
        )
        self.exports = Counter(
            "sheets_exports",
            "SFTP exports by outcome (ok, or the gRPC code).",
            ["outcome"],
            registry=registry,
        )
        self.render_seconds = Histogram(
            "sheets_render_duration_seconds",
            "Time to render a sheet to PDF, waiting for a worker included.",
            buckets=_RENDER_BUCKETS,
            registry=registry,
        )
        self.render_queue = Gauge(
            "sheets_render_queue_depth", "Renders waiting for or running in a worker.", registry=registry
        )
        self.event_deliveries = Counter(
            "sheets_event_deliveries",
            "Event calls to subscribers' endpoints by outcome (ok, http_error, timeout, connection_error).",
            ["outcome"],
            registry=registry,
        )
        self.event_sheets = Counter(
            "sheets_event_sheets_delivered", "Sheet changes acknowledged by subscribers.", registry=registry
        )
        self.event_lag = Histogram(
            "sheets_event_delivery_lag_seconds",
            "From a sheet's change to the acknowledgement of the call carrying it (the batch's oldest).",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.event_subscriptions = Gauge(
            "sheets_event_subscriptions", "Subscriptions in the table (every key's).", registry=registry
        )
        self.event_leases = Gauge(
            "sheets_event_leases_held", "Subscriptions this replica holds the lease of.", registry=registry
        )
        for surface in ("grpc", "rest"):
            self.in_flight.labels(surface)

    def watch_pool(self, engine: Any) -> None:
        """Export the pool of `engine` (an AsyncEngine) as `sheets_db_pool_*`."""
        self.registry.register(_PoolCollector(engine))

    def watch_render_counts(self, counts: RenderCounts) -> None:
        """Export the renderer's counters as `sheets_pdf_*_total`."""
        self.registry.register(_RenderCountsCollector(counts))

    def watch_capacity(self, faults: CapacityFaults) -> None:
        """Export the database's capacity faults as `sheets_db_capacity_*`."""
        self.registry.register(_CapacityCollector(faults))

    def watch_shared_reads(self, reads: SharedReads) -> None:
        """Export the reads that shared a query as `sheets_db_reads_shared_total`."""
        self.registry.register(_SharedReadsCollector(reads))

    def series(self, family: Any, *labels: str) -> Any:
        """`family.labels(*labels)`, looked up once per label set: `labels()` takes a
        lock and builds its key on every call, and a request makes several."""
        key = (id(family), labels)
        child = self._series.get(key)
        if child is None:
            child = self._series[key] = family.labels(*labels)
        return child

    def observe(self, method: str, code: str, seconds: float) -> None:
        """One service API call and its outcome."""
        self.series(self.api_calls, method, code).inc()
        self.series(self.api_seconds, method).observe(seconds)
        if method == "ExportSheetSftp":
            self.exports.labels("ok" if code == "OK" else code.lower()).inc()

    @contextmanager
    def rendering(self) -> Iterator[None]:
        """Count a render in the queue while it runs, and time it."""
        self.render_queue.inc()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.render_queue.dec()
            self.render_seconds.observe(time.perf_counter() - started)

    def exposition(self) -> bytes:
        """Every family in Prometheus' text format."""
        return bytes(generate_latest(self.registry))

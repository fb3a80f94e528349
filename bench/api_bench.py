"""Throughput and latency ratios of the API surfaces against SPEC §9's targets, in one run.

    .venv/bin/python bench/api_bench.py [--seconds 4] [--rounds 2] [--profile] [--wait-quiet 60]

The server (`sheets.stack.running_service`, the composition root `sheets serve`
uses: gRPC and the in-process REST gateway, plus `sheets.remote.remote_gateway`
whose RemoteInvoker calls the gRPC port, all in one process) runs in a child
process on a fresh SQLite database in a temporary folder; this process only
generates load, so the server's event loop never shares its CPU time with the
client's. A second remote gateway runs as its own
process (`sheets gateway --target`; skip it with --no-gateway-process).
Everything listens on 127.0.0.1.

Seeded data: the demo patients and definitions, 20 sheets for the first demo
patient (the one ListSheets asks for), and Open Dental's MedicalHist.xml (249
fields) imported as a definition with sheets for the renders.

Measured (each phase: a warm-up, then a fixed window; rounds alternate the
phases so drift on the machine hits all of them alike):

* closed loop, N concurrent calls in flight on ONE gRPC channel / one aiohttp
  connection pool: grpc.health.v1.Health/Check, ListSheets (20 sheets),
  `GET /api/v1/sheets?PatNum=` on the in-process and the remote gateways;
* open loop at a fixed rate (latency measured from each request's scheduled
  start, so a stalled server cannot hide its stall): ListSheets idle, and
  ListSheets while RenderSheetPdf of the 249-field sheet loops in 4 callers.

Targets (SPEC §9): ListSheets >= 0.35x Health/Check; REST in-process >= 1.2x
gRPC; remote gateway >= 0.7x gRPC; ListSheets p99 while 4 PDFs render <= 2x idle.

Beside each rate: CPU used in the window by this process, the serving process
and its event loop (main thread), and by the rest of the machine (other work
there disturbs the numbers: a warning says so), event-loop and process CPU per
request, and the server's garbage collections and new database connections.
A loop near 100% means the server was the bottleneck; where it is not, the
per-request CPU columns are the fairer comparison.

`--profile` adds cProfiles of the server's ListSheets path: inside the server
process while this process drives gRPC ListSheets at it, the same under REST
in-process load, and `SheetsApi.call("ListSheets")` run in a loop in that
process with no transport; each prints own time by library and the top entries
by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import re
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import aiohttp
import grpc
import yarl
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
MEDICAL_HISTORY = ROOT.parent / "shared" / "opendental" / "sheetdefs" / "MedicalHist.xml"
API_KEYS = "devkey/custkey=all"
KEY = "ODFHIR devkey/custkey"
SHEETS_PER_PATIENT = 20
CALL_TIMEOUT = 10.0
BUSY_ELSEWHERE = 0.15  # of a core: more than this used by others makes a window suspect
RENDER_TIMEOUT = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Call = Callable[[], Awaitable[None]]


# ---------------------------------------------------------------------------
# Results


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of unsorted values (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class Result:
    """One measured phase, or the sum of its rounds."""

    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float | None = 0.0
    loop_cpu: list[float] = field(default_factory=list)  # main thread of each serving process
    workers_cpu: float = 0.0  # the server's children: render workers
    elsewhere_cpu: float | None = 0.0  # the rest of the machine: not ours
    first_error: str = ""
    note: str = ""
    # Deltas of the server's Probe over the window: GC seconds, longest GC pause,
    # new database connections, pool checkouts (None: not probed).
    probe: dict[str, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else math.nan

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def server_us_per_request(self) -> float:
        if self.server_cpu is None or not self.requests:
            return math.nan
        return self.server_cpu / self.requests * 1e6

    @property
    def loop_us_per_request(self) -> float:
        """Event-loop (main thread) CPU per request, summed over the serving processes."""
        if not self.loop_cpu or not self.requests:
            return math.nan
        return sum(self.loop_cpu) / self.requests * 1e6

    @property
    def busiest_loop(self) -> float:
        """The busiest serving event loop's share of a core."""
        return max(self.loop_cpu) / self.seconds if self.loop_cpu and self.seconds else math.nan

    def add(self, other: Result) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.client_cpu += other.client_cpu
        if self.server_cpu is None or other.server_cpu is None:
            self.server_cpu = None
        else:
            self.server_cpu += other.server_cpu
        self.workers_cpu += other.workers_cpu
        if not self.loop_cpu:
            self.loop_cpu = [0.0] * len(other.loop_cpu)
        self.loop_cpu = [a + b for a, b in zip(self.loop_cpu, other.loop_cpu, strict=True)]
        if self.elsewhere_cpu is None or other.elsewhere_cpu is None:
            self.elsewhere_cpu = None
        else:
            self.elsewhere_cpu += other.elsewhere_cpu
        self.first_error = self.first_error or other.first_error
        self.note = other.note or self.note
        if other.probe is not None:
            mine = self.probe or {}
            self.probe = {
                key: max(mine.get(key, 0.0), value) if key == "gc_longest" else mine.get(key, 0.0) + value
                for key, value in other.probe.items()
            }


def _process_stat(pid: int, thread: int | None = None) -> tuple[int, float] | None:
    """(parent pid, utime + stime) of a process (all its threads) or of one of
    its threads, from /proc."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        stat = Path(path).read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # fields[0] is stat's field 3 (state)
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _descendants(roots: Iterable[int]) -> set[int]:
    """Every process below `roots` (the render workers below the server)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _process_stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[0]
    found: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _machine_busy() -> float | None:
    """CPU seconds the whole machine spent busy (steal included), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass(frozen=True)
class _Snapshot:
    wall: float
    client: float
    servers: float | None
    loops: dict[int, float]  # main thread (the event loop) of each serving process
    workers: dict[int, float]
    machine: float | None


class Meter:
    """CPU seconds over a window: this process, the serving processes, their
    children (render workers) and the rest of the machine; plus the server's
    Probe counters when a server to ask is given."""

    def __init__(self, server_pids: Sequence[int], probe: Child | None = None) -> None:
        self._pids = server_pids
        self._probe = probe
        self._start: _Snapshot | None = None
        self._counters: dict[str, float] = {}

    def _snapshot(self) -> _Snapshot:
        servers: float | None = 0.0
        for pid in self._pids:
            stat = _process_stat(pid)
            servers = None if stat is None or servers is None else servers + stat[1]
        loops = {pid: stat[1] for pid in self._pids if (stat := _process_stat(pid, pid)) is not None}
        workers = {}
        for pid in _descendants(self._pids) - set(self._pids):
            if (stat := _process_stat(pid)) is not None:
                workers[pid] = stat[1]
        return _Snapshot(time.perf_counter(), time.process_time(), servers, loops, workers, _machine_busy())

    async def start(self) -> None:
        if self._probe is not None:
            self._counters = await self._probe.ask({"cmd": "probe"}, within=CALL_TIMEOUT)
        self._start = self._snapshot()

    async def stop(self, result: Result) -> None:
        end, start = self._snapshot(), self._start
        assert start is not None
        result.seconds = end.wall - start.wall
        result.client_cpu = end.client - start.client
        result.server_cpu = None
        if end.servers is not None and start.servers is not None:
            result.server_cpu = end.servers - start.servers
        result.loop_cpu = [end.loops[pid] - start.loops[pid] for pid in self._pids if pid in start.loops]
        result.workers_cpu = sum(cpu - start.workers.get(pid, 0.0) for pid, cpu in end.workers.items())
        if end.machine is not None and start.machine is not None and result.server_cpu is not None:
            ours = result.client_cpu + result.server_cpu + result.workers_cpu
            result.elsewhere_cpu = max(0.0, end.machine - start.machine - ours)
        if self._probe is not None:
            counters = await self._probe.ask({"cmd": "probe"}, within=CALL_TIMEOUT)
            result.probe = {key: value - self._counters[key] for key, value in counters.items()}
            result.probe["gc_longest"] = counters["gc_longest"]  # since the previous ask


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# Load generators


async def closed_loop(
    name: str,
    call: Call,
    *,
    concurrency: int,
    warmup: float,
    seconds: float,
    max_requests: int,
    meter: Meter,
) -> Result:
    """`concurrency` callers, each calling again as soon as its call returns.

    Counts the calls that complete inside the window (after `warmup`, for
    `seconds` or until `max_requests`); latency is each call's own duration.
    """
    result = Result(name)
    window_start = window_end = math.inf
    stopping = False
    full = asyncio.Event()

    async def caller() -> None:
        while not stopping:
            started = time.perf_counter()
            error = ""
            try:
                await call()
            except Exception as exc:
                error = _error_text(exc)
            done = time.perf_counter()
            if window_start <= done <= window_end:
                if error:
                    result.errors += 1
                    result.first_error = result.first_error or error
                else:
                    result.requests += 1
                    result.latencies.append(done - started)
                    if result.requests >= max_requests:
                        full.set()
            if error:
                await asyncio.sleep(0.01)  # a failing server is not spun on

    callers = [asyncio.create_task(caller()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup)
        await meter.start()
        window_start = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(full.wait(), seconds)
        window_end = time.perf_counter()
        await meter.stop(result)
        stopping = True
        await asyncio.wait(callers, timeout=CALL_TIMEOUT + 1)
    finally:
        for task in callers:
            task.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
    return result


async def open_loop(
    name: str,
    call: Call,
    *,
    rate: float,
    warmup: float,
    seconds: float,
    max_in_flight: int,
    meter: Meter,
) -> Result:
    """Calls started on a fixed schedule (`rate` per second), whatever the answers do.

    A call's latency runs from its scheduled start, so time the client or the
    server spent stalled counts against it. A call due while `max_in_flight`
    are outstanding is not made and counts as an error.
    """
    result = Result(name)
    interval = 1 / rate
    begin = time.perf_counter()
    measure_from = begin + warmup
    end = measure_from + seconds
    in_flight: set[asyncio.Task[None]] = set()

    async def one(scheduled: float) -> None:
        error = ""
        try:
            await call()
        except Exception as exc:
            error = _error_text(exc)
        done = time.perf_counter()
        if scheduled >= measure_from:
            if error:
                result.errors += 1
                result.first_error = result.first_error or error
            else:
                result.requests += 1
                result.latencies.append(done - scheduled)

    async def window() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        await meter.start()

    metering = asyncio.create_task(window())
    n = 0
    try:
        while (scheduled := begin + n * interval) < end:
            now = time.perf_counter()
            if scheduled > now:
                await asyncio.sleep(scheduled - now)
                continue
            n += 1
            if len(in_flight) >= max_in_flight:
                if scheduled >= measure_from:
                    result.errors += 1
                    result.first_error = result.first_error or f"more than {max_in_flight} calls in flight"
                continue
            task = asyncio.create_task(one(scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await metering
        await meter.stop(result)  # the schedule's window; the calls still out finish below
        if in_flight:
            await asyncio.wait(in_flight, timeout=CALL_TIMEOUT + 1)
    finally:
        metering.cancel()
        for task in list(in_flight):
            task.cancel()
        await asyncio.gather(metering, *in_flight, return_exceptions=True)
    return result


class RenderLoad:
    """`callers` loops of RenderSheetPdf on their own channel, until stopped."""

    def __init__(self, target: str, sheet_nums: Sequence[int]) -> None:
        self._target = target
        self._sheet_nums = sheet_nums
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.finished: list[tuple[float, float]] = []  # (end, duration) of each render
        self.errors: list[str] = []

    async def _loop(self, stub: SheetServiceStub, sheet_num: int) -> None:
        request = pb.RenderSheetPdfRequest(sheet_num=sheet_num)
        while not self._stopping:
            started = time.perf_counter()
            try:
                reply = await stub.RenderSheetPdf(
                    request, metadata=(("authorization", KEY),), timeout=RENDER_TIMEOUT
                )
            except grpc.aio.AioRpcError as exc:
                self.errors.append(_error_text(exc))
                await asyncio.sleep(0.1)
                continue
            done = time.perf_counter()
            if not reply.data.startswith(b"%PDF-"):
                self.errors.append("RenderSheetPdf answered something other than a PDF")
            self.finished.append((done, done - started))

    async def run_once(self) -> None:
        """Each caller renders once (workers start, static layers get cached)."""
        async with grpc.aio.insecure_channel(self._target) as channel:
            stub = SheetServiceStub(channel)
            await asyncio.gather(
                *(
                    stub.RenderSheetPdf(
                        pb.RenderSheetPdfRequest(sheet_num=n),
                        metadata=(("authorization", KEY),),
                        timeout=RENDER_TIMEOUT,
                    )
                    for n in self._sheet_nums
                )
            )

    def summary(self, start: float, end: float) -> str:
        inside = [duration for done, duration in self.finished if start <= done <= end]
        if not inside:
            return "no PDF finished in the window"
        mean = sum(inside) / len(inside)
        return f"{len(inside)} PDFs done ({len(inside) / (end - start):.1f}/s, {mean * 1000:.0f} ms each)"

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RenderLoad]:
        channel = grpc.aio.insecure_channel(self._target)
        stub = SheetServiceStub(channel)
        self._stopping = False
        self._tasks = [asyncio.create_task(self._loop(stub, n)) for n in self._sheet_nums]
        try:
            yield self
        finally:
            # Renders in progress finish: the next phase starts with idle workers.
            self._stopping = True
            await asyncio.wait(self._tasks, timeout=RENDER_TIMEOUT)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await channel.close()


# ---------------------------------------------------------------------------
# The server process


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Probe:
    """Counters of the server process: garbage collections (via gc.callbacks) and
    the engine's new DBAPI connections and pool checkouts."""

    def __init__(self, engine: AsyncEngine) -> None:
        import sqlalchemy as sa

        self.gc_collections = [0, 0, 0]
        self.gc_seconds = 0.0
        self.gc_longest = 0.0
        self.connects = 0
        self.checkouts = 0
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)
        sa.event.listen(engine.sync_engine, "connect", self._connect)
        sa.event.listen(engine.sync_engine, "checkout", self._checkout)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_started
        self.gc_collections[info["generation"]] += 1
        self.gc_seconds += took
        self.gc_longest = max(self.gc_longest, took)

    def _connect(self, *_: object) -> None:
        self.connects += 1

    def _checkout(self, *_: object) -> None:
        self.checkouts += 1

    def read(self) -> dict[str, float]:
        """The counters; the longest GC pause restarts from zero."""
        counters = {
            "gc_seconds": self.gc_seconds,
            "gc_longest": self.gc_longest,
            "gc0": self.gc_collections[0],
            "gc1": self.gc_collections[1],
            "gc2": self.gc_collections[2],
            "connects": self.connects,
            "checkouts": self.checkouts,
            "cpu": time.process_time(),
        }
        self.gc_longest = 0.0
        return counters

    @staticmethod
    def describe(before: dict[str, float], after: dict[str, float], window: float, calls: int) -> str:
        delta = {key: after[key] - before[key] for key in before}
        collections = int(delta["gc0"] + delta["gc1"] + delta["gc2"])
        per_call = f", {delta['cpu'] / calls * 1e6:.0f} us CPU/call" if calls else ""
        return (
            f"GC: {collections} collections (gen0/1/2 {delta['gc0']:.0f}/{delta['gc1']:.0f}/"
            f"{delta['gc2']:.0f}) took {delta['gc_seconds'] * 1000:.1f} ms = "
            f"{delta['gc_seconds'] / window:.1%} of {window:g}s, "
            f"longest {after['gc_longest'] * 1000:.1f} ms; "
            f"DB: {delta['connects']:.0f} new connections, {delta['checkouts']:.0f} pool checkouts; "
            f"server process CPU {delta['cpu'] / window:.0%}{per_call}"
        )


# First match wins, on "path:function" (lower case).
_CATEGORIES = (
    ("select.epoll", "(idle: waiting in epoll)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("greenlet", "greenlet switches"),
    ("aiosqlite", "aiosqlite (loop side)"),
    ("sqlite3", "sqlite3"),
    ("grpc", "grpc (Python layer, cygrpc calls)"),
    ("protobuf", "protobuf"),
    ("_upb", "protobuf"),
    ("aiohttp", "aiohttp"),
    ("/service/api.py", "service/api.py (queries, proto building)"),
    ("/service/servicer.py", "service/servicer.py"),
    ("/service/auth.py", "auth"),
    ("hmac", "auth"),
    ("/service/validation.py", "validation"),
    ("/service/metrics.py", "metrics"),
    ("/service/", "service (other)"),
    ("/gateway/", "gateway"),
    ("datetime", "datetime"),
    ("_contextvars.context", "loop callbacks run in C (cygrpc, futures)"),
    ("_socket.socket", "socket calls (loop self-pipe wake-ups, HTTP)"),
    ("asyncio", "asyncio"),
    ("threading", "threading / futures"),
    ("concurrent", "threading / futures"),
    ("queue", "threading / futures"),
    ("logging", "logging"),
    ("typing", "typing"),
)
_PREFIXES = (
    str(ROOT) + "/",
    "site-packages/",
    f"lib/python{sys.version_info.major}.{sys.version_info.minor}/",
)


def _short(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    for prefix in _PREFIXES:
        at = filename.find(prefix)
        if at >= 0:
            filename = filename[at + len(prefix) :]
            break
    return f"{filename}:{line}({function})"


def _category(filename: str, function: str) -> str:
    key = f"{filename}:{function}".lower()
    return next((label for needle, label in _CATEGORIES if needle in key), "other")


def profile_data(profiler: cProfile.Profile, top: int) -> dict[str, Any]:
    """Own time by library, the busiest "other" entries, and the top entries by
    cumulative and by own time: [calls, own s, cumulative s, name]."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    by_category: dict[str, float] = {}
    others: list[tuple[float, str]] = []
    for (filename, line, function), (_, _, own, _, _) in entries.items():
        label = _category(filename, function)
        by_category[label] = by_category.get(label, 0.0) + own
        if label == "other":
            others.append((own, _short(filename, line, function)))

    def ranked(column: Literal[2, 3], count: int) -> list[tuple[int, float, float, str]]:
        best = sorted(entries.items(), key=lambda item: -item[1][column])[:count]
        return [(calls, own, cum, _short(*key)) for key, (_, calls, own, cum, _) in best]

    return {
        "categories": sorted(by_category.items(), key=lambda item: -item[1]),
        "others": sorted(others, reverse=True)[:6],
        "cumulative": ranked(3, top),
        "own": ranked(2, 15),
    }


def format_profile(data: dict[str, Any], requests: float, top: int) -> str:
    """The profile's tables, with time per request where `requests` is known."""
    idle = "(idle: waiting in epoll)"
    busy = sum(seconds for label, seconds in data["categories"] if label != idle)
    lines = [
        f"  own time by library (busy {busy:.2f}s for ~{requests:.0f} requests; cProfile inflates Python):"
    ]
    for label, seconds in data["categories"]:
        share = "" if label == idle else f"{seconds / busy:.1%}"
        lines.append(f"    {share:>6} {seconds:7.3f}s {seconds / requests * 1e6:6.0f} us/req  {label}")
    lines.append("    other: " + "; ".join(f"{name} {own:.3f}s" for own, name in data["others"]))
    lines.append(
        "  (calls: a coroutine counts once per resumption; greenlet switches leave cProfile's stack\n"
        "   unbalanced, so cumulative times on SQLAlchemy's greenlet path overlap; own times add up)"
    )
    for title, rows in (
        (f"top {top} by cumulative time", data["cumulative"]),
        ("top 15 by own time", data["own"]),
    ):
        lines.append(f"  {title}:")
        lines.append(f"    {'calls':>7} {'own s':>7} {'cum s':>7}  function")
        lines += [f"    {calls:>7} {own:7.3f} {cum:7.3f}  {name}" for calls, own, cum, name in rows]
    return "\n".join(lines)


async def _serve(data_dir: Path, render_workers: int, freeze: bool) -> None:
    """The child process: the seeded stack, answering commands from stdin."""

    from service import db
    from service.demo import SeedResult, seed_demo
    from service.settings import Settings
    from service.sheetdef_xml import insert_sheetdef, parse_sheetdef
    from service.sheets import Practice, create_sheet
    from sheets.remote import remote_gateway
    from sheets.stack import running_service

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
        data_dir=data_dir,
        api_keys=API_KEYS,
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        render_workers=render_workers,
    )
    seeded: list[SeedResult] = []

    async def prepare(engine: AsyncEngine) -> None:
        await db.init_db(engine)
        seeded.append(await seed_demo(engine))

    async with (
        running_service(settings, prepare=prepare) as service,
        remote_gateway(service.grpc_target, settings) as remote,
    ):
        assert service.gateway is not None
        engine, api, renderer = service.engine, service.api, service.renderer
        practice = Practice.from_settings(settings)
        patient, other = seeded[0].patients[0], seeded[0].patients[1]
        definitions = seeded[0].sheet_defs
        for n in range(SHEETS_PER_PATIENT):
            await create_sheet(
                engine,
                sheet_def_num=definitions[n % len(definitions)],
                pat_num=patient,
                internal_note=f"bench sheet {n + 1}",
                practice=practice,
            )
        sheet_def, field_defs = parse_sheetdef(MEDICAL_HISTORY)
        async with db.write_transaction(engine) as conn:
            medical_def = await insert_sheetdef(conn, sheet_def, field_defs)
        medical = [
            await create_sheet(
                engine,
                sheet_def_num=medical_def,
                pat_num=other,
                internal_note="",
                practice=practice,
            )
            for _ in range(8)
        ]
        gc.collect()
        tracked = len(gc.get_objects())
        started = time.perf_counter()
        gc.collect()
        full_gc = time.perf_counter() - started
        if freeze:
            gc.freeze()
        _send(
            {
                "ready": True,
                "gc_tracked": tracked,
                "gc_full_ms": full_gc * 1000,
                "gc_frozen": gc.get_freeze_count(),
                "grpc": service.grpc_target,
                "rest": {
                    "in-process": f"http://127.0.0.1:{service.gateway.port}",
                    "remote": f"http://127.0.0.1:{remote.port}",
                },
                "patient": patient,
                "medical_sheets": medical,
                "medical_fields": len(field_defs),
                "render_workers": renderer.workers,
            }
        )
        request = pb.ListSheetsRequest(pat_num=patient)

        async def direct(seconds: float, concurrency: int) -> int:
            deadline = time.perf_counter() + seconds
            calls = 0

            async def caller() -> None:
                nonlocal calls
                while time.perf_counter() < deadline:
                    await api.call("ListSheets", request, KEY)
                    calls += 1

            await asyncio.gather(*(caller() for _ in range(concurrency)))
            return calls

        probe = Probe(engine)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            seconds, top = float(command.get("seconds", 2.0)), int(command.get("top", 25))
            if command["cmd"] == "stop":
                break
            if command["cmd"] == "probe":
                _send(probe.read())
            elif command["cmd"] == "profile-server":
                # The parent keeps load on us meanwhile.
                profiler = cProfile.Profile()
                profiler.enable()
                await asyncio.sleep(seconds)
                profiler.disable()
                _send({"profile": profile_data(profiler, top)})
            elif command["cmd"] == "profile-direct":
                concurrency = int(command.get("concurrency", 16))
                before = probe.read()
                plain = await direct(seconds, concurrency)
                counters = Probe.describe(before, probe.read(), seconds, plain)
                profiler = cProfile.Profile()
                profiler.enable()
                profiled = await direct(seconds, concurrency)
                profiler.disable()
                _send(
                    {
                        "calls_per_second": plain / seconds,
                        "profiled_calls_per_second": profiled / seconds,
                        "counters": counters,
                        "profiled_calls": profiled,
                        "profile": profile_data(profiler, top),
                    }
                )


# ---------------------------------------------------------------------------
# The parent: starting processes, driving the phases, printing


class Child:
    """A process of ours speaking JSON lines on stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, log_file: IO[bytes]) -> None:
        self.process = process
        self.log = log
        self._log_file = log_file

    @classmethod
    async def start(cls, args: Sequence[str], log: Path, *, cwd: Path) -> Child:
        log_file = log.open("wb")
        # The children take their settings from us alone, not from SHEETS_* in the environment.
        env = {name: value for name, value in os.environ.items() if not name.startswith("SHEETS_")}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            cwd=cwd,
            env=env,
            limit=1 << 22,
        )
        return cls(process, log, log_file)

    def log_tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def read_line(self, within: float) -> str:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not line:
            raise RuntimeError(f"{self.log.stem} exited ({self.process.returncode}):\n{self.log_tail()}")
        return line.decode()

    async def ask(self, command: dict[str, Any], within: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        answer: dict[str, Any] = json.loads(await self.read_line(within))
        return answer

    async def stop(self, command: dict[str, Any] | None = None, within: float = 30.0) -> None:
        if self.process.returncode is None:
            try:
                if command is not None and self.process.stdin is not None:
                    self.process.stdin.write((json.dumps(command) + "\n").encode())
                    await self.process.stdin.drain()
                    self.process.stdin.close()
                else:
                    self.process.terminate()
                await asyncio.wait_for(self.process.wait(), within)
            except (TimeoutError, ConnectionError):
                self.process.kill()
                await self.process.wait()
        self._log_file.close()


@dataclass
class Options:
    seconds: float
    warmup: float
    rounds: int
    concurrency: int
    max_requests: int
    latency_rate: float
    renders: int
    render_workers: int
    gateway_process: bool
    gc_freeze: bool
    wait_quiet: float
    profile: bool
    profile_seconds: float
    top: int


@dataclass
class Ratio:
    label: str
    value: float
    target: float
    at_least: bool

    @property
    def verdict(self) -> str:
        if math.isnan(self.value):
            return "n/a"
        met = self.value >= self.target if self.at_least else self.value <= self.target
        return "PASS" if met else "MISS"


def _merge(name: str, rounds: Iterable[Result]) -> Result:
    total = Result(name)
    for result in rounds:
        total.add(result)
    return total


def _fmt(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def print_results(results: Sequence[Result], ratios: Sequence[Ratio]) -> None:
    columns = (
        ("phase", 40),
        ("req/s", 7),
        ("p50 ms", 7),
        ("p99 ms", 7),
        ("client", 6),
        ("server", 6),
        ("loop", 5),
        ("elsewh", 6),
        ("loop us", 7),
        ("srv us", 6),
        ("GC ms", 5),
        ("GC max", 6),
        ("DB opens", 8),
        ("errors", 6),
    )
    header = " ".join(
        f"{name:<{width}}" if n == 0 else f"{name:>{width}}" for n, (name, width) in enumerate(columns)
    )
    print()
    print(header)
    print("-" * len(header))
    busy_elsewhere = False
    for r in results:
        probe = r.probe or {}
        share = {"client": r.client_cpu, "server": r.server_cpu, "elsewhere": r.elsewhere_cpu}
        use = {k: v / r.seconds if v is not None and r.seconds else math.nan for k, v in share.items()}
        busy_elsewhere |= use["elsewhere"] > BUSY_ELSEWHERE
        print(
            f"{r.name:<40} {_fmt(r.rps, '7.0f')} {_fmt(r.p(50), '7.2f')} {_fmt(r.p(99), '7.2f')} "
            f"{_fmt(use['client'], '6.0%')} {_fmt(use['server'], '6.0%')} {_fmt(r.busiest_loop, '5.0%')} "
            f"{_fmt(use['elsewhere'], '6.0%')} {_fmt(r.loop_us_per_request, '7.0f')} "
            f"{_fmt(r.server_us_per_request, '6.0f')} "
            f"{_fmt(probe.get('gc_seconds', math.nan) * 1000, '5.0f')} "
            f"{_fmt(probe.get('gc_longest', math.nan) * 1000, '6.1f')} "
            f"{_fmt(probe.get('connects', math.nan), '8.0f')} {r.errors:>6}"
        )
        if r.note:
            print(f"{'':<4}{r.note}")
        if r.first_error:
            print(f"{'':<4}first error: {r.first_error}")
    print(
        "  client / server / elsewh: CPU used in the window (100% = one core) by the load generator,\n"
        "    the serving process(es) (render workers apart) and the rest of the machine (not ours)\n"
        "  loop: the busiest serving event loop (main thread); near 100% = the server is the bottleneck\n"
        "  loop us / srv us: event-loop / whole-process CPU per request\n"
        "  GC ms / GC max: the server's garbage collections in the windows, total and longest pause\n"
        "  DB opens: new database connections the server's pool opened in the windows"
    )
    if busy_elsewhere:
        print(
            f"  WARNING: other work used more than {BUSY_ELSEWHERE:.0%} of a core during some windows "
            "(elsewh.): those numbers are disturbed; rerun on a quiet machine"
        )
    print()
    header = f"{'ratio (SPEC §9)':<52} {'measured':>8} {'target':>8}  result"
    print(header)
    print("-" * len(header))
    for ratio in ratios:
        target = f"{'>=' if ratio.at_least else '<='} {ratio.target:g}"
        print(f"{ratio.label:<52} {_fmt(ratio.value, '8.2f')} {target:>8}  {ratio.verdict}")


def _ratio(a: Result | None, b: Result | None) -> float:
    if a is None or b is None or not b.rps:
        return math.nan
    return a.rps / b.rps


async def wait_quiet(limit: float) -> None:
    """Wait (up to `limit` seconds) for a second in which the machine is nearly idle."""
    deadline = time.perf_counter() + limit
    busy = math.nan
    while time.perf_counter() < deadline:
        before = _machine_busy()
        await asyncio.sleep(1.0)
        after = _machine_busy()
        if before is None or after is None:
            return
        busy = after - before
        if busy < BUSY_ELSEWHERE:
            print(f"machine quiet ({busy:.0%} of a core busy)")
            return
    print(f"machine still busy after {limit:g}s ({busy:.0%} of a core): measuring anyway")


async def run(options: Options) -> int:
    print(
        f"api_bench: {os.cpu_count()} CPUs, Python {platform.python_version()}, grpcio {grpc.__version__}, "
        f"aiohttp {aiohttp.__version__}; {options.rounds} round(s) of {options.warmup:g}s warm-up + "
        f"{options.seconds:g}s per phase, {options.concurrency} calls in flight"
    )
    if options.wait_quiet > 0:
        await wait_quiet(options.wait_quiet)
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        server = await Child.start(
            [
                str(SCRIPT),
                "--serve",
                str(folder / "data"),
                str(options.render_workers),
                "freeze" if options.gc_freeze else "-",
            ],
            folder / "server.log",
            cwd=ROOT,
        )
        gateway: Child | None = None
        try:
            ready = json.loads(await server.read_line(within=120))
            print(
                f"server pid {server.process.pid} up in {time.perf_counter() - started:.1f}s: gRPC "
                f"{ready['grpc']}, REST {ready['rest']['in-process']} (in-process) and "
                f"{ready['rest']['remote']} (remote); {ready['render_workers']} render workers; "
                f"{ready['gc_tracked']} objects tracked by the GC, a full collection takes "
                f"{ready['gc_full_ms']:.0f} ms"
                + (f"; gc.freeze() moved {ready['gc_frozen']} out of its scans" if options.gc_freeze else "")
            )
            pids = [server.process.pid]
            gateway_url = None
            if options.gateway_process:
                command = ["-m", "sheets.cli", "--data-dir", str(folder / "gw"), "gateway"]
                gateway = await Child.start(
                    [*command, "--target", ready["grpc"], "--http", "127.0.0.1:0"],
                    folder / "gateway.log",
                    cwd=ROOT,
                )
                banner = await gateway.read_line(within=60)
                port = re.search(r"\(port (\d+)\)", banner)
                if port is None:
                    raise RuntimeError(f"unexpected gateway banner: {banner!r}")
                gateway_url = f"http://127.0.0.1:{port.group(1)}"
                print(f"gateway process pid {gateway.process.pid}: {gateway_url} -> gRPC {ready['grpc']}")
            ratios = await measure(options, ready, server, pids, gateway, gateway_url)
            if options.profile:
                await profile(options, ready, server)
        finally:
            if gateway is not None:
                await gateway.stop()
            await server.stop({"cmd": "stop"})
    print(f"\ntotal {time.perf_counter() - started:.0f}s")
    return 0 if all(r.verdict != "MISS" for r in ratios) else 1


async def measure(
    options: Options,
    ready: dict[str, Any],
    server: Child,
    pids: list[int],
    gateway: Child | None,
    gateway_url: str | None,
) -> list[Ratio]:
    patient = int(ready["patient"])
    list_request = pb.ListSheetsRequest(pat_num=patient)
    auth = (("authorization", KEY),)
    health_request = health_pb2.HealthCheckRequest(service="")
    headers = {"Authorization": KEY}
    rest_in = yarl.URL(f"{ready['rest']['in-process']}/api/v1/sheets?PatNum={patient}", encoded=True)
    rest_remote = yarl.URL(f"{ready['rest']['remote']}/api/v1/sheets?PatNum={patient}", encoded=True)
    meter = Meter(pids, server)
    connector = aiohttp.TCPConnector(limit=options.concurrency)
    timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT)
    async with (
        grpc.aio.insecure_channel(ready["grpc"]) as channel,
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
    ):
        sheets = SheetServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        async def check() -> None:
            await health.Check(health_request, timeout=CALL_TIMEOUT)

        async def list_sheets() -> None:
            await sheets.ListSheets(list_request, metadata=auth, timeout=CALL_TIMEOUT)

        def rest(url: yarl.URL) -> Call:
            async def get() -> None:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")

            return get

        # The data is what it should be, on every surface, before anything is timed.
        reply = await sheets.ListSheets(list_request, metadata=auth, timeout=CALL_TIMEOUT)
        if len(reply.sheets) != SHEETS_PER_PATIENT:
            raise RuntimeError(f"patient {patient} has {len(reply.sheets)} sheets, not {SHEETS_PER_PATIENT}")
        urls = [rest_in, rest_remote]
        if gateway_url is not None:
            urls.append(yarl.URL(f"{gateway_url}/api/v1/sheets?PatNum={patient}", encoded=True))
        for url in urls:
            async with session.get(url, headers=headers) as response:
                body = await response.json()
                if response.status != 200 or len(body) != SHEETS_PER_PATIENT:
                    raise RuntimeError(f"GET {url} answered {response.status}: {str(body)[:200]}")

        phases: list[tuple[str, Call, list[int]]] = [
            ("gRPC Health/Check", check, pids),
            (f"gRPC ListSheets ({SHEETS_PER_PATIENT} sheets)", list_sheets, pids),
            ("REST in-process GET /sheets", rest(rest_in), pids),
            ("REST remote gateway (in server process)", rest(rest_remote), pids),
        ]
        if gateway is not None:
            phases.append(("REST remote gateway (own process)", rest(urls[2]), [*pids, gateway.process.pid]))
        rounds: dict[str, list[Result]] = {name: [] for name, _, _ in phases}
        for n in range(options.rounds):
            print(f"round {n + 1}/{options.rounds}: throughput ...", flush=True)
            for name, call, phase_pids in phases:
                result = await closed_loop(
                    name,
                    call,
                    concurrency=options.concurrency,
                    warmup=options.warmup,
                    seconds=options.seconds,
                    max_requests=options.max_requests,
                    meter=Meter(phase_pids, server),
                )
                rounds[name].append(result)
        throughput = {name: _merge(name, results) for name, results in rounds.items()}
        health_result, grpc_result, rest_result, remote_result, *own = throughput.values()

        rate = options.latency_rate or max(20.0, round(grpc_result.rps * 0.25, -1))
        renders = RenderLoad(ready["grpc"], ready["medical_sheets"][: options.renders])
        print(
            f"latency: ListSheets at {rate:g}/s (open loop), idle and while {options.renders} callers "
            f"loop RenderSheetPdf ({ready['medical_fields']} fields) ...",
            flush=True,
        )
        await renders.run_once()
        idle_rounds: list[Result] = []
        busy_rounds: list[Result] = []
        notes = []

        async def latency(name: str) -> Result:
            return await open_loop(
                name,
                list_sheets,
                rate=rate,
                warmup=options.warmup,
                seconds=options.seconds,
                max_in_flight=256,
                meter=meter,
            )

        for _ in range(options.rounds):
            idle_rounds.append(await latency("ListSheets idle"))
            async with renders.running():
                start = time.perf_counter() + options.warmup
                busy_rounds.append(await latency("ListSheets + PDFs"))
                notes.append(renders.summary(start, start + options.seconds))
        idle = _merge(f"ListSheets idle @ {rate:g}/s", idle_rounds)
        loaded = _merge(f"ListSheets @ {rate:g}/s + {options.renders} PDF loops", busy_rounds)
        workers = loaded.workers_cpu / loaded.seconds
        loaded.note = f"{'; '.join(notes)}; render workers used {workers:.0%} CPU"
        if renders.errors:
            loaded.note += f"; render errors: {len(renders.errors)} (first: {renders.errors[0]})"

    ratios = [
        Ratio("1. gRPC ListSheets / Health.Check (req/s)", _ratio(grpc_result, health_result), 0.35, True),
        Ratio("2. REST in-process / gRPC ListSheets (req/s)", _ratio(rest_result, grpc_result), 1.2, True),
        Ratio("3. remote gateway / gRPC ListSheets (req/s)", _ratio(remote_result, grpc_result), 0.7, True),
    ]
    if own and len(own[0].loop_cpu) == 2:
        server_loop, gateway_loop = (cpu / own[0].seconds for cpu in own[0].loop_cpu)
        own[0].note = f"event loops: gRPC server {server_loop:.0%}, gateway process {gateway_loop:.0%}"
    if own:
        ratios.append(
            Ratio("3b. remote gateway, own process / gRPC ListSheets", _ratio(own[0], grpc_result), 0.7, True)
        )
    ratios.append(Ratio("4. ListSheets p99: with PDFs / idle", loaded.p(99) / idle.p(99), 2.0, False))
    print_results([*throughput.values(), idle, loaded], ratios)
    cpu_ratio = health_result.server_us_per_request / grpc_result.server_us_per_request
    print(f"  (server CPU per request: Health.Check / ListSheets = {_fmt(cpu_ratio, '.2f')})")
    return ratios


async def profile(options: Options, ready: dict[str, Any], server: Child) -> None:
    """cProfile of ListSheets inside the server: under gRPC load, under REST
    in-process load, then with no transport at all."""
    patient = int(ready["patient"])
    list_request = pb.ListSheetsRequest(pat_num=patient)
    url = yarl.URL(f"{ready['rest']['in-process']}/api/v1/sheets?PatNum={patient}", encoded=True)
    async with (
        grpc.aio.insecure_channel(ready["grpc"]) as channel,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=options.concurrency)) as session,
    ):
        sheets = SheetServiceStub(channel)

        async def grpc_call() -> None:
            await sheets.ListSheets(list_request, metadata=(("authorization", KEY),), timeout=CALL_TIMEOUT)

        async def rest_call() -> None:
            async with session.get(url, headers={"Authorization": KEY}) as response:
                await response.read()

        for surface, call in (("gRPC ListSheets", grpc_call), ("REST in-process GET /sheets", rest_call)):
            print(f"\nprofile: the server process under {surface} load ({options.concurrency} in flight) ...")
            load = asyncio.create_task(
                closed_loop(
                    "profiled",
                    call,
                    concurrency=options.concurrency,
                    warmup=0.5,
                    seconds=options.profile_seconds + 0.5,
                    max_requests=options.max_requests,
                    meter=Meter([server.process.pid]),
                )
            )
            await asyncio.sleep(0.5)
            answer = await server.ask(
                {"cmd": "profile-server", "seconds": options.profile_seconds, "top": options.top}, within=60
            )
            loaded = await load
            print(f"  {loaded.rps:.0f} req/s under the profiler, {loaded.errors} errors")
            print(format_profile(answer["profile"], loaded.rps * options.profile_seconds, options.top))
    print("\nprofile: SheetsApi.call('ListSheets') in the server process, no transport, 16 callers ...")
    answer = await server.ask(
        {"cmd": "profile-direct", "seconds": options.profile_seconds, "top": options.top, "concurrency": 16},
        within=60,
    )
    print(
        f"  {answer['calls_per_second']:.0f} calls/s unprofiled, "
        f"{answer['profiled_calls_per_second']:.0f} calls/s profiled"
    )
    print(f"  unprofiled: {answer['counters']}")
    print(format_profile(answer["profile"], answer["profiled_calls"], options.top))


def _options(argv: Sequence[str] | None) -> Options | tuple[Path, int, bool]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="measured window of each phase")
    parser.add_argument("--warmup", type=float, default=0.75, help="warm-up before each window")
    parser.add_argument("--rounds", type=int, default=2, help="times each phase runs (interleaved)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight (closed loop)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap of calls per window")
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=0.0,
        help="ListSheets/s of the latency phases; 0: 25%% of gRPC's",
    )
    parser.add_argument("--renders", type=int, default=4, help="concurrent RenderSheetPdf loops")
    parser.add_argument("--render-workers", type=int, default=0, help="server's PDF workers; 0: one per CPU")
    parser.add_argument(
        "--gateway-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure a remote gateway run as its own process (`sheets gateway --target`)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="what-if: gc.freeze() in the server once seeded (the startup heap leaves the GC's scans)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be idle (a shared machine)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the server's ListSheets path")
    parser.add_argument("--profile-seconds", type=float, default=2.0, help="length of each profile")
    parser.add_argument("--top", type=int, default=25, help="entries of the profile tables")
    parser.add_argument("--serve", nargs=3, metavar=("DATA_DIR", "WORKERS", "FREEZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return Path(args.serve[0]), int(args.serve[1]), args.serve[2] == "freeze"
    if min(args.seconds, args.concurrency, args.rounds, args.renders, args.max_requests) <= 0:
        parser.error("--seconds, --concurrency, --rounds, --renders and --max-requests must be positive")
    if args.renders > 8:
        parser.error("--renders is at most 8 (the sheets seeded for it)")
    return Options(
        seconds=args.seconds,
        warmup=args.warmup,
        rounds=args.rounds,
        concurrency=args.concurrency,
        max_requests=args.max_requests,
        latency_rate=args.latency_rate,
        renders=args.renders,
        render_workers=args.render_workers,
        gateway_process=args.gateway_process,
        gc_freeze=args.gc_freeze,
        wait_quiet=args.wait_quiet,
        profile=args.profile,
        profile_seconds=args.profile_seconds,
        top=args.top,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = _options(argv)
    if isinstance(options, tuple):
        asyncio.run(_serve(*options))
        return 0
    return asyncio.run(run(options))


if __name__ == "__main__":
    sys.exit(main())

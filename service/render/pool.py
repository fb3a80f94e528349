"""The render pool: worker processes that render sheets to PDF off the event loop.

This module is all the serving process loads of rendering: the drawing code
(`service.render.draw`, xhtml2pdf, reportlab) is imported by the workers alone,
which keeps it out of the serving process's memory. A worker
reads the sheet itself where the store says how (`SheetSource`: SQLite), or
gets the driver's rows (`SheetRows`), renders, and hands back the PDF: the
event loop only dispatches the job and answers. Workers start with the
service and lay out the definitions in use (`warm`), each registering the
fonts once as it starts. A worker watches the serving process and ends itself
as soon as that is gone, even killed (SIGKILL), so no worker outlives it
holding its stdout and stderr (`exit_with`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from service.render.config import RenderConfig, Rendered

if TYPE_CHECKING:
    from service.render.fonts import FontSet

log = logging.getLogger("service.render_pool")
_R = TypeVar("_R")


def _start_method() -> str:
    # Not fork: the parent runs gRPC's threads, and a forked child inherits
    # their locks in whatever state they were in.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _lower_priority() -> None:
    # Renders are batch work: when the CPU is contended, the process serving
    # RPCs goes first (ListSheets stays fast while PDFs render). SCHED_IDLE
    # runs a worker only on CPU time nothing else wants (Linux); a nice level
    # still leaves it a third of a contended core.
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except OSError:
            pass
    if hasattr(os, "nice"):
        os.nice(5)


# How often a worker checks on the serving process where it cannot wait on a pidfd.
WATCH_INTERVAL = 0.25
# A worker's exit status once the serving process is gone (nobody is left to read it).
ORPHANED_EXIT = 70


def wait_until_gone(pid: int, *, interval: float = WATCH_INTERVAL) -> None:
    """Returns once process `pid` has exited (a zombie has).

    Waits on a pidfd (Linux 5.3 or later); elsewhere, or where the call is refused
    (a seccomp filter), checks every `interval` seconds: the parent process id where
    `pid` is this process's parent (spawn), else whether `pid` still exists.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        pass
    else:
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            while not poller.poll():
                pass
        finally:
            os.close(pidfd)
        return
    if os.getppid() == pid:
        while os.getppid() == pid:
            time.sleep(interval)
        return
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:  # it exists, under another user
            pass
        time.sleep(interval)


def _exit_when_gone(pid: int) -> None:
    wait_until_gone(pid)
    # Whatever this worker was rendering has nobody left to take it.
    os._exit(ORPHANED_EXIT)


def exit_with(pid: int) -> threading.Thread:
    """Ends this process (`os._exit`) as soon as process `pid` is gone, from a daemon thread.

    A worker is a child of the forkserver, not of the serving process, so the kernel
    tells it nothing when that dies (PR_SET_PDEATHSIG); nor does a pipe, since every
    worker holds write ends of the ones it could read EOF on (the pool's call queue, the
    forkserver's liveness pipe). Without this, a killed service leaves its workers, its
    forkserver and multiprocessing's resource tracker behind, all holding its stdout and
    stderr; the forkserver and the resource tracker end by themselves once the workers
    have. `pid` is read when the pool is made, and a worker opens its pidfd moments after
    the service asked for it: Linux hands pids out in turn, so one freed in between
    is not yet another process's.
    """
    watcher = threading.Thread(target=_exit_when_gone, args=(pid,), name="exit-with-service", daemon=True)
    watcher.start()
    return watcher


def _start_worker(service_pid: int, config: RenderConfig, found: FontSet) -> None:
    global _sources
    _sources = WorkerSources()
    # Started before the worker lowers its priority, which is per thread on Linux: the
    # watcher keeps the normal one, so it runs as soon as the service is gone, busy CPU or not.
    exit_with(service_pid)
    _lower_priority()
    # The drawing code (xhtml2pdf, reportlab, the fonts) is loaded here, in the
    # worker: the serving process never imports it.
    from service.render.draw.worker import start_worker

    start_worker(config, found)


def render_in_worker(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes | Rendered:
    """`service.render.draw.render_sheet`, named from here so that the serving process need not import it."""
    from service.render.draw.worker import render_sheet

    return render_sheet(sheet, fields)


RenderFunction = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], "bytes | Rendered"]


@dataclass
class RenderCounts:
    """What the renders so far could not print (summed over the workers)."""

    replaced_characters: int = 0
    missing_images: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def prometheus(self) -> str:
        """The counters in Prometheus' text format (`GET /metrics`)."""
        return (
            "# HELP sheets_pdf_replaced_characters_total Characters no font has, printed as a replacement.\n"
            "# TYPE sheets_pdf_replaced_characters_total counter\n"
            f"sheets_pdf_replaced_characters_total {self.replaced_characters}\n"
            "# HELP sheets_pdf_missing_images_total Image fields not drawn (missing, unreadable, refused).\n"
            "# TYPE sheets_pdf_missing_images_total counter\n"
            f"sheets_pdf_missing_images_total {self.missing_images}\n"
        )


class SheetRows(Protocol):
    """A sheet and its fields as they travel to a worker (the store's SheetSnapshot)."""

    def rows(self) -> tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]: ...


class SheetReader(Protocol):
    """A `SheetSource` opened in a worker, kept open for the worker's later jobs (`WorkerSources`)."""

    def load(self, sheet_num: int) -> SheetRows | None: ...

    def recent_sheets(self, limit: int) -> list[int]: ...

    def close(self) -> None: ...


class SheetSource(Protocol):
    """What a worker reads a sheet from itself (the store's WorkerReader; picklable, and
    hashable: equal sources are one source to the worker that opened it)."""

    def open(self) -> SheetReader: ...


class WorkerSources:
    """A worker's opened sources, the most recently used last, at most `limit` open (a worker
    serves one service's database, a test process's several)."""

    def __init__(self, limit: int = 4) -> None:
        self._limit = limit
        self._open: dict[SheetSource, SheetReader] = {}

    def reader(self, source: SheetSource) -> SheetReader:
        reader = self._open.pop(source, None)
        if reader is None:
            reader = source.open()
            while len(self._open) >= self._limit:
                self._open.pop(next(iter(self._open))).close()
        self._open[source] = reader
        return reader


# This worker's sources: replaced whole by the pool's initializer (`_start_worker`).
_sources = WorkerSources()


# Definitions a worker lays out ahead of the first request for one.
WARM_DEFINITIONS = 16
_WARMED: set[int] = set()


def _render_rows(render_fn: RenderFunction, snapshot: SheetRows) -> bytes | Rendered:
    return render_fn(*snapshot.rows())


def _render_stored(render_fn: RenderFunction, source: SheetSource, sheet_num: int) -> bytes | Rendered | None:
    # In the worker: the sheet is read here, so the event loop never holds its rows.
    snapshot = _sources.reader(source).load(sheet_num)
    return None if snapshot is None else render_fn(*snapshot.rows())


def _warm(render_fn: RenderFunction, sheets: SheetSource | Sequence[SheetRows]) -> tuple[int, bool]:
    """Lays out the newest sheet of each definition in use (read from a source, or
    handed over), once per worker: (pid, laid out now)."""
    pid = os.getpid()
    if pid in _WARMED:
        return pid, False
    _WARMED.add(pid)
    if isinstance(sheets, Sequence):
        snapshots: list[SheetRows | None] = list(sheets)
    else:
        reader = _sources.reader(sheets)
        snapshots = [reader.load(sheet_num) for sheet_num in reader.recent_sheets(WARM_DEFINITIONS)]
    for snapshot in snapshots:
        if snapshot is not None:
            try:
                render_fn(*snapshot.rows())
            except Exception:  # a sheet that cannot render fails its own request, not the warm-up
                log.warning("warming up: a sheet did not render", exc_info=True)
    return pid, True


class PdfRenderer:
    """Renders sheets in a pool of worker processes, so the event loop keeps serving.

    `workers` 0 means one per CPU. `render_fn` is what runs in the workers
    (a module-level function, so it can be pickled); `service.render.draw.render_sheet`
    unless a test says otherwise. The fonts are found here, once (what is missing is
    logged), and registered in each worker as it starts. A worker that dies
    fails its render and the pool is replaced, so later renders work. Each
    worker ends itself once the process that made the pool is gone (`exit_with`).
    Workers read a sheet themselves where a `SheetSource` says how
    (`render_stored`); otherwise they get a compact snapshot of its rows
    (`render_snapshot`). The PDF comes back as the result's bytes, copied once
    across the pipe.
    """

    def __init__(
        self,
        workers: int = 0,
        *,
        render_fn: RenderFunction = render_in_worker,
        config: RenderConfig | None = None,
    ) -> None:
        self.workers = workers if workers > 0 else os.cpu_count() or 1
        self.start_method = _start_method()
        self.config = config or RenderConfig()
        from service.render import fonts  # font files only: reportlab's metrics, not the drawing code

        self.fonts = fonts.find_fonts(self.config.font_dirs, system=self.config.system_fonts)
        fonts.log_missing(self.fonts)
        self.counts = RenderCounts()
        self._render_fn = render_fn
        self._closed = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(self.start_method),
            initializer=_start_worker,
            initargs=(os.getpid(), self.config, self.fonts),
        )

    async def _submit(self, function: Callable[..., _R], *args: Any) -> _R:
        if self._closed:
            raise RuntimeError("the PdfRenderer is closed")
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if pool is self._pool and not self._closed:
                self._pool = self._new_pool()
                pool.shutdown(wait=False)
            raise

    def _counted(self, result: bytes | Rendered) -> bytes:
        if isinstance(result, Rendered):
            with self.counts.lock:
                self.counts.replaced_characters += result.replaced_characters
                self.counts.missing_images += result.missing_images
            return result.pdf
        return result

    async def render(self, sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
        """The sheet's PDF, rendered in a worker process."""
        rows = [dict(field) for field in fields]
        return self._counted(await self._submit(self._render_fn, dict(sheet), rows))

    async def render_snapshot(self, snapshot: SheetRows) -> bytes:
        """The PDF of a sheet whose rows the caller read; the worker builds the mappings."""
        return self._counted(await self._submit(_render_rows, self._render_fn, snapshot))

    async def render_stored(self, source: SheetSource, sheet_num: int) -> bytes | None:
        """The PDF of a sheet a worker reads from `source` itself; None when there is no such sheet."""
        result = await self._submit(_render_stored, self._render_fn, source, sheet_num)
        return None if result is None else self._counted(result)

    async def warm(self, source: SheetSource | Sequence[SheetRows], rounds: int = 3) -> int:
        """Start every worker and have each lay out the definitions in use (newest first),
        read by the workers from `source` or handed over; how many workers did. Jobs go
        to whichever worker is free, so a round that lands twice on one worker is
        followed by another."""
        warmed: set[int] = set()
        for _ in range(rounds):
            jobs = [self._submit(_warm, self._render_fn, source) for _ in range(self.workers)]
            for pid, _now in await asyncio.gather(*jobs):
                warmed.add(pid)
            if len(warmed) >= self.workers:
                break
        return len(warmed)

    @property
    def alive(self) -> bool:
        """Whether renders can be taken (not closed, the pool not broken)."""
        return not self._closed and not getattr(self._pool, "_broken", False)

    def close(self) -> None:
        """Stop the workers, cancelling renders not yet started; waits for running ones."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.close)

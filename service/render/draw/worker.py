"""A render process's state in one `Worker`, and the functions that render with this process's.

A render worker's `Worker` is built by the pool's initializer (`start_worker`), from the setup
the pool gives it; any other process (`sheets render`, the tests) has one with the defaults."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from service.render import fonts
from service.render.config import RenderConfig, Rendered
from service.render.draw import text
from service.render.draw.engine import Engine

__all__ = [
    "Worker",
    "forget_static_layers",
    "render_sheet",
    "render_sheet_pdf",
    "start_worker",
    "worker",
]


class Worker:
    """What one process keeps between renders, in one place: the setup the pool's initializer
    gave it, its engines (one per configuration: fonts registered, fetch policy) and the StaticText
    layouts they share (they may hold a patient's name: they live and die with this object, at
    most the configuration's `layout_cache_size` of them)."""

    def __init__(self, config: RenderConfig | None = None, found: fonts.FontSet | None = None) -> None:
        self.config = config or RenderConfig()
        self.found = found
        self.layouts = text.Layouts(self.config.layout_cache_size)
        self._engines: dict[tuple[RenderConfig, fonts.FontSet | None], Engine] = {}
        self._engines_lock = threading.Lock()
        # xhtml2pdf serialises its parser on a process-wide lock anyway.
        self._render_lock = threading.Lock()

    def engine(self, config: RenderConfig | None = None, found: fonts.FontSet | None = None) -> Engine:
        """The engine for `config` (this worker's own setup when None)."""
        key = (self.config, self.found) if config is None else (config, found)
        with self._engines_lock:
            if key not in self._engines:
                self._engines[key] = Engine(*key, layouts=self.layouts)
            return self._engines[key]

    def render(
        self,
        sheet: Mapping[str, Any],
        fields: Sequence[Mapping[str, Any]],
        config: RenderConfig | None = None,
    ) -> Rendered:
        engine = self.engine(config)
        with self._render_lock:
            return engine.render(sheet, fields)


# This process's worker: replaced whole by `start_worker` in a render worker.
_worker = Worker()


def worker() -> Worker:
    """This process's worker."""
    return _worker


def render_sheet(
    sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], config: RenderConfig | None = None
) -> Rendered:
    """The sheet (a `sheet` row) with its fields (`sheetfield` rows) as a PDF, and what it could not print.

    Pure and CPU-bound; rows are mappings of Open Dental's column names. See
    `service.render.draw.engine` for what is drawn and how.
    """
    return _worker.render(sheet, fields, config)


def forget_static_layers() -> None:
    """Drop every kept layout of this process (the benchmark measures first renders with this)."""
    _worker.layouts.clear()


def render_sheet_pdf(
    sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], config: RenderConfig | None = None
) -> bytes:
    """`render_sheet(...)`'s PDF bytes."""
    return render_sheet(sheet, fields, config).pdf


def start_worker(config: RenderConfig, found: fonts.FontSet) -> None:
    """A render worker's start: its `Worker` built from the pool's setup, the fonts registered once."""
    global _worker
    _worker = Worker(config, found)
    _worker.engine()

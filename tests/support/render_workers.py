"""Stand-ins for render_sheet_pdf that PdfRenderer's tests run in its worker processes."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

# A test changes this in its own process: a forked worker inherits the change
# (and the parent's locks with it), a spawned or forkserver one imports this module afresh.
PARENT_STATE = "imported afresh"


def worker_pid(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
    """The process it ran in, and the PARENT_STATE it sees."""
    return f"{os.getpid()} {PARENT_STATE}".encode()


def busy(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
    """Holds a CPU for sheet["seconds"], as a long render does."""
    deadline = time.process_time() + float(sheet.get("seconds", 0))
    while time.process_time() < deadline:
        pass
    return b"%PDF-busy"


def dies_when_asked(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
    """Kills its worker process when sheet["die"] is set."""
    if sheet.get("die"):
        os._exit(1)
    return b"%PDF-alive"


LONG_RENDER_SECONDS = 0.5


def long_render(sheet: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> bytes:
    """The real render, then CPU held until LONG_RENDER_SECONDS: a sheet that takes long to draw."""
    from service.render.draw.worker import render_sheet_pdf

    deadline = time.process_time() + LONG_RENDER_SECONDS
    pdf = render_sheet_pdf(sheet, fields)
    while time.process_time() < deadline:
        pass
    return pdf

"""P7: ListSheets' p99 while 4 exports of the 249-field sheet run, next to its idle p99.

ListSheets is driven open loop at a fixed rate (h2load `--rps`, well below
what the server can take), so latencies are those of a served call, not of a
queue the load generator built. The exports are 4 RenderSheetPdf calls kept
in flight by a second h2load (closed loop, one stream per connection) for the
whole window. A run measures idle, then loaded.
"""

from __future__ import annotations

import subprocess

from bench import runner
from bench.runner import Grpc, Load, LoadFailed, Result, serving
from opendental.sheets.v1 import sheet_service_pb2 as pb

RATE = 200  # ListSheets calls per second: 4 connections of 50
CLIENTS = 4
EXPORTS = 4


def _listing(grpc: Grpc, seconds: float) -> Load:
    return grpc.run(int(RATE * seconds), CLIENTS, rps=RATE / CLIENTS)


def measure(database: str = "sqlite", url: str = "") -> list[Result]:
    with serving(*runner.database_args(url)) as server:
        ready = server.ready
        listing = Grpc(
            server,
            runner.GRPC_PATH + "ListSheets",
            pb.ListSheetsRequest(pat_num=ready["patient_20"]),
        )
        export = Grpc(
            server,
            runner.GRPC_PATH + "RenderSheetPdf",
            pb.RenderSheetPdfRequest(sheet_num=ready["medical_sheets"][0]),
        )
        export.run(EXPORTS * 2, EXPORTS)  # warm: every worker has laid out the definition
        _listing(listing, runner.WARMUP_SECONDS)
        ratios, idle_p99, busy_p99, pdfs = [], [], [], []
        # At least 1,000 calls a window, so that a p99 is the 10th worst of them, not the worst.
        seconds = max(runner.SECONDS, 1000 / RATE)
        for n in range(max(runner.RUNS, 3)):
            if n % 2:  # what the machine does meanwhile falls on both sides alike
                busy, renders = _under_exports(listing, export, seconds)
                idle = _listing(listing, seconds)
            else:
                idle = _listing(listing, seconds)
                busy, renders = _under_exports(listing, export, seconds)
            idle_p99.append(idle.percentile(99))
            busy_p99.append(busy.percentile(99))
            pdfs.append(renders.rate)
            ratios.append(busy.percentile(99) / idle.percentile(99))
    ms = runner.Figure
    return [
        Result(
            "P7",
            "ListSheets p99 while 4 exports of the 249-field sheet run / idle p99",
            database,
            runner.Figure(ratios),
            "<= 2",
            f"p99 {ms(busy_p99).median * 1000:.1f} ms vs {ms(idle_p99).median * 1000:.1f} ms idle, "
            f"{ms(pdfs).median:.1f} PDFs/s alongside",
        )
    ]


def _under_exports(listing: Grpc, export: Grpc, seconds: float) -> tuple[Load, Load]:
    errors, cancelled = export.server.grpc_codes()
    # Enough exports to outlast the window; stopped once it is over.
    renders = subprocess.Popen(
        export.argv(0, EXPORTS, duration=seconds + 2),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        runner.pause()
        runner.pause()
        busy = _listing(listing, seconds)
        stdout, stderr = renders.communicate(timeout=seconds + 60)
    finally:
        if renders.poll() is None:
            renders.kill()
            renders.wait()
    if renders.returncode != 0:
        raise LoadFailed(f"h2load (exports) exited {renders.returncode}: {stderr[-1000:]}")
    load = export.finish(stdout)
    after, cancelled_after = export.server.grpc_codes()
    if after != errors:
        load.problems.append(f"the server answered {after - errors} call(s) with a gRPC error")
    # h2load abandons the calls in flight when its time is up: those, and no more, end CANCELLED.
    if cancelled_after - cancelled > EXPORTS:
        load.problems.append(
            f"{cancelled_after - cancelled} calls cancelled, more than the {EXPORTS} in flight"
        )
    return busy, runner.check(load, export.url)

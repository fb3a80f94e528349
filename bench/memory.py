"""P9: peak RSS of `sheets serve` (all its processes) under 100 concurrent ListSheets clients.

A database is seeded by bench.server, then `sheets serve` itself serves it
(the command's own start-up, nothing of the bench in its process) while
h2load keeps 100 connections busy; the process tree's RSS is sampled every
20 ms. The figure is the main process's peak, in MB; all processes' is shown.
"""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from bench import runner
from bench.runner import Grpc, Result, Server, serving
from bench.server import API_KEYS
from opendental.sheets.v1 import sheet_service_pb2 as pb

CLIENTS = 100
MB = 1 << 20


def _serve_ready(stdout: IO[str]) -> dict[str, Any]:
    ports = [re.search(r"\(port (\d+)\)", stdout.readline()) for _ in range(2)]
    if not all(ports):
        raise ValueError("no ports")
    return {"grpc_port": int(ports[0].group(1)), "http_port": int(ports[1].group(1))}  # type: ignore[union-attr]


class _Peak:
    def __init__(self, server: Server) -> None:
        self.main = 0
        self.total = 0
        self._server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            pids = self._server.pids()
            self.main = max(self.main, runner.rss_bytes(pids[0]))
            self.total = max(self.total, sum(runner.rss_bytes(pid) for pid in pids))

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sheets-bench-") as folder:
        data = Path(folder)
        with serving(scratch=data) as seeding:
            pat_num = seeding.ready["patient_20"]
        server = Server(
            scratch=data,
            argv=[
                runner.sheets_command(),
                "--database-url",
                f"sqlite+aiosqlite:///{data / 'bench.db'}",
                "serve",
                "--grpc",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
            ],
            read_ready=_serve_ready,
            env={"SHEETS_API_KEYS": API_KEYS, "SHEETS_DATA_DIR": str(data)},
        )
        try:
            listing = Grpc(server, runner.GRPC_PATH + "ListSheets", pb.ListSheetsRequest(pat_num=pat_num))
            mains, totals = [], []
            for _ in range(max(runner.RUNS, 3)):
                with _Peak(server) as peak:
                    listing.run(CLIENTS * 40, CLIENTS)
                mains.append(peak.main / MB)
                totals.append(peak.total / MB)
        finally:
            server.stop()
    return [
        Result(
            "P9",
            "peak RSS of `sheets serve`'s main process under 100 concurrent clients (MB)",
            "sqlite",
            runner.Figure(mains),
            "<= 150",
            f"all its processes {runner.Figure(totals).median:.0f} MB",
        )
    ]

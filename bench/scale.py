"""P8: ListSheets (20 sheets) with 1,000,000 sheets in the table, next to 1,000.

Two servers, each on a database seeded alike plus its filler sheets (other
patients', made by one bulk INSERT in the database); runs alternate between
them. The figure is the 1,000-row table's rate over the 1,000,000-row one's:
how much slower the big table makes a call.
"""

from __future__ import annotations

from contextlib import ExitStack

from bench import runner
from bench.runner import Grpc, Result, serving
from bench.throughput import CLIENTS, STREAMS, list_size
from opendental.sheets.v1 import sheet_service_pb2 as pb

SMALL, LARGE = 1_000, 1_000_000


def measure(database: str = "sqlite", small_url: str = "", large_url: str = "") -> list[Result]:
    """On SQLite each server has a database file of its own; elsewhere each is given one."""
    with ExitStack() as stack:
        small, large = (
            stack.enter_context(serving("--filler", str(n), *runner.database_args(url)))
            for n, url in ((SMALL, small_url), (LARGE, large_url))
        )
        loads = [
            Grpc(
                server,
                runner.GRPC_PATH + "ListSheets",
                pb.ListSheetsRequest(pat_num=server.ready["patient_20"]),
                response_bytes=list_size(server, server.ready["patient_20"]),
            )
            for server in (small, large)
        ]
        ratios, rates = [], []
        for _ in range(max(runner.RUNS, 3)):
            few, many = (load.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate for load in loads)
            ratios.append(few / many)
            rates.append((few, many))
    few = runner.Figure([r[0] for r in rates]).median
    many = runner.Figure([r[1] for r in rates]).median
    return [
        Result(
            "P8",
            "ListSheets time with 1,000,000 sheets in the table / with 1,000",
            database,
            runner.Figure(ratios),
            "<= 1.1",
            f"{many:,.0f}/s vs {few:,.0f}/s",
        )
    ]

"""P5: CreateSheet from the 249-field Medical History, next to ListSheets, both single stream.

One connection, one call at a time (h2load `-c1 -m1`): the median of each
call's latency, from h2load's per-request log. Measured once the render
workers have warmed up (they share the server's core): a start-up cost, paid
once, not a create's.
"""

from __future__ import annotations

from bench import runner
from bench.runner import Grpc, Result, serving
from opendental.sheets.v1 import sheet_service_pb2 as pb

CREATES = 40
LISTS = 400


def measure(database: str = "sqlite", url: str = "") -> list[Result]:
    with serving(*runner.database_args(url)) as server:
        ready = server.ready
        listing = Grpc(
            server, runner.GRPC_PATH + "ListSheets", pb.ListSheetsRequest(pat_num=ready["patient_20"])
        )
        create = Grpc(
            server,
            runner.GRPC_PATH + "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=ready["medical_def"], pat_num=ready["medical_patient"]),
        )
        create.run(5, 1)
        listing.run(LISTS // 4, 1)
        ratios, creates, lists = [], [], []
        for _ in range(max(runner.RUNS, 3)):
            made = create.run(CREATES, 1).percentile(50)
            listed = listing.run(LISTS, 1).percentile(50)
            creates.append(made)
            lists.append(listed)
            ratios.append(made / listed)
    return [
        Result(
            "P5",
            "CreateSheet (249-field Medical History) / ListSheets, single-stream median latency",
            database,
            runner.Figure(ratios),
            "<= 10",
            f"{runner.Figure(creates).median * 1000:.2f} ms vs {runner.Figure(lists).median * 1000:.2f} ms",
        )
    ]

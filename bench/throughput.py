"""P1-P4: ListSheets' throughput next to Health/Check (gRPC, h2load) and the
REST gateway's next to gRPC's (HTTP/1.1, wrk), in-process and as its own process.

Each run measures every surface once, back to back, so that what disturbs the
machine hits a run's numerator and denominator alike; a figure is the median
of the runs' ratios.
"""

from __future__ import annotations

import re
from typing import IO, Any

from grpc_health.v1 import health_pb2

from bench import runner
from bench.runner import HEALTH_PATH, Grpc, Rest, Result, Server, serving
from opendental.sheets.v1 import sheet_service_pb2 as pb

# 32 calls in flight: 4 connections of 8 streams (gRPC), 32 connections (HTTP/1.1).
CLIENTS, STREAMS = 4, 8
CONNECTIONS = 32


def _gateway_ready(stdout: IO[str]) -> dict[str, Any]:
    line = stdout.readline()
    found = re.search(r"\(port (\d+)\)", line)
    if not found:
        raise ValueError(line)
    return {"http_port": int(found.group(1))}


def measure(database: str = "sqlite", url: str = "", unshared_url: str = "") -> list[Result]:
    """P1-P4 on `url` ("": SQLite); on a server, also P1 with reads not shared, in a
    database of its own (`unshared_url`: the demo data is seeded once a database)."""
    results = _measure(database, url)
    return [*results, _unshared(database, unshared_url)] if unshared_url else results


def _measure(database: str, url: str) -> list[Result]:
    with serving(*runner.database_args(url)) as server:
        ready = server.ready
        health, list20, list100 = _health(server), _list(server, "patient_20"), _list(server, "patient_100")
        path = f"/api/v1/sheets?PatNum={ready['patient_20']}"
        in_process = Rest(server, f"http://127.0.0.1:{ready['http_port']}{path}")
        # The gateway as its own process on its own core: on this machine the only core
        # not the server's is the load generators'. Beside it, informative, the same
        # gateway squeezed onto the server's core.
        gateways = [_gateway(server, runner.load_core()), _gateway(server, runner.server_core())]
        try:
            remote, colocated = (
                Rest(gateway, f"http://127.0.0.1:{gateway.ready['http_port']}{path}") for gateway in gateways
            )
            runs: dict[str, list[float]] = {k: [] for k in ("P1", "P2", "P3", "P4", "P4c")}
            rates: dict[str, list[float]] = {}
            for _ in range(max(runner.RUNS, 3)):
                rate = {
                    "health": health.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate,
                    "list20": list20.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate,
                    "list100": list100.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate,
                    "rest": in_process.for_seconds(runner.SECONDS, CONNECTIONS).rate,
                    "remote": remote.for_seconds(runner.SECONDS, CONNECTIONS).rate,
                    "colocated": colocated.for_seconds(runner.SECONDS, CONNECTIONS).rate,
                }
                for name, value in rate.items():
                    rates.setdefault(name, []).append(value)
                runs["P1"].append(rate["list20"] / rate["health"])
                runs["P2"].append(rate["list100"] / rate["health"])
                runs["P3"].append(rate["rest"] / rate["list20"])
                runs["P4"].append(rate["remote"] / rate["list20"])
                runs["P4c"].append(rate["colocated"] / rate["list20"])
        finally:
            for gateway in gateways:
                gateway.stop()

    def per_second(name: str) -> str:
        return f"{runner.Figure(rates[name]).median:,.0f}/s"

    return [
        Result(
            "P1",
            "gRPC ListSheets (20 sheets) / Health.Check",
            database,
            runner.Figure(runs["P1"]),
            ">= 0.75",
            f"{per_second('list20')} vs {per_second('health')}",
        ),
        Result(
            "P2",
            "gRPC ListSheets (page of 100) / Health.Check",
            database,
            runner.Figure(runs["P2"]),
            ">= 0.45",
            f"{per_second('list100')} vs {per_second('health')}",
        ),
        Result(
            "P3",
            "REST GET /sheets (20), gateway in-process / gRPC ListSheets",
            database,
            runner.Figure(runs["P3"]),
            ">= 1.2",
            f"{per_second('rest')} vs {per_second('list20')}",
        ),
        Result(
            "P4",
            "REST GET /sheets (20), gateway as its own process / gRPC ListSheets",
            database,
            runner.Figure(runs["P4"]),
            ">= 0.7",
            f"{per_second('remote')} vs {per_second('list20')}",
        ),
        Result(
            "P4",
            "same, the gateway process on the server's own core",
            database,
            runner.Figure(runs["P4c"]),
            ">= 0.7",
            f"{per_second('colocated')} vs {per_second('list20')}",
            informative=True,
        ),
    ]


def _health(server: Server) -> Grpc:
    return Grpc(server, HEALTH_PATH, health_pb2.HealthCheckRequest(), response_bytes=health_size())


def _list(server: Server, patient: str) -> Grpc:
    """ListSheets of a patient bench.server seeded (`patient_20`, `patient_100`)."""
    pat_num = server.ready[patient]
    return Grpc(
        server,
        runner.GRPC_PATH + "ListSheets",
        pb.ListSheetsRequest(pat_num=pat_num),
        response_bytes=list_size(server, pat_num),
    )


def _unshared(database: str, url: str) -> Result:
    """P1 with SHEETS_DB_SHARE_READS=false: the 32 identical calls in flight each send a query."""
    with serving(*runner.database_args(url), "--no-shared-reads") as server:
        health, list20 = _health(server), _list(server, "patient_20")
        ratios, lists, healths = [], [], []
        for _ in range(max(runner.RUNS, 3)):
            healths.append(health.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate)
            lists.append(list20.for_seconds(runner.SECONDS, CLIENTS, STREAMS).rate)
            ratios.append(lists[-1] / healths[-1])
    return Result(
        "P1",
        "same, reads not shared (every call its own query)",
        database,
        runner.Figure(ratios),
        ">= 0.75",
        f"{runner.Figure(lists).median:,.0f}/s vs {runner.Figure(healths).median:,.0f}/s",
        informative=True,
    )


def _gateway(server: Server, core: str) -> Server:
    """`sheets gateway` in front of the server's gRPC port, pinned to `core`."""
    return Server(
        scratch=server.scratch,
        argv=[
            runner.sheets_command(),
            "gateway",
            "--target",
            f"127.0.0.1:{server.ready['grpc_port']}",
            "--http",
            "127.0.0.1:0",
        ],
        read_ready=_gateway_ready,
        core=core,
    )


def health_size() -> int:
    """The bytes of a gRPC message frame answering Health/Check with SERVING."""
    message = health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
    return len(runner.grpc_frame(message))


def list_size(server: Server, pat_num: int) -> int:
    """The bytes of the message frame answering one patient's ListSheets, asked once with a real client."""
    answer = runner.ask(server, "ListSheets", pb.ListSheetsRequest(pat_num=pat_num), pb.ListSheetsResponse)
    return len(runner.grpc_frame(answer))

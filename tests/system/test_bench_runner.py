"""`make bench`'s runner reads h2load's and wrk's output right, and refuses a run with errors.

The parsing is checked on output the tools printed; where h2load and wrk are
installed, they also run for real against a local server (skipped otherwise:
make bench is not part of make test; CI makes them mandatory)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench import report, runner
from tests.support.requires import unavailable

H2LOAD = """starting benchmark...
spawning thread #0: 4 total client(s). 2938 total requests
Application protocol: h2c

finished in 3.00s, 1469.00 req/s, 2.13MB/s
requests: 2938 total, 2938 started, 2938 done, 2938 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 2938 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 4.27MB (4474391) total, 14.05KB (14385) headers (space savings 96.22%), 4.10MB (4301232) data
                     min         max         mean         sd        +/- sd
time for request:     1.02ms    180.23ms     21.77ms     13.64ms    89.01%
"""
H2LOAD_LOG = "1796115800193583\t200\t16817\n1796115800194096\t200\t16742\n1796115800194711\t200\t1000\n"
WRK = """Running 1s test @ http://127.0.0.1:46605/api/v1/sheets
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   156.52us  214.06us   3.31ms   96.99%
  Latency Distribution
     50%  115.00us
     75%  121.00us
     90%  172.00us
     99%    1.38ms
  15817 requests in 1.10s, 3.64MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  14382.97
"""


def test_h2load_summary_and_log_give_rate_latencies_and_bytes() -> None:
    load = runner.parse_h2load(H2LOAD, H2LOAD_LOG)
    assert load.requests == 2938
    assert load.rate == pytest.approx(2938 / 3.0)
    assert load.data_bytes == 4301232
    assert load.latencies == [0.016817, 0.016742, 0.001]
    assert load.percentile(50) == 0.016742
    assert load.problems == []


def test_h2load_failures_and_statuses_other_than_2xx_are_problems() -> None:
    failed = H2LOAD.replace("2938 succeeded, 0 failed", "2930 succeeded, 8 failed")
    assert runner.parse_h2load(failed).problems
    statuses = H2LOAD.replace("2938 2xx, 0 3xx, 0 4xx", "2900 2xx, 0 3xx, 38 4xx")
    with pytest.raises(runner.LoadFailed, match="38 4xx"):
        runner.check(runner.parse_h2load(statuses), "ListSheets")


def test_a_timed_run_may_end_with_calls_answered_headers_but_not_done() -> None:
    # h2load -D: 4 calls still running when time was up had their headers (status 200).
    timed = H2LOAD.replace("2938 total, 2938 started", "2938 total, 2942 started").replace(
        "2938 2xx", "2942 2xx"
    )
    assert runner.parse_h2load(timed).problems == []
    # A done call without a 2xx status is still one.
    short = H2LOAD.replace("2938 2xx", "2937 2xx")
    assert runner.parse_h2load(short).problems
    # More statuses than calls started is output this runner does not understand.
    extra = H2LOAD.replace("2938 2xx", "2940 2xx")
    assert runner.parse_h2load(extra).problems


def test_wrk_summary_gives_rate_percentiles_and_non_2xx() -> None:
    load = runner.parse_wrk(WRK)
    assert load.requests == 15817
    assert load.rate == pytest.approx(15817 / 1.1)
    assert load.percentile(50) == pytest.approx(115e-6)
    assert load.percentile(99) == pytest.approx(1.38e-3)
    assert load.problems == ["12 responses not 2xx"]
    assert runner.parse_wrk(WRK.replace("  Non-2xx or 3xx responses: 12\n", "")).problems == []


def test_output_without_a_summary_fails_the_run() -> None:
    with pytest.raises(runner.LoadFailed):
        runner.parse_h2load("h2load: connection refused\n")
    with pytest.raises(runner.LoadFailed):
        runner.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_server_error_counts_are_read_from_prometheus_text() -> None:
    text = (
        'sheets_rpc_total{method="ListSheets",code="OK"} 120\n'
        'sheets_rpc_total{method="GetSheet",code="NOT_FOUND"} 2\n'
        'sheets_http_total{route="GET /metrics",status="200"} 3\n'
        'sheets_http_total{route="GET /api/v1/sheets",status="500"} 1\n'
        'sheets_rpc_seconds_total{method="GetSheet",code="NOT_FOUND"} 0.5\n'
    )
    assert runner._counter_sum(text, "code", lambda code: code != "OK") == 2
    assert runner._counter_sum(text, "status", lambda status: not status.startswith("2")) == 1


def test_the_readme_shows_the_figures_of_docs_benchmarks_json() -> None:
    import json

    if not report.JSON_PATH.exists():
        pytest.fail("docs/benchmarks.json is missing: run make bench")
    doc = json.loads(report.JSON_PATH.read_text())
    assert report.readme_section(doc) in report.README.read_text()


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        unavailable(f"{tool} is not installed (Debian: {package})")


@pytest.fixture
async def health_port() -> AsyncIterator[int]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(0)


def _h2load(port: int, service: str, tmp_path: Path) -> runner.Load:
    data = tmp_path / "request.bin"
    data.write_bytes(runner.grpc_frame(health_pb2.HealthCheckRequest(service=service)))
    url = f"http://127.0.0.1:{port}{runner.HEALTH_PATH}"
    argv = runner.h2load_argv(url, data=data, requests=20, clients=2, log=tmp_path / "log")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return runner.parse_h2load(done.stdout, (tmp_path / "log").read_text())


async def test_h2load_sends_real_grpc_frames_and_their_answers_are_counted(
    health_port: int, tmp_path: Path
) -> None:
    _require("h2load", "nghttp2-client")
    import asyncio

    load = await asyncio.to_thread(_h2load, health_port, "", tmp_path)
    serving = runner.grpc_frame(health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING))
    assert load.problems == []
    assert load.requests == 20
    assert len(load.latencies) == 20
    assert load.data_bytes == 20 * len(serving)


async def test_a_grpc_error_h2load_calls_success_shows_in_the_response_bytes(
    health_port: int, tmp_path: Path
) -> None:
    _require("h2load", "nghttp2-client")
    import asyncio

    # NOT_FOUND travels as HTTP 200 with a grpc-status trailer: h2load counts it a success...
    load = await asyncio.to_thread(_h2load, health_port, "no.such.Service", tmp_path)
    assert load.problems == []
    # ...but it carries no message, which the runner's byte check sees.
    assert load.data_bytes == 0


async def test_wrk_output_of_a_real_run_parses(aiohttp_server: Any) -> None:
    _require("wrk", "wrk")
    import asyncio

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/", ok)
    app.router.add_get("/missing", missing)
    server = await aiohttp_server(app, host="127.0.0.1")
    argv = ["wrk", "-t1", "-c2", "-d1s", "--latency"]

    def run(path: str) -> runner.Load:
        done = subprocess.run(
            [*argv, f"http://127.0.0.1:{server.port}{path}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return runner.parse_wrk(done.stdout)

    good, bad = await asyncio.to_thread(run, "/"), await asyncio.to_thread(run, "/missing")
    assert good.requests > 0
    assert good.problems == []
    assert 99 in good.quantiles
    assert len(bad.problems) == 1
    assert "not 2xx" in bad.problems[0]


def test_settle_waits_until_the_servers_children_stop_using_cpu() -> None:
    # A stand-in server whose child process (a render worker warming up) spins for a second.
    busy_child = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', "
        "'import time\\nend = time.monotonic() + 1.0\\n"
        "while time.monotonic() < end: pass\\ntime.sleep(30)']); "
        "time.sleep(30)"
    )
    process = subprocess.Popen([sys.executable, "-c", busy_child])
    try:
        deadline = time.monotonic() + 10
        while not runner.descendants(process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        runner.settle(cast(runner.Server, SimpleNamespace(process=process)), quiet=0.2, longest=10)
        waited = time.monotonic() - started
    finally:
        for child in runner.descendants(process.pid):
            os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait()
    assert 0.7 < waited < 5

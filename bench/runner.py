"""The shared runner of `make bench`: the served processes, the load generators
(h2load for gRPC, wrk for HTTP/1.1) and their parsed output, repeated runs.

The service runs in its own process (`bench.server`) pinned to one core; every
load generator runs pinned to another (`taskset`). A load run fails — and with
it the bench — on any error: a failed, errored or timed-out request, any
status but 2xx, and, for gRPC (whose errors travel as HTTP 200 with a
`grpc-status` trailer, which h2load does not read), any call the server
counted with a code other than OK, and any response whose bytes are not
exactly its expected message (an error response carries no message).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import grpc
from google.protobuf.message import Message

from bench.server import AUTHORIZATION

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARMUP_SECONDS = 1.0
GRPC_PATH = "/opendental.sheets.v1.SheetService/"
HEALTH_PATH = "/grpc.health.v1.Health/Check"


class LoadFailed(Exception):
    """A load run saw an error: the figure it would give is not a measurement."""


def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def server_core() -> str:
    return str(_cpus()[0])


def load_core() -> str:
    return str(_cpus()[-1])


def pinned(core: str, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else list(argv)


def grpc_frame(message: Message) -> bytes:
    """A gRPC length-prefixed message: not compressed, 4-byte big-endian length, the bytes."""
    payload = message.SerializeToString()
    return b"\0" + struct.pack(">I", len(payload)) + payload


# ---------------------------------------------------------------------------
# Load generator output


@dataclass
class Load:
    """One load run: its rate, latencies (seconds) and what went wrong."""

    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    data_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    # Percentiles the generator computed itself (wrk), where it gives no latencies.
    quantiles: dict[int, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if q in self.quantiles:
            return self.quantiles[q]
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


_H2_FINISHED = re.compile(r"^finished in ([\d.]+)(ms|s|us), ([\d.]+) req/s", re.M)
_H2_REQUESTS = re.compile(
    r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
    r"(\d+) errored, (\d+) timeout",
    re.M,
)
_H2_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.M)
_H2_DATA = re.compile(r"^traffic: .*?\((\d+)\) data", re.M)
_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def parse_h2load(stdout: str, log: str = "") -> Load:
    """h2load's summary, and its `--log-file` (start, status, microseconds per request)."""
    finished, counts, status, data = (
        p.search(stdout) for p in (_H2_FINISHED, _H2_REQUESTS, _H2_STATUS, _H2_DATA)
    )
    if not (finished and counts and status and data):
        raise LoadFailed(f"h2load printed no summary:\n{stdout[-2000:]}")
    total, started, done, _succeeded, failed, errored, timeout = map(int, counts.groups())
    ok, redirect, client, server = map(int, status.groups())
    seconds = float(finished.group(1)) * _UNIT[finished.group(2)]
    load = Load(requests=done, seconds=seconds, data_bytes=int(data.group(1)))
    if failed or errored or timeout or done != total:
        load.problems.append(f"{failed} failed, {errored} errored, {timeout} timed out of {total}")
    # A status arrives with a response's headers: the calls still running when a
    # timed run ends (started, not done) may have one too.
    if redirect or client or server or not done <= ok <= started:
        load.problems.append(f"status codes: {ok} 2xx, {redirect} 3xx, {client} 4xx, {server} 5xx")
    for line in log.splitlines():
        parts = line.split()
        if len(parts) == 3:
            load.latencies.append(int(parts[2]) / 1e6)
    return load


_WRK_RATE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(ms|s|us|m)", re.M)
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_WRK_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)", re.M)
_UNIT["m"] = 60.0


def parse_wrk(stdout: str) -> Load:
    """wrk's summary with `--latency` (its percentiles stand in for the latencies)."""
    rate = _WRK_RATE.search(stdout)
    if not rate:
        raise LoadFailed(f"wrk printed no summary:\n{stdout[-2000:]}")
    load = Load(requests=int(rate.group(1)), seconds=float(rate.group(2)) * _UNIT[rate.group(3)])
    if non2xx := _WRK_NON2XX.search(stdout):
        load.problems.append(f"{non2xx.group(1)} responses not 2xx")
    if (socket := _WRK_SOCKET.search(stdout)) and any(int(n) for n in socket.groups()):
        load.problems.append(socket.group(0))
    for point, value, unit in _WRK_PERCENTILE.findall(stdout):
        load.quantiles[int(point)] = float(value) * _UNIT[unit]
    return load


def _run(argv: Sequence[str], timeout: float) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise LoadFailed(f"{argv[0]} exited {done.returncode}: {done.stderr[-1000:]}{done.stdout[-1000:]}")
    return done.stdout


def h2load_argv(
    url: str,
    *,
    data: Path,
    requests: int,
    clients: int,
    streams: int = 1,
    rps: float | None = None,
    log: Path | None = None,
    duration: float | None = None,
) -> list[str]:
    argv = [
        "h2load",
        f"-n{requests}" if duration is None else f"-D{duration:g}",
        f"-c{clients}",
        f"-m{streams}",
        "-t1",
        f"--data={data}",
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "-H",
        f"authorization: {AUTHORIZATION}",
    ]
    if rps is not None:
        argv.append(f"--rps={rps:g}")
    if log is not None:
        argv.append(f"--log-file={log}")
    return pinned(load_core(), [*argv, url])


class Grpc:
    """gRPC load on one method of a served process, checked for errors."""

    def __init__(self, server: Server, path: str, request: Message, *, response_bytes: int | None = None):
        self.server = server
        self.url = f"http://127.0.0.1:{server.ready['grpc_port']}{path}"
        self.response_bytes = response_bytes
        name = f"{path.rsplit('/', 1)[-1]}-{request.SerializeToString().hex()[:40]}"
        self._data = server.scratch / f"{name}.bin"
        self._data.write_bytes(grpc_frame(request))
        self._log = server.scratch / f"{name}.log"

    def argv(
        self,
        requests: int,
        clients: int,
        streams: int = 1,
        rps: float | None = None,
        duration: float | None = None,
    ) -> list[str]:
        self._log.unlink(missing_ok=True)
        return h2load_argv(
            self.url,
            data=self._data,
            requests=requests,
            clients=clients,
            streams=streams,
            rps=rps,
            log=self._log,
            duration=duration,
        )

    def finish(self, stdout: str) -> Load:
        log = self._log
        load = parse_h2load(stdout, log.read_text() if log.exists() else "")
        if self.response_bytes is not None and load.data_bytes != load.requests * self.response_bytes:
            load.problems.append(
                f"{load.data_bytes} response bytes, not {load.requests} x {self.response_bytes}: "
                "some calls answered without a message (a gRPC error)"
            )
        return load

    def run(self, requests: int, clients: int, streams: int = 1, rps: float | None = None) -> Load:
        errors = self.server.grpc_errors()
        load = self.finish(_run(self.argv(requests, clients, streams, rps), timeout=300))
        if (after := self.server.grpc_errors()) != errors:
            load.problems.append(f"the server answered {after - errors} call(s) with a gRPC error")
        return check(load, self.url)

    def for_seconds(self, seconds: float, clients: int, streams: int = 1) -> Load:
        """About `seconds` of closed-loop load, after an unmeasured warm-up run at the same concurrency."""
        warm = self.run(max(clients * streams, 50), clients, streams)
        rate = warm.rate
        warm = self.run(max(clients * streams, int(rate * WARMUP_SECONDS)), clients, streams)
        return self.run(max(clients * streams * 4, int(warm.rate * seconds)), clients, streams)


class Rest:
    """HTTP/1.1 load (wrk) on one URL, checked for errors."""

    def __init__(self, server: Server, url: str):
        self.server = server
        self.url = url

    def run(self, seconds: float, connections: int) -> Load:
        argv = pinned(
            load_core(),
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-H",
                f"Authorization: {AUTHORIZATION}",
                self.url,
            ],
        )
        errors = self.server.http_errors()
        load = parse_wrk(_run(argv, timeout=seconds + 60))
        if (after := self.server.http_errors()) != errors:
            load.problems.append(f"the server answered {after - errors} request(s) with an error status")
        return check(load, self.url)

    def for_seconds(self, seconds: float, connections: int) -> Load:
        self.run(WARMUP_SECONDS, connections)
        return self.run(seconds, connections)


def check(load: Load, what: str) -> Load:
    if load.problems:
        raise LoadFailed(f"{what}: " + "; ".join(load.problems))
    if not load.requests:
        raise LoadFailed(f"{what}: no request completed")
    return load


# ---------------------------------------------------------------------------
# The served processes


def _counter_sum(text: str, label: str, bad: Callable[[str], bool]) -> int:
    """The sum of every `*_total` counter sample whose `label` is bad, in Prometheus text."""
    total = 0
    pattern = re.compile(rf'^(\w+_total)\{{[^}}]*\b{label}="([^"]*)"[^}}]*\}} ([\d.e+]+)$', re.M)
    for _, value, count in pattern.findall(text):
        if bad(value):
            total += int(float(count))
    return total


class Server:
    """A served process pinned to the server core: `bench.server` unless `argv` says otherwise.

    `ready` is what it printed on start: bench.server's JSON line, or the ports
    `sheets serve` prints (`read_ready`).
    """

    def __init__(
        self,
        *args: str,
        scratch: Path,
        argv: Sequence[str] | None = None,
        read_ready: Callable[[IO[str]], dict[str, Any]] | None = None,
        env: dict[str, str] | None = None,
        core: str | None = None,
    ) -> None:
        self.scratch = scratch
        self._signalled = read_ready is not None
        self._log: IO[str] = (scratch / "server.log").open("a")
        command = list(argv) if argv is not None else [python(), "-m", "bench.server", *args]
        self.process = subprocess.Popen(
            pinned(core or server_core(), command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
            env=None if env is None else os.environ | env,
        )
        assert self.process.stdout is not None
        try:
            self.ready: dict[str, Any] = (read_ready or _json_line)(self.process.stdout)
        except (ValueError, EOFError):
            self.stop()
            raise LoadFailed(
                f"{command[0]} did not start:\n{(scratch / 'server.log').read_text()[-3000:]}"
            ) from None

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.ready['http_port']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text: str = response.read().decode()
        return text

    def grpc_errors(self) -> int:
        return _counter_sum(self.metrics(), "code", lambda code: code != "OK")

    def grpc_codes(self) -> tuple[int, int]:
        """(calls answered with an error, calls cancelled by their caller) so far."""
        text = self.metrics()
        # Counted where gRPC counts each call once (the API counts it too).
        grpc_lines = "\n".join(
            line for line in text.splitlines() if line.startswith("sheets_grpc_requests_total")
        )
        cancelled = _counter_sum(grpc_lines, "code", lambda code: code == "CANCELLED")
        return _counter_sum(text, "code", lambda code: code not in ("OK", "CANCELLED")), cancelled

    def http_errors(self) -> int:
        # /metrics itself is counted too, with 200: only statuses outside 2xx are errors.
        return _counter_sum(self.metrics(), "status", lambda status: not status.startswith("2"))

    def pids(self) -> list[int]:
        """The server process and its children (the render workers, the fork server)."""
        return [self.process.pid, *descendants(self.process.pid)]

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            if self._signalled:  # `sheets serve` stops on SIGTERM, bench.server when stdin closes
                self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


ROOT = Path(__file__).resolve().parents[1]


def _json_line(stdout: IO[str]) -> dict[str, Any]:
    line = stdout.readline()
    if not line:
        raise EOFError
    ready: dict[str, Any] = json.loads(line)
    return ready


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else "python3"


def sheets_command() -> str:
    venv = ROOT / ".venv" / "bin" / "sheets"
    return str(venv) if venv.exists() else "sheets"


_M = TypeVar("_M", bound=Message)


def ask(server: Server, method: str, request: Message, response: type[_M]) -> _M:
    """One SheetService call with a real gRPC client (to learn a response, not to load)."""
    with grpc.insecure_channel(f"127.0.0.1:{server.ready['grpc_port']}") as channel:
        call = channel.unary_unary(
            GRPC_PATH + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString,
        )
        answer: _M = call(request, metadata=(("authorization", AUTHORIZATION),), timeout=60)
    return answer


def database_args(url: str) -> list[str]:
    """bench.server's arguments for a database URL ("": its own SQLite file)."""
    return ["--database-url", url] if url else []


@contextmanager
def serving(*args: str, scratch: Path | None = None) -> Iterator[Server]:
    """bench.server with `args`, in a scratch folder of its own (or `scratch`),
    once its render workers have warmed up (`settle`): no figure measures a start."""
    with tempfile.TemporaryDirectory(prefix="sheets-bench-") as temporary:
        folder = scratch or Path(temporary)
        server = Server("--data-dir", str(folder), *args, scratch=folder)
        try:
            settle(server)
            yield server
        finally:
            server.stop()


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += map(int, children)
        todo += map(int, children)
    return found


def _cpu_seconds(pids: Sequence[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(server: Server, *, quiet: float = 1.0, longest: float = 60.0) -> None:
    """Wait (at most `longest` seconds) until the server's child processes — the render
    workers warming up after start, at the server's core — use no CPU for `quiet` seconds,
    so that a figure measures the service as it runs, not its start."""
    deadline = time.monotonic() + longest
    before = _cpu_seconds(descendants(server.process.pid))
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _cpu_seconds(descendants(server.process.pid))
        if now - before < 0.02:
            return
        before = now


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """The median of ≥ 3 runs, with their min and max."""

    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def low(self) -> float:
        return min(self.runs)

    @property
    def high(self) -> float:
        return max(self.runs)


def repeat(measure: Callable[[], float], runs: int = RUNS) -> Figure:
    return Figure([measure() for _ in range(max(runs, 3))])


@dataclass
class Result:
    """One line of the table: a target and what this run measured."""

    key: str
    measure: str
    database: str
    figure: Figure
    target: str  # ">= 0.75" or "<= 2"
    detail: str = ""
    # Shown, not held to its target: other set-ups (a gateway on the server's own core).
    informative: bool = False

    @property
    def met(self) -> bool:
        op, bound = self.target.split()
        value = self.figure.median
        return value >= float(bound) if op == ">=" else value <= float(bound)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "measure": self.measure,
            "database": self.database,
            "median": round(self.figure.median, 3),
            "min": round(self.figure.low, 3),
            "max": round(self.figure.high, 3),
            "runs": [round(r, 4) for r in self.figure.runs],
            "target": self.target,
            "met": self.met,
            "informative": self.informative,
            "detail": self.detail,
        }


def pause() -> None:
    """Let the machine settle between phases (a server's start-up, the last run's stragglers)."""
    time.sleep(0.3)

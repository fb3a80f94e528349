"""`make bench`: every target measured, the table printed, docs/benchmarks.json,
docs/benchmarks.png and the README's figures written.

    .venv/bin/python -m bench [--only P1,P7] [--no-databases] [--no-write]

Every target that reads or writes the database (P1-P5, P7, P8, P10) runs on
SQLite, and on MariaDB (with the service's tables, and with Open Dental's own)
and PostgreSQL where SHEETS_BENCH_MYSQL_URL / SHEETS_BENCH_POSTGRES_URL (or
the tests' SHEETS_TEST_MYSQL_URL / SHEETS_TEST_POSTGRES_URL) name a server:
each in a database of its own the bench creates and drops. Exit status 1 when
a load run saw an error or a target is missed, on any database.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from bench import create, export, latency, memory, render, report, runner, scale, throughput
from bench.databases import DATABASES, Database, scratch_database
from bench.runner import LoadFailed, Result

_Step = tuple[tuple[str, ...], Callable[[], list[Result]]]


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def _cpu() -> str:
    for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _tool_version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "absent"
    words = (done.stdout + done.stderr).split()
    return words[1] if len(words) > 1 else "?"


def _versions(server_versions: dict[str, str]) -> dict[str, str]:
    versions = {"Python": platform.python_version()}
    for package in ("grpcio", "protobuf", "SQLAlchemy", "aiosqlite", "aiohttp", "reportlab", "xhtml2pdf"):
        versions[package] = metadata.version(package)
    versions["h2load (nghttp2)"] = _tool_version(["h2load", "--version"]).removeprefix("nghttp2/")
    versions["wrk"] = _tool_version(["wrk", "--version"])
    return versions | server_versions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--only", default="", help="comma-separated targets, e.g. P1,P7 (implies --no-write)")
    parser.add_argument("--no-databases", action="store_true", help="SQLite only")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    only = {k.strip().upper() for k in args.only.split(",") if k.strip()}
    started, load_before = datetime.now(UTC), _load()
    results: list[Result] = []
    server_versions: dict[str, str] = {}

    def wanted(*keys: str) -> bool:
        return not only or bool(only & set(keys))

    servers = [] if args.no_databases else [d for d in DATABASES if d.admin_url()]

    def on(database: Database, measure: Callable[..., list[Result]], count: int) -> list[Result]:
        with ExitStack() as stack:
            scratch = [stack.enter_context(scratch_database(database)) for _ in range(count)]
            server_versions[database.product] = scratch[0][1]
            return measure(database.name, *(url for url, _ in scratch))

    def everywhere(
        keys: tuple[str, ...], measure: Callable[..., list[Result]], count: int = 1
    ) -> list[_Step]:
        """`measure` on SQLite (files of its own), then on each server in `count` scratch databases."""
        return [(keys, measure), *((keys, functools.partial(on, d, measure, count)) for d in servers)]

    steps: list[_Step] = [
        *everywhere(("P1", "P2", "P3", "P4"), throughput.measure, 2),
        *everywhere(("P5",), create.measure),
        (("P6",), render.measure),
        *everywhere(("P7",), latency.measure),
        *everywhere(("P8",), scale.measure, 2),
        (("P9",), memory.measure),
        *everywhere(("P10",), export.measure),
    ]
    try:
        for keys, step in steps:
            if wanted(*keys):
                began = time.monotonic()
                found = [r for r in step() if wanted(r.key)]
                results += found
                for result in found:
                    print(
                        f"{result.key:<4} {result.database:<10} {result.figure.median:8.3g} "
                        f"({result.figure.low:.3g}-{result.figure.high:.3g})  target {result.target:<8} "
                        f"{'met' if result.met else 'MISSED'}  {result.detail}",
                        flush=True,
                    )
                print(f"     ({time.monotonic() - began:.0f} s)", flush=True)
                runner.pause()
    except LoadFailed as failure:
        print(f"make bench: a load run failed, so no figure of it counts: {failure}", file=sys.stderr)
        return 1
    results.sort(key=lambda r: (int(r.key[1:]), r.database != "sqlite", r.database))
    rows = [r.as_json() for r in results]
    doc: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "runs": max(runner.RUNS, 3),
        "seconds": runner.SECONDS,
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "kernel": platform.release(),
            "load_before": load_before,
            "load_after": _load(),
            "server_core": runner.server_core(),
            "load_core": runner.load_core(),
        },
        "versions": _versions(server_versions),
        "results": rows,
    }
    print()
    print(report.table(rows))
    if not (only or args.no_write):
        report.JSON_PATH.write_text(json.dumps(doc, indent=2) + "\n")
        report.plot(doc)
        report.update_readme(doc)
        print("\nwrote docs/benchmarks.json, docs/benchmarks.png and README.md's figures")
    missed = [r for r in results if not r.met and not r.informative]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

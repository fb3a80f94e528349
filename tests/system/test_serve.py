"""`sheets serve` and `sheets gateway` as an operator runs them: real processes, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from sheets.cli import main
from tests.support.processes import children, command_line, running, sheets, started
from tests.support.sftp_servers import SilentServer
from tests.support.stack import ALL_KEY, Stack


async def test_serve_answers_health_and_rest_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with sheets("serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", data_dir=tmp_path) as (
        process,
        ports,
    ):
        grpc_port, http_port = ports
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{http_port}/healthz") as response,
        ):
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0


async def _render_processes(service: int, workers: int) -> dict[int, str]:
    """The service's helper processes (forkserver, resource tracker) and render workers once
    `workers` workers run: pid -> start time."""
    deadline = time.monotonic() + 30
    while True:
        helpers = children(service)
        forkservers = [pid for pid in helpers if "multiprocessing.forkserver" in command_line(pid)]
        started_workers = [pid for forkserver in forkservers for pid in children(forkserver)]
        if len(started_workers) >= workers:
            break
        assert time.monotonic() < deadline, f"render workers not started: {helpers} {started_workers}"
        await asyncio.sleep(0.1)
    found = {pid: started(pid) for pid in helpers + started_workers}
    return {pid: start for pid, start in found.items() if start is not None}


async def test_a_killed_service_leaves_no_render_worker_or_forkserver_behind(tmp_path: Path) -> None:
    args = ("serve", "--grpc", "127.0.0.1:0", "--no-gateway")
    async with sheets(*args, data_dir=tmp_path, env={"SHEETS_RENDER_WORKERS": "2"}) as (process, _ports):
        assert process.stdout
        left = await _render_processes(process.pid, workers=2)
        assert any("multiprocessing.forkserver" in command_line(pid) for pid in left)

        os.kill(process.pid, signal.SIGKILL)  # the service alone, not its process group
        deadline = time.monotonic() + 5
        while left and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            left = {pid: start for pid, start in left.items() if running(pid, start)}

        assert not left, [command_line(pid)[:100] for pid in left]
        # Nothing holds the service's stdout any more.
        await asyncio.wait_for(process.stdout.read(), timeout=5)
        assert await asyncio.wait_for(process.wait(), timeout=5) == -signal.SIGKILL


async def test_remote_gateway_forwards_to_a_grpc_target(tmp_path: Path) -> None:
    async with sheets("serve", "--grpc", "127.0.0.1:0", "--no-gateway", data_dir=tmp_path) as (
        server,
        (grpc_port,),
    ):
        gateway_args = ("gateway", "--target", f"127.0.0.1:{grpc_port}", "--http", "127.0.0.1:0")
        async with sheets(*gateway_args, data_dir=tmp_path) as (gateway, (http_port,)):
            url = f"http://127.0.0.1:{http_port}/api/v1/sheets"
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                assert response.status == 400
                assert await response.json() == "PatNum is required."
            gateway.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(gateway.wait(), timeout=30) == 0
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), timeout=30) == 0


async def test_sigterm_lets_a_call_in_flight_finish_before_exiting(tmp_path: Path) -> None:
    assert await asyncio.to_thread(main, ["--data-dir", str(tmp_path), "seed-demo"]) == 0
    slow = {"SHEETS_SFTP_CONNECT_TIMEOUT": "3", "SHEETS_GRACE_SECONDS": "20"}
    args = ("serve", "--grpc", "127.0.0.1:0", "--no-gateway")
    async with (
        SilentServer() as silent_port,
        sheets(*args, data_dir=tmp_path, env=slow) as (process, (port,)),
    ):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = SheetServiceStub(channel)
            created = await stub.CreateSheet(pb.CreateSheetRequest(sheet_def_num=2, pat_num=1))
            # An export to a server that never answers takes the whole connect timeout.
            export = asyncio.ensure_future(
                stub.ExportSheetSftp(
                    pb.ExportSheetSftpRequest(
                        sheet_num=created.sheet.sheet_num,
                        sftp_address=f"127.0.0.1:{silent_port}/x.pdf",
                        sftp_username="office",
                        sftp_password="secret",
                    )
                )
            )
            await asyncio.sleep(1)
            process.send_signal(signal.SIGTERM)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await export
            # The call ran to its own end (the SFTP timeout), not cut off by the shutdown.
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "x.pdf" in (caught.value.details() or "") or "127.0.0.1" in (caught.value.details() or "")
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0


# What only the service needs: a gateway in front of a remote target loads none of it.
SERVICE_ONLY_MODULES = (
    "xhtml2pdf",
    "reportlab",
    "asyncssh",
    "sqlalchemy",
    "sqlmodel",
    "aiosqlite",
    "asyncmy",
    "asyncpg",
)


async def test_a_remote_gateway_process_never_imports_the_renderer_sftp_or_the_orm(
    stack: Stack, tmp_path: Path
) -> None:
    # -X importtime reports every module the process imports, on stderr, as it imports it.
    args = ("gateway", "--target", stack.grpc_target, "--http", "127.0.0.1:0")
    log = tmp_path / "imports.txt"
    async with sheets(*args, data_dir=tmp_path, python=("-X", "importtime"), stderr=log) as (
        gateway,
        (http_port,),
    ):
        base = f"http://127.0.0.1:{http_port}/api/v1"
        headers = {"Authorization": ALL_KEY}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(
                f"{base}/sheets", params={"PatNum": str(stack.demo_patients[0])}
            ) as listed:
                assert listed.status == 200
            created = {"SheetDefNum": stack.demo_sheet_defs[0], "PatNum": stack.demo_patients[0]}
            async with session.post(f"{base}/sheets", json=created) as response:
                assert response.status == 200
                sheet_num = (await response.json())["SheetNum"]
            async with session.get(f"{base}/sheets/{sheet_num}/pdf") as pdf:
                assert pdf.status == 200
                assert (await pdf.read()).startswith(b"%PDF")
        gateway.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gateway.wait(), timeout=30) == 0
    report = log.read_text().splitlines()
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in report if "|" in line}
    assert {"aiohttp", "grpc", "gateway"} <= imported
    assert not imported & set(SERVICE_ONLY_MODULES)

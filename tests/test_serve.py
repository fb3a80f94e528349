"""`sheets serve` and `sheets gateway` as an operator runs them: real processes, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.cli import main
from tests._sftp_servers import SilentServer

PORT = re.compile(rb"\(port (\d+)\)")


@asynccontextmanager
async def sheets(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[int]]]:
    """Run `sheets ARGS` and wait for the ports it reports."""
    env = os.environ | {"SHEETS_DATA_DIR": str(data_dir)} | (env or {})
    env.pop("SHEETS_API_KEYS", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout
    ports: list[int] = []
    try:
        expected = 1 if args[0] == "gateway" or "--no-gateway" in args else 2
        while len(ports) < expected:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert line, "the process ended before it listened"
            found = PORT.search(line)
            if found:
                ports.append(int(found.group(1)))
        yield process, ports
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


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

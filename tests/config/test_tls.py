"""TLS on both surfaces, as an operator runs `sheets serve` and `sheets gateway`:
certificates made for the test, real handshakes, the README's examples."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import ssl
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
from service.config.settings import Settings
from tests.support import ROOT
from tests.support.certs import Certs, make_certs
from tests.support.requires import unavailable

PORT = re.compile(rb"\(port (\d+)\)")
README = ROOT / "README.md"
BIN = str(Path(sys.executable).parent)
KEY = "ODFHIR devkey/custkey"
METADATA = (("authorization", KEY),)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def tls_env(certs: Certs, *, client_ca: bool = False) -> dict[str, str]:
    env = {
        "SHEETS_TLS_CERT_FILE": str(certs.server_cert),
        "SHEETS_TLS_KEY_FILE": str(certs.server_key),
        "SHEETS_API_KEYS": "devkey/custkey",
    }
    if client_ca:
        env["SHEETS_TLS_CLIENT_CA_FILE"] = str(certs.ca)
    return env


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sheets.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


@asynccontextmanager
async def serving(*args: str, env: dict[str, str], ports: int) -> AsyncIterator[list[int]]:
    """Run `sheets ARGS` until it reports `ports` listeners; stopped afterwards."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sheets.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | env,
    )
    assert process.stdout
    assert process.stderr
    found: list[int] = []
    try:
        while len(found) < ports:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            if not line:
                raise AssertionError(f"sheets {args[0]} ended: {(await process.stderr.read()).decode()}")
            match = PORT.search(line)
            if match:
                found.append(int(match.group(1)))
        yield found
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


def client_context(certs: Certs) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certs.ca))


async def test_grpc_and_rest_serve_tls_and_refuse_plaintext_callers(tmp_path: Path, certs: Certs) -> None:
    env = tls_env(certs) | {"SHEETS_DATA_DIR": str(tmp_path)}
    async with serving("serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", env=env, ports=2) as ports:
        grpc_port, http_port = ports
        credentials = grpc.ssl_channel_credentials(root_certificates=certs.ca.read_bytes())
        async with grpc.aio.secure_channel(f"127.0.0.1:{grpc_port}", credentials) as channel:
            reply = await SheetServiceStub(channel).ListSheetDefs(
                pb.ListSheetDefsRequest(), metadata=METADATA
            )
            assert list(reply.sheet_defs) == []
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        async with aiohttp.ClientSession() as session:
            url = f"https://127.0.0.1:{http_port}/api/v1/sheetdefs"
            async with session.get(
                url, headers={"Authorization": KEY}, ssl=client_context(certs)
            ) as response:
                assert response.status == 200
                assert await response.json() == []
            # A client that does not trust the CA refuses the server.
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(url, ssl=ssl.create_default_context())
            # Plain HTTP on the TLS port gets no answer in the clear.
            with pytest.raises(aiohttp.ClientError):
                await session.get(f"http://127.0.0.1:{http_port}/healthz")


async def test_client_ca_makes_grpc_require_a_client_certificate(tmp_path: Path, certs: Certs) -> None:
    env = tls_env(certs, client_ca=True) | {"SHEETS_DATA_DIR": str(tmp_path)}
    async with serving("serve", "--grpc", "127.0.0.1:0", "--no-gateway", env=env, ports=1) as (port,):
        target = f"127.0.0.1:{port}"
        ca = certs.ca.read_bytes()
        anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
        async with grpc.aio.secure_channel(target, anonymous) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        identified = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=certs.client_key.read_bytes(),
            certificate_chain=certs.client_cert.read_bytes(),
        )
        async with grpc.aio.secure_channel(target, identified) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_remote_gateway_speaks_tls_to_its_target_with_target_ca(tmp_path: Path, certs: Certs) -> None:
    env = tls_env(certs, client_ca=True) | {"SHEETS_DATA_DIR": str(tmp_path)}
    async with serving("serve", "--grpc", "127.0.0.1:0", "--no-gateway", env=env, ports=1) as (grpc_port,):
        target = ["--target", f"127.0.0.1:{grpc_port}", "--http", "127.0.0.1:0"]
        plain_env = {"SHEETS_API_KEYS": "devkey/custkey", "SHEETS_DATA_DIR": str(tmp_path)}
        tls_args = ["--target-ca", str(certs.ca)]
        client = ["--target-cert", str(certs.client_cert), "--target-key", str(certs.client_key)]
        async with (
            serving("gateway", *target, *tls_args, *client, env=plain_env, ports=1) as (good,),
            serving("gateway", *target, env=plain_env, ports=1) as (plaintext,),
            serving("gateway", *target, *tls_args, env=plain_env, ports=1) as (no_client_cert,),
            aiohttp.ClientSession() as session,
        ):
            url = "http://127.0.0.1:{}/api/v1/sheetdefs"
            async with session.get(url.format(good), headers={"Authorization": KEY}) as response:
                assert response.status == 200, await response.text()
                assert await response.json() == []
            for port in (plaintext, no_client_cert):
                async with session.get(url.format(port), headers={"Authorization": KEY}) as response:
                    assert response.status == 503
                    assert await response.json() == "The service is unavailable. Try again later."


async def test_a_listener_off_loopback_without_tls_refuses_to_start_naming_it(
    tmp_path: Path,
) -> None:
    env = {"SHEETS_API_KEYS": "devkey/custkey", "SHEETS_DATA_DIR": str(tmp_path)}
    for flag in ("--grpc", "--http"):
        others = ["--http", "127.0.0.1:0"] if flag == "--grpc" else ["--grpc", "127.0.0.1:0"]
        code, output = await run_cli("serve", flag, "0.0.0.0:0", *others, env=env)
        assert code == 1
        assert "SHEETS_TLS_CERT_FILE" in output
        assert "SHEETS_ALLOW_PLAINTEXT" in output


def test_settings_accept_off_loopback_with_tls_or_when_plaintext_is_allowed(certs: Certs) -> None:
    keys = "devkey/custkey"
    with_tls = Settings(api_keys=keys, tls_cert_file=certs.server_cert, tls_key_file=certs.server_key)
    with_tls.check_listeners("0.0.0.0:50051", "[::]:30222")
    Settings(api_keys=keys, allow_plaintext=True).check_listeners("0.0.0.0:50051")
    Settings(api_keys=keys).check_listeners("127.0.0.1:50051", "localhost:1", "[::1]:2")
    with pytest.raises(ValueError, match="SHEETS_TLS_CERT_FILE"):
        Settings(api_keys=keys).check_listeners("127.0.0.1:50051", "10.1.2.3:30222")
    with pytest.raises(ValueError, match="go together"):
        Settings(tls_cert_file=certs.server_cert)
    with pytest.raises(ValueError, match="SHEETS_TLS_CLIENT_CA_FILE"):
        Settings(tls_client_ca_file=certs.ca)


async def test_an_unusable_certificate_stops_the_start_with_its_setting_and_no_key_text(
    tmp_path: Path, certs: Certs
) -> None:
    base = {"SHEETS_DATA_DIR": str(tmp_path)}
    mismatched = tls_env(certs) | {"SHEETS_TLS_KEY_FILE": str(certs.client_key)}
    missing = tls_env(certs) | {"SHEETS_TLS_CERT_FILE": str(tmp_path / "absent.pem")}
    not_pem = tls_env(certs) | {"SHEETS_TLS_KEY_FILE": str(README)}
    for env, expected in (
        (mismatched, "do not form a usable pair"),
        (missing, "SHEETS_TLS_CERT_FILE: cannot read"),
        (not_pem, "SHEETS_TLS_KEY_FILE"),
    ):
        code, output = await run_cli(
            "serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", env=base | env
        )
        assert code == 1, output
        assert expected in output
        assert not any(fragment in output for fragment in certs.private_keys)


def readme_blocks(kind: str) -> list[str]:
    blocks = re.findall(rf"```sh {kind}\n(.*?)```", README.read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


async def _readme_command(line: str, swaps: dict[str, str], cwd: Path) -> bytes:
    for old, new in swaps.items():
        line = line.replace(old, new)
    args = shlex.split(line)
    if args[0] == "curl":
        args[1:1] = ["--fail-with-body", "-S"]
    env = os.environ | {"PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (line, out, err)
    return out


@pytest.mark.parametrize("kind", ["tls", "mtls"])
async def test_readme_tls_examples_run_against_a_tls_service(tmp_path: Path, certs: Certs, kind: str) -> None:
    if kind == "tls" and not any(line.startswith("curl") for line in readme_blocks(kind)):
        pytest.fail("the README's TLS section has no curl example")
    commands = readme_blocks(kind)
    assert commands
    if any(line.startswith("curl") for line in commands) and shutil.which("curl") is None:
        unavailable("curl is not installed")
    assert all(line.split()[0] in ("curl", "grpcurl") for line in commands)
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_bytes((certs.ca.parent / name).read_bytes())
    env = tls_env(certs, client_ca=kind == "mtls") | {"SHEETS_DATA_DIR": str(tmp_path / "data")}
    code, output = await run_cli("seed-demo", env=env)
    assert code == 0, output
    args = ["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    async with serving(*args, env=env, ports=2) as (grpc_port, http_port):
        swaps = {"127.0.0.1:50051": f"127.0.0.1:{grpc_port}", "127.0.0.1:30222": f"127.0.0.1:{http_port}"}
        for line in commands:
            out = await _readme_command(line, swaps, tmp_path)
            # Each answers JSON over the verified connection (grpcurl prints {} for an empty list).
            json.loads(out)


async def test_the_readme_self_signed_certificate_serves_the_tls_examples(tmp_path: Path) -> None:
    if shutil.which("openssl") is None or shutil.which("curl") is None:
        unavailable("openssl or curl is not installed")
    (make,) = readme_blocks("certs")
    assert make.startswith("openssl ")
    await _readme_command(make, {}, tmp_path)
    # Self-signed: the certificate is its own CA.
    (tmp_path / "ca.pem").write_bytes((tmp_path / "server.pem").read_bytes())
    env = {
        "SHEETS_TLS_CERT_FILE": str(tmp_path / "server.pem"),
        "SHEETS_TLS_KEY_FILE": str(tmp_path / "server.key"),
        "SHEETS_API_KEYS": "devkey/custkey",
        "SHEETS_DATA_DIR": str(tmp_path / "data"),
    }
    code, output = await run_cli("seed-demo", env=env)
    assert code == 0, output
    args = ["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    async with serving(*args, env=env, ports=2) as (grpc_port, http_port):
        swaps = {"127.0.0.1:50051": f"127.0.0.1:{grpc_port}", "127.0.0.1:30222": f"127.0.0.1:{http_port}"}
        for line in readme_blocks("tls"):
            json.loads(await _readme_command(line, swaps, tmp_path))

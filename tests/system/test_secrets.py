"""No secret reaches a log line or a response body: one run with failing
exports, wrong and malformed keys, good and bad TLS handshakes and a short
fuzzing pass, every log record (Python's and the process's stderr) captured."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.config.settings import Settings
from service.render.pool import PdfRenderer
from sheets.stack import running_service
from tests.support.certs import Certs, make_certs
from tests.support.sftp_servers import PASSWORD, USERNAME, SilentServer, asyncssh_peer
from tests.support.stack import Rest, running_stack
from tests.system.test_fuzz import run_schemathesis

pytestmark = pytest.mark.slow
WRONG_CUSTOMER_KEY = "WrongCustomerKey-7f3a9c"
TLS_CUSTOMER_KEY = "TlsCustomerKey-41d2e8"


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[_Everything]:
    """Every record of every logger, DEBUG included, while the test runs."""
    handler = _Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _secrets(certs: Certs, sftp_password: str) -> dict[str, str]:
    found = {
        "SftpPassword": sftp_password,
        "the all key's customer key": "custkey",
        "the read key's customer key": "readcust",
        "a wrong customer key": WRONG_CUSTOMER_KEY,
        "the TLS service's customer key": TLS_CUSTOMER_KEY,
    }
    for n, fragment in enumerate(certs.private_keys):
        found[f"private key {n}"] = fragment
    return found


async def _exports(rest: Rest, sheet_num: int, sftp_port: int, silent_port: int, password: str) -> list[Any]:
    bodies = []
    for address, user, secret in (
        (f"127.0.0.1:{sftp_port}/ok.pdf", USERNAME, PASSWORD),  # succeeds
        (f"127.0.0.1:{sftp_port}/denied.pdf", USERNAME, password),  # wrong password
        (f"127.0.0.1:{silent_port}/stall.pdf", USERNAME, password),  # connect timeout
        ("127.0.0.1:1/refused.pdf", USERNAME, password),  # nothing listens
        ("203.0.113.9/elsewhere.pdf", USERNAME, password),  # refused by the allowlist
        (f"127.0.0.1:{sftp_port}/x.txt", USERNAME, password),  # bad extension
    ):
        body = {"SheetNum": sheet_num, "SftpAddress": address, "SftpUsername": user, "SftpPassword": secret}
        status, answer, response = await rest.request("POST", "/api/v1/sheets/DownloadSftp", json=body)
        bodies += [status, answer, dict(response.headers)]
    return bodies


async def _bad_keys(rest: Rest) -> list[Any]:
    bodies = []
    for auth in (
        f"ODFHIR devkey/{WRONG_CUSTOMER_KEY}",
        f"ODFHIR nodev/{WRONG_CUSTOMER_KEY}",
        f"Bearer {WRONG_CUSTOMER_KEY}",
        "ODFHIR readdev/readcust",  # a read key on a write
    ):
        for method, path, json_body in (
            ("GET", "/api/v1/sheets?PatNum=1", None),
            ("POST", "/api/v1/sheets", {"SheetDefNum": 1, "PatNum": 1}),
        ):
            status, answer, _ = await rest.request(method, path, json=json_body, auth=auth)
            bodies += [status, answer]
    return bodies


async def _grpc_bad_keys(target: str) -> list[Any]:
    details = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = SheetServiceStub(channel)
        for auth in (f"ODFHIR devkey/{WRONG_CUSTOMER_KEY}", "ODFHIR readdev/readcust"):
            try:
                await stub.CreateSheet(
                    pb.CreateSheetRequest(sheet_def_num=1, pat_num=1), metadata=(("authorization", auth),)
                )
            except grpc.aio.AioRpcError as error:
                details.append(error.details())
    return details


async def _tls_handshakes(certs: Certs, tmp_path: Path, renderer: PdfRenderer) -> list[Any]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tls.db'}",
        data_dir=tmp_path,
        api_keys=f"tlsdev/{TLS_CUSTOMER_KEY}",
        grpc_listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        tls_cert_file=certs.server_cert,
        tls_key_file=certs.server_key,
        tls_client_ca_file=certs.ca,
    )
    from service.storage import db

    async def prepare(engine: Any) -> None:
        await db.init_db(engine)

    seen: list[Any] = []
    async with running_service(settings, renderer=renderer, prepare=prepare) as service:
        assert service.gateway is not None
        url = f"https://127.0.0.1:{service.gateway.port}/api/v1/sheetdefs"
        header = {"Authorization": f"ODFHIR tlsdev/{TLS_CUSTOMER_KEY}"}
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=header, ssl=ssl.create_default_context(cafile=certs.ca)) as r:
                seen += [r.status, await r.text()]
            for bad in (ssl.create_default_context(), None):
                try:
                    async with session.get(url, headers=header, ssl=bad if bad else False) as r:
                        seen += [r.status, await r.text()]
                except aiohttp.ClientError as error:
                    seen.append(str(error))
            # Plain HTTP to the TLS port.
            try:
                async with session.get(url.replace("https", "http"), headers=header) as r:
                    seen.append(r.status)
            except aiohttp.ClientError as error:
                seen.append(str(error))
        target = f"127.0.0.1:{service.grpc.port}"
        ca = certs.ca.read_bytes()
        for credentials in (
            grpc.ssl_channel_credentials(root_certificates=ca),  # no client certificate
            grpc.ssl_channel_credentials(
                root_certificates=ca,
                private_key=certs.client_key.read_bytes(),
                certificate_chain=certs.client_cert.read_bytes(),
            ),
        ):
            async with grpc.aio.secure_channel(target, credentials) as channel:
                try:
                    await health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=3
                    )
                    seen.append("health ok")
                except grpc.aio.AioRpcError as error:
                    seen.append(error.details())
        async with grpc.aio.insecure_channel(target) as channel:
            try:
                await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
            except grpc.aio.AioRpcError as error:
                seen.append(error.details())
    assert "health ok" in seen
    return seen


async def test_no_secret_reaches_a_log_line_or_a_response_body(
    tmp_path: Path, renderer: PdfRenderer, all_logs: _Everything, capfd: pytest.CaptureFixture[str]
) -> None:
    certs = make_certs(tmp_path / "certs")
    wrong_password = "Sftp-Wrong-Pa55word-e91b"
    settings = {
        "sftp_allowed_hosts": "127.0.0.1",
        "sftp_connect_timeout": 1.0,
        "sftp_host_keys": "off",
        "events_allowed_hosts": "127.0.0.1,localhost,::1",
    }
    seen: list[Any] = []
    url = f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
    async with (
        running_stack(url, tmp_path, renderer, **settings) as stack,
        asyncssh_peer(tmp_path / "sftp") as sftp,
        SilentServer() as silent_port,
        aiohttp.ClientSession() as session,
    ):
        for mode in ("in-process", "remote"):
            rest = Rest(session, stack.rest_urls[mode])
            status, sheet, _ = await rest.request(
                "POST", "/api/v1/sheets", json={"SheetDefNum": 2, "PatNum": 1}
            )
            assert status == 200
            seen += await _exports(rest, sheet["SheetNum"], sftp.port, silent_port, wrong_password)
            seen += await _bad_keys(rest)
        seen += await _grpc_bad_keys(stack.grpc_target)
        # Malformed HTTP carrying a key.
        port = int(stack.rest_urls["in-process"].rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/v1/sheets HTTP/1.1\r\nAuthorization: ODFHIR devkey/custkey\x01\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.read(), timeout=5)
        writer.close()
        fuzz = await run_schemathesis(
            stack.rest_urls["in-process"], tmp_path / "fuzz", max_examples=5, har=True
        )
        assert fuzz.exit_code == 0, fuzz.output[-3000:]
    seen += await _tls_handshakes(certs, tmp_path / "tls", renderer)
    # Every answer the fuzzer got, headers and bodies.
    responses = [entry["response"] for entry in fuzz.har_entries()]
    assert len(responses) > 100
    captured = capfd.readouterr()
    logs = "\n".join([*all_logs.lines, captured.out, captured.err])
    answers = json.dumps(seen, default=str) + json.dumps(responses)
    assert len(all_logs.lines) > 50, "the run logged nothing: the capture is not working"
    for what, secret in _secrets(certs, wrong_password).items():
        assert secret not in logs, f"{what} appears in the logs"
        assert secret not in answers, f"{what} appears in a response"
    # The valid password was used too (the export that succeeded): it is no secret from
    # the test, but it must not be logged either.
    assert PASSWORD not in logs

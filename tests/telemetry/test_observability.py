"""What an operator reads: request ids, one log line per request, Prometheus metrics, readiness."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from prometheus_client.parser import text_string_to_metric_families

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.rpc.server import SHEET_SERVICE
from tests.support.logs import LogLines, captured_logs
from tests.support.sftp_servers import free_port
from tests.support.stack import ALL_KEY, Rest, Stack

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
AUTH = (("authorization", ALL_KEY),)


async def test_rest_returns_the_callers_request_id_or_a_new_one(rest: Rest) -> None:
    headers = {"X-Request-Id": "caller-id-42", "Authorization": ALL_KEY}
    async with rest.session.get(rest.base + "/api/v1/sheets?PatNum=1", headers=headers) as response:
        assert response.status == 200
        assert response.headers["X-Request-Id"] == "caller-id-42"
    _, _, response = await rest.request("GET", "/api/v1/sheets", params={"PatNum": "1"})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])
    # An id that could forge log fields or headers is replaced, not echoed.
    headers = {"X-Request-Id": "bad id\t{}", "Authorization": ALL_KEY}
    async with rest.session.get(rest.base + "/api/v1/sheets?PatNum=0", headers=headers) as response:
        assert response.status == 400
        assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])
    _, _, response = await rest.request("GET", "/no/such/route")
    assert GENERATED_ID.fullmatch(response.headers["X-Request-Id"])


async def test_ignored_query_parameters_and_body_keys_are_logged_by_name_never_by_value(
    rest: Rest, stack: Stack
) -> None:
    body = {
        "SheetDefNum": stack.demo_sheet_defs[1],
        "PatNum": stack.demo_patients[1],
        "DateTimeSheet": "secret-value-1",
        "Extra": {"Nested": "secret-value-2"},
    }
    headers = {"X-Request-Id": "ignored-names-1", "Authorization": ALL_KEY}
    with captured_logs() as logs:
        url = rest.base + "/api/v1/sheets?Color=secret-value-3"
        async with rest.session.post(url, json=body, headers=headers) as response:
            assert response.status == 200
    (line,) = logs.requests(surface="rest", request_id="ignored-names-1")
    assert line["ignored"] == ["Color", "DateTimeSheet", "Extra"]
    assert "secret-value" not in logs.text


async def test_grpc_returns_the_request_id_in_initial_metadata(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetServiceStub(channel)
        given = (*AUTH, ("x-request-id", "grpc-id-7"))
        call = stub.ListSheets(pb.ListSheetsRequest(pat_num=1), metadata=given)
        await call
        assert ("x-request-id", "grpc-id-7") in tuple(await call.initial_metadata())
        failing = stub.ListSheets(pb.ListSheetsRequest(pat_num=0), metadata=AUTH)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await failing
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        metadata = dict(await failing.initial_metadata())
        assert GENERATED_ID.fullmatch(str(metadata["x-request-id"]))


WATCH = "/grpc.health.v1.Health/Watch"
REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


async def _request_lines(logs: LogLines, **match: Any) -> list[dict[str, Any]]:
    """The access lines matching `match`, once there are some: a stream's is written as
    the server finishes it, after its caller has seen the end."""
    deadline = time.monotonic() + 5
    lines = logs.requests(**match)
    while not lines and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        lines = logs.requests(**match)
    await asyncio.sleep(0.1)  # and a second line, were there one, would be written by now
    return logs.requests(**match)


async def test_streaming_grpc_calls_return_a_request_id_and_log_one_line_at_their_end(stack: Stack) -> None:
    with captured_logs("DEBUG") as logs:
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            # A response stream written with context.write, cancelled by its caller.
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=""), metadata=(("x-request-id", "watch-id-3"),)
            )
            first = await watch.read()
            assert isinstance(first, health_pb2.HealthCheckResponse)
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            assert ("x-request-id", "watch-id-3") in tuple(await watch.initial_metadata())
            watch.cancel()
            (watched,) = await _request_lines(logs, request_id="watch-id-3")
            # Both ways streaming (reflection's async generator), to its end, no id given.
            reflect = channel.stream_stream(
                REFLECTION,
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            answers = [answer async for answer in reflect]
            assert answers[0].list_services_response.service
            rid = str(dict(await reflect.initial_metadata())["x-request-id"])
            assert GENERATED_ID.fullmatch(rid)
            (reflected,) = await _request_lines(logs, request_id=rid)
        async with aiohttp.ClientSession() as session:
            rest = Rest(session, stack.rest_urls["in-process"])
            _, text, _ = await rest.request("GET", "/metrics", auth=None)

    assert (watched["method"], watched["status"], watched["surface"]) == (WATCH, "CANCELLED", "grpc")
    assert (reflected["method"], reflected["status"]) == (REFLECTION, "OK")
    assert watched["level"] == reflected["level"] == "debug"  # asked every few seconds by balancers
    assert watched["duration_ms"] > 0
    samples = _samples(text.decode())
    assert _value(samples, "sheets_grpc_requests_total", method="Watch", code="CANCELLED") == 1
    assert _value(samples, "sheets_grpc_requests_total", method="ServerReflectionInfo", code="OK") == 1
    # A stream lasts as long as its caller likes: no latency.
    assert _value(samples, "sheets_grpc_request_duration_seconds_count", method="Watch") == 0
    assert _value(samples, "sheets_requests_in_flight", surface="grpc") == 0


async def test_remote_gateway_passes_the_request_id_to_grpc(stack: Stack) -> None:
    with captured_logs() as logs:
        async with aiohttp.ClientSession() as session:
            headers = {"X-Request-Id": "through-the-gateway", "Authorization": ALL_KEY}
            url = stack.rest_urls["remote"] + "/api/v1/sheets?PatNum=2"
            async with session.get(url, headers=headers) as response:
                assert response.status == 200
                assert response.headers["X-Request-Id"] == "through-the-gateway"
    (grpc_line,) = logs.requests(surface="grpc", request_id="through-the-gateway")
    assert grpc_line["method"] == "/opendental.sheets.v1.SheetService/ListSheets"
    assert grpc_line["PatNum"] == 2
    (rest_line,) = logs.requests(surface="rest", request_id="through-the-gateway")
    assert rest_line["status"] == 200


async def test_one_log_line_per_request_with_its_fields_and_no_secret(stack: Stack) -> None:
    password = "pw-never-logged-9c1"
    with captured_logs() as logs:
        async with aiohttp.ClientSession() as session:
            rest = Rest(session, stack.rest_urls["in-process"])
            status, sheet, _ = await rest.request(
                "POST", "/api/v1/sheets", json={"SheetDefNum": 1, "PatNum": 3, "InternalNote": "x"}
            )
            assert status == 200
            status, _, _ = await rest.request(
                "POST",
                "/api/v1/sheets/DownloadSftp",
                json={
                    "SheetNum": sheet["SheetNum"],
                    "SftpAddress": f"127.0.0.1:{free_port()}/x.pdf",
                    "SftpUsername": "office",
                    "SftpPassword": password,
                },
            )
            assert status == 400
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            await SheetServiceStub(channel).GetSheet(
                pb.GetSheetRequest(sheet_num=sheet["SheetNum"]), metadata=AUTH
            )
    (create,) = logs.requests(surface="rest", route="/api/v1/sheets", method="POST")
    assert create["status"] == 200
    assert create["PatNum"] == 3
    assert create["developer_key"] == "devkey"
    assert GENERATED_ID.fullmatch(create["request_id"])
    assert create["duration_ms"] > 0
    assert create["level"] == "info"
    assert {"timestamp", "logger"} <= set(create)
    (export,) = logs.requests(surface="rest", route="/api/v1/sheets/DownloadSftp")
    assert (export["status"], export["SheetNum"]) == (400, sheet["SheetNum"])
    (get,) = logs.requests(surface="grpc", method="/opendental.sheets.v1.SheetService/GetSheet")
    assert (get["status"], get["SheetNum"], get["developer_key"]) == ("OK", sheet["SheetNum"], "devkey")
    # Lines logged inside a request carry its id too.
    assert all("request_id" in r for r in logs.records() if r.get("logger", "").startswith("sheets.access"))
    assert password not in logs.text
    assert "custkey" not in logs.text


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items()))


async def test_every_metric_family_is_exported_after_traffic(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        rest = Rest(session, stack.rest_urls["in-process"])
        await rest.request("GET", "/api/v1/sheets", params={"PatNum": "0"})
        await rest.request("GET", "/api/v1/sheets", params={"PatNum": "1"})
        _, sheet, _ = await rest.request("POST", "/api/v1/sheets", json={"SheetDefNum": 1, "PatNum": 1})
        status, _, _ = await rest.request("GET", f"/api/v1/sheets/{sheet['SheetNum']}/pdf")
        assert status == 200
        await rest.request(
            "POST",
            "/api/v1/sheets/DownloadSftp",
            json={
                "SheetNum": sheet["SheetNum"],
                "SftpAddress": f"127.0.0.1:{free_port()}/x.pdf",
                "SftpUsername": "office",
                "SftpPassword": "pw",
            },
        )
        async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
            await SheetServiceStub(channel).ListSheets(pb.ListSheetsRequest(pat_num=1), metadata=AUTH)
        status, text, response = await rest.request("GET", "/metrics", auth=None)
    assert status == 200
    assert response.content_type == "text/plain"
    samples = _samples(text.decode())
    route = {"method": "GET", "route": "/api/v1/sheets"}
    assert _value(samples, "sheets_http_requests_total", status="400", **route) == 1
    assert _value(samples, "sheets_http_requests_total", status="200", **route) == 1
    assert _value(samples, "sheets_http_request_duration_seconds_count", **route) == 2
    assert _value(samples, "sheets_http_request_duration_seconds_bucket", le="+Inf", **route) == 2
    assert _value(samples, "sheets_api_calls_total", method="ListSheets", code="INVALID_ARGUMENT") == 1
    assert _value(samples, "sheets_api_calls_total", method="ListSheets", code="OK") == 2
    assert _value(samples, "sheets_api_call_duration_seconds_count", method="ListSheets") == 3
    assert _value(samples, "sheets_grpc_requests_total", method="ListSheets", code="OK") == 1
    assert _value(samples, "sheets_grpc_request_duration_seconds_count", method="ListSheets") == 1
    assert _value(samples, "sheets_exports_total", outcome="invalid_argument") == 1
    assert _value(samples, "sheets_render_duration_seconds_count") == 2
    assert _value(samples, "sheets_render_queue_depth") == 0
    # The scrape itself is the one REST request in flight.
    assert _value(samples, "sheets_requests_in_flight", surface="rest") == 1
    assert _value(samples, "sheets_requests_in_flight", surface="grpc") == 0
    assert _value(samples, "sheets_db_pool_size") >= 1
    assert "sheets_db_pool_checked_out" in samples
    # SQLite's reads run one by one on the event loop: none waits, none shares.
    assert _value(samples, "sheets_db_reads_shared_total") == 0
    assert "sheets_pdf_replaced_characters_total" in samples
    assert "sheets_pdf_missing_images_total" in samples
    assert _value(samples, "process_resident_memory_bytes") > 0
    assert "python_gc_collections_total" in samples
    assert "python_info" in samples


async def test_remote_gateway_exports_its_own_http_and_process_metrics(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        rest = Rest(session, stack.rest_urls["remote"])
        await rest.request("GET", "/api/v1/sheets", params={"PatNum": "1"})
        _, text, _ = await rest.request("GET", "/metrics", auth=None)
    samples = _samples(text.decode())
    assert _value(samples, "sheets_http_requests_total", route="/api/v1/sheets", status="200") == 1
    assert _value(samples, "process_resident_memory_bytes") > 0


async def test_readyz_and_healthz_answer_on_both_gateways(rest: Rest, stack: Stack) -> None:
    assert (await rest.request("GET", "/healthz", auth=None))[:2] == (200, "ok")
    assert (await rest.request("GET", "/readyz", auth=None))[:2] == (200, "ready")
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SHEET_SERVICE):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

"""The log pipeline: every stdlib logger (aiohttp's, grpc's) formatted like ours, secrets masked."""

from __future__ import annotations

import io
import json
import logging

from telemetry.logs import configure_logging, get_logger
from telemetry.request_context import end_request, start_request
from tests.support.logs import captured_logs


def test_aiohttp_and_grpc_loggers_write_json_lines_with_the_request_id() -> None:
    with captured_logs() as logs:
        start_request("rid-1")
        try:
            logging.getLogger("aiohttp.server").error("Error handling request from %s", "127.0.0.1")
            logging.getLogger("grpc._cython.cygrpc").warning("channel %d closed", 3)
        finally:
            end_request()
        logging.getLogger("asyncio").warning("outside any request")
    first, second, third = logs.records()
    assert first["event"] == "Error handling request from 127.0.0.1"
    assert (first["logger"], first["level"], first["request_id"]) == ("aiohttp.server", "error", "rid-1")
    assert (second["logger"], second["event"], second["request_id"]) == (
        "grpc._cython.cygrpc",
        "channel 3 closed",
        "rid-1",
    )
    assert "request_id" not in third


def test_secret_fields_are_masked_whoever_logs_them() -> None:
    with captured_logs() as logs:
        get_logger("sheets.test").info("connect", sftp_password="hunter2", authorization="ODFHIR a/b")
        logging.getLogger("other").info("x", extra={"password": "hunter3"})
    assert "hunter2" not in logs.text
    assert "hunter3" not in logs.text
    assert "a/b" not in logs.text
    assert logs.records()[0]["sftp_password"] == "***"


def test_console_format_is_key_value() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging("console", stream=stream, cache=False)
        get_logger("sheets.access").info("request", surface="rest", status=200, route="/api/v1/sheets")
    finally:
        configure_logging("json", cache=False)
        root.handlers, root.level = handlers, level
    line = stream.getvalue().strip()
    assert line.split()[1:4] == ["level=info", "event=request", "logger=sheets.access"]
    assert "status=200" in line
    assert "route=/api/v1/sheets" in line
    try:
        json.loads(line)
    except ValueError:
        pass
    else:
        raise AssertionError("console lines are not JSON")

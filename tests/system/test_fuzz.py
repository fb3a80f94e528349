"""Schemathesis against the running service, from its own OpenAPI document:
examples, coverage, fuzzing and stateful phases with every check, a fixed seed
and a budget that fits CI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from service.render.pool import PdfRenderer
from tests.support import ROOT
from tests.support.fuzz_hooks import valid_requests_refused_only_by_business_rules
from tests.support.protos import rpcs_in_the_proto
from tests.support.stack import ALL_KEY, running_stack

pytestmark = pytest.mark.slow
SEED = 20261201
ST = Path(sys.executable).parent / "st"


@dataclass
class FuzzRun:
    exit_code: int
    output: str
    report: dict[str, Any]
    folder: Path

    @property
    def cases(self) -> int:
        """Test cases generated and sent, from the summary ("678 generated, ...")."""
        found = re.search(r"Test cases:\s+([0-9,]+) generated", self.output)
        return int(found.group(1).replace(",", "")) if found else 0

    def har_entries(self) -> list[dict[str, Any]]:
        """Every request and response of the run (with `har=True`)."""
        entries: list[dict[str, Any]] = []
        for path in sorted(self.folder.glob("har-*.json")):
            entries += json.loads(path.read_text())["log"]["entries"]
        return entries


async def run_schemathesis(base_url: str, folder: Path, *, max_examples: int, har: bool = False) -> FuzzRun:
    """Run `st run` against `base_url` and return its exit code, output and JSON report."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    args = [
        str(ST),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--header",
        f"Authorization: {ALL_KEY}",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "json,har" if har else "json",
        "--report-dir",
        str(folder),
    ]
    root = str(ROOT)
    env = os.environ | {"SCHEMATHESIS_HOOKS": "tests.support.fuzz_hooks", "PYTHONPATH": root}
    # Run in the report folder: schemathesis keeps a cache in its working directory.
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=folder
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    return FuzzRun(process.returncode or 0, out.decode(errors="replace"), _report(folder), folder)


def _report(folder: Path) -> dict[str, Any]:
    reports = sorted(folder.glob("json-*.json"))
    return json.loads(reports[-1].read_text()) if reports else {}


@pytest.mark.parametrize("mode", ["in-process", "remote"])
async def test_schemathesis_finds_no_server_error_no_schema_violation_and_no_refused_valid_request(
    tmp_path: Path, renderer: PdfRenderer, mode: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
    # Exports and events may only reach loopback, where no SFTP server or receiver listens:
    # the fuzzer never makes the service connect anywhere else.
    settings = {
        "sftp_allowed_hosts": "127.0.0.1",
        "sftp_connect_timeout": 2.0,
        "request_timeout": 20.0,
        "events_allowed_hosts": "127.0.0.1,localhost,::1",
    }
    async with running_stack(url, tmp_path, renderer, **settings) as stack:
        run = await run_schemathesis(stack.rest_urls[mode], tmp_path / "report", max_examples=15)
    assert run.exit_code == 0, run.output[-6000:]
    assert run.report["complete"] is True
    assert run.report["operations"]["tested"] == run.report["operations"]["total"] == len(rpcs_in_the_proto())
    phases = {name: phase["status"] for name, phase in run.report["phases"].items()}
    assert phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "success")
    assert run.report["test_cases"]["with_failures"] == 0
    assert run.report["errors"] == []
    assert run.cases > 500


def _case(mode: str, operation_id: str) -> Any:
    generation = SimpleNamespace(mode=SimpleNamespace(is_positive=mode == "positive"))
    definition = SimpleNamespace(raw={"operationId": operation_id})
    return SimpleNamespace(
        meta=SimpleNamespace(generation=generation), operation=SimpleNamespace(definition=definition)
    )


class _Response:
    def __init__(self, status: int, body: object) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)

    def json(self) -> object:
        return self._body


def test_the_fuzz_check_allows_only_the_business_rules_to_refuse_a_valid_request() -> None:
    check = valid_requests_refused_only_by_business_rules
    refused = _Response(400, "Offset is invalid. It must be 0 or more.")
    with pytest.raises(AssertionError, match="schema-valid request was refused"):
        check(None, refused, _case("positive", "ListSheets"))
    # Invalid data may be refused; an export depends on its SFTP peer.
    assert check(None, refused, _case("negative", "ListSheets")) is None
    assert check(None, refused, _case("positive", "ExportSheetSftp")) is None
    business = _Response(400, "Only OutputText, InputField and CheckBox fields can be updated.")
    assert check(None, business, _case("positive", "UpdateSheetField")) is None
    sheet_type = "SheetDef of SheetType 'Rx' is not supported. Only Consent and ExamSheet are supported."
    assert check(None, _Response(400, sheet_type), _case("positive", "CreateSheet")) is None

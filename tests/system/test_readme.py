"""Every `curl` and `grpcurl` example in the README runs, in order, against a live service."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa

from service.storage import models
from tests.support import ROOT
from tests.support.requires import unavailable
from tests.support.sftp_servers import PASSWORD, USERNAME, asyncssh_peer, contents
from tests.support.stack import Stack

README = ROOT / "README.md"
BIN = str(Path(sys.executable).parent)


def readme_commands() -> list[str]:
    """The commands in the README's ```sh blocks that call curl or grpcurl."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    return [
        line
        for block in blocks
        for line in block.splitlines()
        if line.split(" ", 1)[0] in ("curl", "grpcurl")
    ]


def test_readme_has_curl_and_grpcurl_examples_for_each_route() -> None:
    commands = " ".join(readme_commands())
    for route in (
        "/sheets?",
        '/sheets"',
        "/sheets/1",
        "/sheetfields?",
        "/sheetfields/1",
        "/sheetdefs?",
        "/sheetdefs/2",
        "/sheetfielddefs?",
        "/sheetfielddefs/12",
        "-X PUT",
        "/pdf",
        "/DownloadSftp",
    ):
        assert route in commands, route
    for rpc in (
        "ListSheets",
        "GetSheet",
        "CreateSheet",
        "ListSheetFields",
        "GetSheetField",
        "UpdateSheetField",
        "ListSheetDefs",
        "GetSheetDef",
        "ListSheetFieldDefs",
        "GetSheetFieldDef",
        "RenderSheetPdf",
        "ExportSheetSftp",
    ):
        assert f"SheetService/{rpc}" in commands, rpc


async def test_every_readme_example_succeeds(stack: Stack, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        unavailable("curl is not installed")
    http_port = stack.rest_urls["in-process"].rsplit(":", 1)[1]
    env = os.environ | {"PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    async with asyncssh_peer(tmp_path / "sftp") as sftp:
        swaps = {
            "127.0.0.1:30222": f"127.0.0.1:{http_port}",
            "127.0.0.1:50051": stack.grpc_target,
            "127.0.0.1:2222": f"127.0.0.1:{sftp.port}",
            '"office"': f'"{USERNAME}"',
            '"s3cret"': f'"{PASSWORD}"',
        }
        for command in readme_commands():
            out = await _run(command, swaps, env, tmp_path)
            if "PatNum=0" in command:
                assert out == b'"PatNum is invalid."'
            elif "problem:Gout" in command:
                assert out == b"\"SheetFields 'problem:Gout': no field of this SheetDef has this FieldName.\""
            elif "DateTimeFormatString=dd/MM/yyyy" in command:
                (sheet,) = json.loads(out)
                assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d [-+]\d\d:\d\d", sheet["DateTimeSheet"])
            elif '"SheetFields"' in command:
                created = json.loads(out)
                assert created["SheetNum"] == 3
                assert re.fullmatch(r"\d\d/\d\d/\d{4}", created["DateTimeSheet"])
            elif "sheetfields?SheetNum=3&Limit=1000" in command:
                listed = {f["FieldName"]: f["FieldValue"] for f in json.loads(out)}
                assert listed["ICEName"] == "Jane Smith"
                # Which box is which is not in the API's SheetField: the table says.
                field = models.SHEETFIELD.c
                async with stack.engine.connect() as conn:
                    boxes = await conn.execute(
                        sa.select(field.RadioButtonValue, field.FieldValue).where(
                            field.SheetNum == 3, field.FieldName == "problem:Asthma"
                        )
                    )
                    assert {row[0]: row[1] for row in boxes} == {"Y": "X", "N": ""}
            elif "sheetfields?SheetNum=2&Offset=78" in command:
                # The README's pre-filled Medical History, as its prose describes it.
                filled = {f["FieldName"]: (f["FieldType"], f["FieldValue"]) for f in json.loads(out)}
                assert filled["inputMed1"] == ("OutputText", "Lisinopril")
                assert filled["inputMed2"] == ("OutputText", "Lipitor (Atorvastatin)")
                assert filled["inputMed3"] == ("OutputText", "Fish oil")
                assert filled["ICEName"] == ("InputField", "Mary Smith")
                assert filled["ICEPhone"] == ("InputField", "(541) 555-0177")
            elif "sheetfields?SheetNum=1&Offset=8" in command:
                # The demo letter's history tokens, as the README describes them.
                (letter,) = json.loads(out)
                text = letter["FieldValue"]
                assert re.search(r"Your last visit was on \d\d/\d\d/\d{4} \(exam \d\d/\d\d/\d{4},", text), (
                    text
                )
                assert re.search(r"next appointment is on \d\d/\d\d/\d{4}  10:30 AM\.", text), text
                assert "(every 6m)." in text
                assert "plan pays up to $1,500.00 a year: $175.00 used, $1,325.00 left." in text
                assert text.endswith("D2740, #30- CrnPorc, $1,250.00"), text
            elif "WatchSheets" in command:
                # A stream until the deadline: the starting cursor, then the patient's sheets replayed.
                assert b'"Cursor": "20000101000000.0"' in out
                assert b'"SheetNum": "1"' in out or b'"SheetNum": 1' in out, out
            elif command.startswith("curl") and " -o " not in command:
                json.loads(out)
    assert (tmp_path / "sheet-1.pdf").read_bytes().startswith(b"%PDF-")
    assert sorted(contents(sftp.root)) == ["Sheets/2026/letter.pdf", "Sheets/sheet.pdf"]


async def _run(command: str, swaps: dict[str, str], env: dict[str, str], cwd: Path) -> bytes:
    """Run one README command with the test's ports and credentials; it must succeed."""
    line = command
    for old, new in swaps.items():
        line = line.replace(old, new)
    args = shlex.split(line)
    if args[0] == "curl" and "PatNum=0" not in line and "problem:Gout" not in line:
        args[1:1] = ["--fail-with-body", "-S"]
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    # A stream's example ends at its -max-time deadline: grpcurl exits 64 + DEADLINE_EXCEEDED (4).
    expected = 68 if "-max-time" in args else 0
    assert process.returncode == expected, (command, out, err)
    return out

"""The `sheets` command: init-db, import-sheetdef, seed-demo."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.storage import db, models
from sheets.cli import main
from tests.support.requires import SHEETDEF_FILES, open_dental_files


def _counts(url: str) -> dict[str, int]:
    return asyncio.run(_count_rows(url))


async def _count_rows(url: str) -> dict[str, int]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                t.name: int((await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one())
                for t in (models.PATIENT, models.SHEETDEF, models.SHEETFIELDDEF)
            }
    finally:
        await engine.dispose()


def test_init_db_twice_reports_nothing_to_do(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", sqlite_url, "init-db"]) == 0
    assert "created tables: patient, sheetdef, sheetfielddef, sheet, sheetfield" in capsys.readouterr().out
    assert main(["--database-url", sqlite_url, "init-db"]) == 0
    assert "nothing to do" in capsys.readouterr().out


@open_dental_files
def test_import_sheetdef_prints_each_new_sheetdefnum(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--database-url", sqlite_url, "init-db"])
    assert main(["--database-url", sqlite_url, "import-sheetdef", *map(str, SHEETDEF_FILES)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-len(SHEETDEF_FILES) :]
    assert [line.split("SheetDefNum ")[1].split()[0] for line in lines] == [str(n) for n in range(1, 8)]
    assert "MedicalHist.xml: SheetDefNum 5 (Medical History, 249 fields)" in lines[4]
    assert _counts(sqlite_url) == {"patient": 0, "sheetdef": 7, "sheetfielddef": 530}


@open_dental_files
def test_import_with_one_bad_file_writes_nothing(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--database-url", sqlite_url, "init-db"])
    bad = tmp_path / "bad.xml"
    bad.write_text("<SheetDef><Description>Broken</Description>")
    assert main(["--database-url", sqlite_url, "import-sheetdef", str(SHEETDEF_FILES[0]), str(bad)]) == 1
    error = capsys.readouterr().err
    assert "bad.xml: is not well-formed XML" in error
    assert "Nothing was imported." in error
    assert _counts(sqlite_url) == {"patient": 0, "sheetdef": 0, "sheetfielddef": 0}


def test_seed_demo_is_idempotent(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", sqlite_url, "seed-demo"]) == 0
    first = _counts(sqlite_url)
    assert first["patient"] == 5
    assert first["sheetdef"] == 5
    assert main(["--database-url", sqlite_url, "seed-demo"]) == 0
    assert "none (already there)" in capsys.readouterr().out
    assert _counts(sqlite_url) == first


def test_serve_refuses_a_public_listener_without_keys(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", sqlite_url, "serve", "--grpc", "0.0.0.0:0", "--no-gateway"]) == 1
    assert "SHEETS_API_KEYS must be set to listen on 0.0.0.0:0" in capsys.readouterr().err

"""How a render reaches its worker: on SQLite the worker reads the sheet itself
(the event loop never loads its rows); elsewhere it gets the driver's rows;
workers are warmed up for the definitions in use."""

from __future__ import annotations

import io
import logging
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from google.api import httpbody_pb2
from pypdf import PdfReader

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.api.store import SheetStore
from service.api.worker_reader import SourceUnavailable, WorkerReader
from service.config.settings import Settings
from service.contract.errors import NotFound, Unavailable
from service.filling.create import create_sheet
from service.render.pool import PdfRenderer, SheetRows, WorkerSources
from service.storage import db
from sheets.practice import practice_from
from tests.support.api import sheets_api
from tests.support.stack import Stack


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def _letter(stack: Stack) -> int:
    return await create_sheet(
        stack.engine,
        sheet_def_num=stack.demo_sheet_defs[1],
        pat_num=stack.demo_patients[1],
        internal_note="",
        practice=practice_from(Settings()),
    )


async def _forbid_loop_reads(store: SheetStore, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no(**_: Any) -> Any:
        raise AssertionError("the event loop read the sheet's rows")

    monkeypatch.setattr(store, "load_sheet", no)
    monkeypatch.setattr(store, "load_snapshot", no)


async def test_on_sqlite_the_worker_reads_the_sheet_and_the_loop_never_does(
    stack: Stack, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet_num = await _letter(stack)
    async with SheetStore(stack.engine) as store:
        assert isinstance(store.worker_reader, WorkerReader)
        await _forbid_loop_reads(store, monkeypatch)
        reply = await sheets_api(store, renderer).call(
            "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=sheet_num), None
        )
    assert isinstance(reply, httpbody_pb2.HttpBody)
    assert reply.data.startswith(b"%PDF-")


async def test_a_sheet_the_worker_does_not_find_is_not_found(stack: Stack, renderer: PdfRenderer) -> None:
    async with SheetStore(stack.engine) as store:
        with pytest.raises(NotFound):
            await sheets_api(store, renderer).call(
                "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=4242), None
            )


async def test_without_a_worker_reader_the_worker_gets_the_rows_as_read(
    stack: Stack, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet_num = await _letter(stack)
    async with SheetStore(stack.engine) as store:
        # What MariaDB and PostgreSQL stores do: the loop reads, the worker builds the mappings.
        monkeypatch.setattr(store, "worker_reader", None)
        snapshot = await store.load_snapshot(sheet_num=sheet_num)
        assert all(type(row) is tuple for row in (snapshot.sheet, *snapshot.fields))
        from_snapshot = await renderer.render_snapshot(snapshot)
        from_rows = await renderer.render(*(await store.load_sheet(sheet_num=sheet_num)))
        reply = await sheets_api(store, renderer).call(
            "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=sheet_num), None
        )
    assert isinstance(reply, httpbody_pb2.HttpBody)
    assert _text(from_snapshot) == _text(from_rows) == _text(reply.data)
    assert "Dear Dr. Smith:" in _text(reply.data)


async def test_a_database_the_worker_cannot_read_is_unavailable(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}")
    try:
        await db.init_db(engine)
        async with SheetStore(engine) as store:
            # Gone from under the service (a moved volume): the worker's read-only open fails.
            for name in ("sheets.db", "sheets.db-wal", "sheets.db-shm"):
                (tmp_path / name).unlink(missing_ok=True)
            with pytest.raises(Unavailable):
                await sheets_api(store, renderer).call(
                    "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=1), None
                )
    finally:
        await engine.dispose()


async def test_a_worker_reader_of_a_file_that_is_no_database_raises_source_unavailable(
    tmp_path: Path, stack: Stack
) -> None:
    async with SheetStore(stack.engine) as store:
        reader = store.worker_reader
    assert reader is not None
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"x" * 4096)
    other = WorkerReader(str(garbage), reader.sheet, reader.fields, reader.recent)
    with closing(other.open()) as opened, pytest.raises(SourceUnavailable):
        opened.load(1)


class _Opened:
    def __init__(self, name: str, closed: list[str]) -> None:
        self.name, self._closed = name, closed

    def load(self, sheet_num: int) -> SheetRows | None:
        return None

    def recent_sheets(self, limit: int) -> list[int]:
        return []

    def close(self) -> None:
        self._closed.append(self.name)


def test_a_worker_opens_each_source_once_and_closes_the_least_recently_used_beyond_its_limit() -> None:
    opened: list[str] = []
    closed: list[str] = []

    class Source(str):
        def open(self) -> _Opened:
            opened.append(self)
            return _Opened(self, closed)

    sources = WorkerSources(limit=2)
    first = sources.reader(Source("a"))
    assert sources.reader(Source("a")) is first  # equal sources are one
    sources.reader(Source("b"))
    sources.reader(Source("a"))
    sources.reader(Source("c"))  # "b" was used least recently
    assert (opened, closed) == (["a", "b", "c"], ["b"])


async def test_the_stores_readers_of_one_database_are_one_source_to_a_worker(stack: Stack) -> None:
    async with SheetStore(stack.engine) as one, SheetStore(stack.engine) as other:
        assert one.worker_reader is not None
        assert one.worker_reader is not other.worker_reader
        assert one.worker_reader == other.worker_reader
        assert hash(one.worker_reader) == hash(other.worker_reader)


async def test_warm_up_starts_every_worker_on_the_definitions_in_use(stack: Stack) -> None:
    await _letter(stack)
    async with SheetStore(stack.engine) as store, PdfRenderer(workers=2) as renderer:
        assert store.worker_reader is not None
        with closing(store.worker_reader.open()) as opened:
            assert opened.recent_sheets(16)  # the letter's definition is in use
        assert await renderer.warm(store.worker_reader) == 2


def test_the_serving_process_never_loads_the_drawing_code() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, sheets.stack, service.api, service.render, service.rpc\n"
        "drawing = ('service.render.draw', 'xhtml2pdf', 'reportlab.pdfgen')\n"
        "print(sorted(m for m in drawing if m in sys.modules))"
    )
    argv = [sys.executable, "-c", probe]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


async def test_without_a_worker_reader_workers_are_warmed_with_the_sheets_handed_over(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    letter = await _letter(stack)
    async with SheetStore(stack.engine) as store, PdfRenderer(workers=2) as renderer:
        monkeypatch.setattr(store, "worker_reader", None)  # as on MariaDB and PostgreSQL
        snapshots = await store.recent_snapshots(limit=16)
        assert [s.sheet[0] for s in snapshots] == [letter]
        caplog.set_level(logging.INFO, logger="service.api")
        await sheets_api(store, renderer).warm_renderer()
    assert "2 render worker(s) warmed up" in caplog.text

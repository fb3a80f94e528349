"""The service API itself: its method table comes from the service descriptor,
and failures are translated once, by where they come from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.admin.demo import SeedResult, seed_demo
from service.api.methods import SheetsApi
from service.api.store import SheetStore
from service.config.settings import Settings
from service.contract.errors import Internal, Unavailable
from service.render.pool import PdfRenderer
from service.storage import db
from sheets.stack import running_service
from tests.support.api import sheets_api
from tests.support.stack import ALL_KEY, Stack


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SheetStore]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}")
    try:
        async with SheetStore(engine) as opened:
            yield opened
    finally:
        await engine.dispose()


def test_an_api_missing_a_method_of_the_service_does_not_start(
    store: SheetStore, renderer: PdfRenderer
) -> None:
    class Incomplete(SheetsApi):
        get_sheet_def = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match=r"opendental\.sheets\.v1\.SheetService\.GetSheetDef"):
        sheets_api(store, renderer, Incomplete)


async def test_a_render_pool_that_cannot_start_is_internal_not_the_database(
    stack: Stack, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def cannot_spawn(*args: Any) -> bytes:
        raise OSError(11, "Resource temporarily unavailable")

    for method in ("render", "render_snapshot", "render_stored"):
        monkeypatch.setattr(renderer, method, cannot_spawn)
    async with SheetStore(stack.engine) as store:
        api = sheets_api(store, renderer)
        created = await api.call(
            "CreateSheet",
            pb.CreateSheetRequest(sheet_def_num=stack.demo_sheet_defs[0], pat_num=stack.demo_patients[0]),
            ALL_KEY,
        )
        assert isinstance(created, pb.CreateSheetResponse)
        with pytest.raises(Internal) as caught:
            await api.call(
                "RenderSheetPdf", pb.RenderSheetPdfRequest(sheet_num=created.sheet.sheet_num), None
            )
    assert caught.value.message == "Internal error."


async def test_a_database_that_cannot_be_opened_is_unavailable(tmp_path: Path, renderer: PdfRenderer) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing-folder' / 'sheets.db'}")
    try:
        async with SheetStore(engine) as store:
            with pytest.raises(Unavailable) as caught:
                await sheets_api(store, renderer).call("ListSheetDefs", pb.ListSheetDefsRequest(), None)
    finally:
        await engine.dispose()
    assert caught.value.message == "The database is unavailable. Try again later."


async def _create_sheets(api: SheetsApi, stack: Stack, count: int) -> int:
    pat_num = stack.demo_patients[0]
    request = pb.CreateSheetRequest(sheet_def_num=stack.demo_sheet_defs[0], pat_num=pat_num)
    for _ in range(count):
        await api.call("CreateSheet", request, ALL_KEY)
    return pat_num


async def test_the_sheets_an_api_keeps_for_lists_are_its_own_as_many_as_its_settings_say(
    stack: Stack, renderer: PdfRenderer
) -> None:
    async with SheetStore(stack.engine) as store:
        small = sheets_api(store, renderer, settings=Settings(list_cache_size=2))
        other = sheets_api(store, renderer)
        pat_num = await _create_sheets(small, stack, 3)
        listed = await small.call("ListSheets", pb.ListSheetsRequest(pat_num=pat_num), None)
        assert isinstance(listed, pb.ListSheetsResponse)
        listed_count = len(listed.sheets)
        assert listed_count >= 3
        assert small.listed_sheets.kept() == 2
        assert other.listed_sheets.kept() == 0
        await other.call("ListSheets", pb.ListSheetsRequest(pat_num=pat_num), None)
        assert other.listed_sheets.kept() == listed_count
        small.close()
        assert small.listed_sheets.kept() == 0
        assert other.listed_sheets.kept() == listed_count


async def test_the_service_drops_the_sheets_its_api_keeps_when_it_stops(
    tmp_path: Path, renderer: PdfRenderer
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}",
        data_dir=tmp_path,
        grpc_listen="127.0.0.1:0",
        gateway=False,
        events=False,
        render_warmup=False,
    )
    seeded: list[SeedResult] = []

    async def prepare(engine: AsyncEngine) -> None:
        await db.init_db(engine)
        seeded.append(await seed_demo(engine))

    async with running_service(settings, renderer=renderer, prepare=prepare) as running:
        api = running.api
        demo = seeded[0]
        request = pb.CreateSheetRequest(sheet_def_num=demo.sheet_defs[0], pat_num=demo.patients[0])
        created = await api.call("CreateSheet", request, None)
        assert isinstance(created, pb.CreateSheetResponse)
        await api.call("ListSheets", pb.ListSheetsRequest(pat_num=created.sheet.pat_num), None)
        assert api.listed_sheets.kept() == 1
    assert api.listed_sheets.kept() == 0

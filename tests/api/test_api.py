"""The service API itself: its method table comes from the service descriptor,
and failures are translated once, by where they come from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.api.methods import SheetsApi
from service.api.store import SheetStore
from service.config.settings import Settings
from service.contract.auth import Authenticator
from service.contract.errors import Internal, Unavailable
from service.render.pool import PdfRenderer
from service.storage import db
from sheets.practice import practice_from
from tests.support.stack import ALL_KEY, Stack


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SheetStore]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}")
    try:
        async with SheetStore(engine) as opened:
            yield opened
    finally:
        await engine.dispose()


def _api(store: SheetStore, renderer: PdfRenderer, kind: type[SheetsApi] = SheetsApi) -> SheetsApi:
    settings = Settings()
    return kind(
        store=store,
        settings=settings,
        authenticator=Authenticator(()),
        renderer=renderer,
        practice=practice_from(settings),
    )


def test_an_api_missing_a_method_of_the_service_does_not_start(
    store: SheetStore, renderer: PdfRenderer
) -> None:
    class Incomplete(SheetsApi):
        get_sheet_def = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match=r"opendental\.sheets\.v1\.SheetService\.GetSheetDef"):
        _api(store, renderer, Incomplete)


async def test_a_render_pool_that_cannot_start_is_internal_not_the_database(
    stack: Stack, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def cannot_spawn(*args: Any) -> bytes:
        raise OSError(11, "Resource temporarily unavailable")

    for method in ("render", "render_snapshot", "render_stored"):
        monkeypatch.setattr(renderer, method, cannot_spawn)
    async with SheetStore(stack.engine) as store:
        api = _api(store, renderer)
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
                await _api(store, renderer).call("ListSheetDefs", pb.ListSheetDefsRequest(), None)
    finally:
        await engine.dispose()
    assert caught.value.message == "The database is unavailable. Try again later."

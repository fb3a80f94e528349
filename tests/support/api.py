"""A service API over a test's store and renderer, with the practice its settings name and no keys."""

from __future__ import annotations

from service.api.methods import SheetsApi
from service.api.store import SheetStore
from service.config.settings import Settings
from service.contract.auth import Authenticator
from service.render.pool import PdfRenderer
from sheets.practice import practice_from


def sheets_api(
    store: SheetStore,
    renderer: PdfRenderer,
    kind: type[SheetsApi] = SheetsApi,
    settings: Settings | None = None,
) -> SheetsApi:
    settings = settings or Settings()
    return kind(
        store=store,
        settings=settings,
        authenticator=Authenticator(()),
        renderer=renderer,
        practice=practice_from(settings),
    )

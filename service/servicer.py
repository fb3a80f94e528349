"""SheetService: the gRPC methods, on top of the domain and storage."""

from __future__ import annotations

from opendental.sheets.v1 import sheet_service_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from service.settings import Settings


class SheetServicer(sheet_service_pb2_grpc.SheetServiceServicer):
    """Open Dental's Sheets API over one database."""

    def __init__(self, *, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings

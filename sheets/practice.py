"""The practice as the `SHEETS_PRACTICE_*` settings describe it, for filling new sheets."""

from __future__ import annotations

from service.config import Settings
from service.filling import Practice


def practice_from(settings: Settings) -> Practice:
    """The practice's name, address and phone from the settings (Open Dental's `preference` rows,
    where a database has them, win over these when a sheet is filled)."""
    return Practice(
        title=settings.practice_title,
        address=settings.practice_address,
        address2=settings.practice_address2,
        city=settings.practice_city,
        state=settings.practice_st,
        zip=settings.practice_zip,
        phone=settings.practice_phone,
    )

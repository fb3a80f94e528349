"""The composition root builds the practice filling uses from the `SHEETS_PRACTICE_*` settings."""

from __future__ import annotations

from service.config.settings import Settings
from service.filling import Practice
from sheets.practice import practice_from


def test_practice_comes_from_the_practice_settings() -> None:
    settings = Settings(
        practice_title="Title",
        practice_address="Address",
        practice_address2="Address2",
        practice_city="City",
        practice_st="ST",
        practice_zip="Zip",
        practice_phone="Phone",
    )
    assert practice_from(settings) == Practice("Title", "Address", "Address2", "City", "ST", "Zip", "Phone")

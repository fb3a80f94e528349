"""The README's settings table is the one generated from the Settings class."""

from __future__ import annotations

from service.config.settings import Settings
from sheets.config_report import settings_table
from tests.support import ROOT
from tools.readme_section import with_section

README = ROOT / "README.md"


def test_the_readme_settings_table_is_in_sync_with_the_settings_class() -> None:
    text = README.read_text()
    assert with_section(text, "settings-table", settings_table()) == text, (
        "README.md's settings table is stale: run `make config-table`"
    )


def test_every_setting_is_in_the_table_with_a_meaning() -> None:
    table = settings_table()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} needs a docstring: it is the README's explanation"
        assert f"| `SHEETS_{name.upper()}` |" in table


def test_a_stale_table_is_detected() -> None:
    text = README.read_text().replace("| `SHEETS_PAGE_LIMIT` |", "| `SHEETS_PAGE_LIMITS` |")
    assert with_section(text, "settings-table", settings_table()) != text

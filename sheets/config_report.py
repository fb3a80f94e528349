"""What `sheets config` shows an operator, and the README's table of settings.

Both come from the `Settings` class: a setting added there shows up in both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from service.contract import ApiKey
from service.storage import fill_tables, models

# The tables the service writes (the sheet tables), and those it only ever reads: the patient
# and, when the database has them, the tables a sheet is filled from.
WRITTEN_TABLES = tuple(
    t.name for t in (models.SHEET, models.SHEETFIELD, models.SHEETDEF, models.SHEETFIELDDEF)
)
READ_TABLES = ("patient", *sorted(t.name for t in fill_tables.TABLES))
MASK = "***"


@dataclass(frozen=True, slots=True)
class Line:
    variable: str
    value: str
    source: str


def env_name(field: str) -> str:
    return f"SHEETS_{field.upper()}"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ",".join(_shown(v) for v in value) if value else "unset"
    if isinstance(value, Path):
        return str(value)
    return "" if value is None else str(value)


def masked(field: str, value: Any) -> str:
    """A setting's value as `sheets config` prints it: no customer key, no password."""
    if field == "api_keys":
        keys: Sequence[ApiKey] = value
        return (
            ", ".join(f"{k.developer_key}/{MASK} ({k.permission.value})" for k in keys) or "(unset: auth off)"
        )
    if field == "database_url" and value:
        return make_url(str(value)).render_as_string(hide_password=True)
    if value is None or value == ():
        return "(unset)"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value.value) if isinstance(value, Enum) else str(value)


def effective_settings(
    settings: Settings, *, from_command_line: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> list[Line]:
    """Every setting, its (masked) value and where it came from."""
    environ = os.environ if environ is None else environ
    lines = []
    for name in Settings.model_fields:
        variable = env_name(name)
        if name in from_command_line:
            source = "command line"
        elif variable in environ:
            source = "environment"
        else:
            source = "default"
        lines.append(Line(variable, masked(name, getattr(settings, name)), source))
    return lines


async def tables_found(engine: AsyncEngine) -> tuple[list[str], list[str]]:
    """Open Dental's tables this service uses that the database has, and those it lacks."""
    async with engine.connect() as conn:
        names = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    present = [t for t in (*WRITTEN_TABLES, *READ_TABLES) if t in names]
    missing = [t for t in (*WRITTEN_TABLES, *READ_TABLES) if t not in names]
    return present, missing


def _default(name: str, field: FieldInfo) -> str:
    if name == "database_url":
        return "`sqlite+aiosqlite:///$SHEETS_DATA_DIR/sheets.db`"
    value = field.get_default(call_default_factory=True)
    shown = _shown(value)
    return f"`{shown}`" if shown not in ("", "unset") else "unset"


def settings_table() -> str:
    """The README's configuration table, in Markdown."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{env_name(name)}` | {_default(name, field)} | {meaning} |")
    return "\n".join(rows) + "\n"

"""Storage: Open Dental's tables, the engine, sessions, prepared reads, the statement compiler, the
reflected schema, telling a database outage from a refusal (and the guards that make either the API's
error), and what differs between the databases (`backends`). Knows nothing above it."""

from service.storage import backends, compiled, convert, db, fill_tables, models, reads, schema, sessions
from service.storage.backends import Backend
from service.storage.backends.sqlite import SqliteReaders, connect_reader
from service.storage.compiled import CompiledRead, driver_values, placeholders
from service.storage.database_calls import database_call, database_errors, database_write
from service.storage.db import bulk_insert, row, write_transaction
from service.storage.errors import CapacityWatch, capacity_fault, database_error_fields, is_outage, translate
from service.storage.models import (
    BIG,
    DATETIME,
    NO_DATETIME,
    Patient,
    Sheet,
    SheetDef,
    SheetField,
    SheetFieldDef,
    now_seconds,
)
from service.storage.reads import PreparedRead
from service.storage.schema import Schema, neutral_value, schema_of
from service.storage.sessions import Query, Session, SqliteSession, run_transaction
from service.storage.subscription_table import SUBSCRIPTION
from service.storage.transactions import sheets_are_transactional
from service.vocab import datetime_parts

__all__ = [
    "BIG",
    "DATETIME",
    "NO_DATETIME",
    "SUBSCRIPTION",
    "Backend",
    "CapacityWatch",
    "CompiledRead",
    "Patient",
    "PreparedRead",
    "Query",
    "Schema",
    "Session",
    "Sheet",
    "SheetDef",
    "SheetField",
    "SheetFieldDef",
    "SqliteReaders",
    "SqliteSession",
    "backends",
    "bulk_insert",
    "capacity_fault",
    "compiled",
    "connect_reader",
    "convert",
    "database_call",
    "database_error_fields",
    "database_errors",
    "database_write",
    "datetime_parts",
    "db",
    "driver_values",
    "fill_tables",
    "is_outage",
    "models",
    "neutral_value",
    "now_seconds",
    "placeholders",
    "reads",
    "row",
    "run_transaction",
    "schema",
    "schema_of",
    "sessions",
    "sheets_are_transactional",
    "translate",
    "write_transaction",
]

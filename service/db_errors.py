"""Telling a database outage from a database refusal.

An outage (the server is down, restarting, out of connections, the connection
was lost, a lock wait ran out, the tables are not there yet) is worth retrying:
UNAVAILABLE. A refusal (a
column without a default, a value of the wrong type or length, a missing
column) will happen again on every retry: it is INTERNAL, logged with the
column and the database's own message so it can be fixed, never with the
statement's parameters (patient data).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa

from service.errors import Internal, SheetsError, Unavailable

log = logging.getLogger(__name__)

# MySQL/MariaDB server errors that mean the server or the connection, not the statement.
_MYSQL_OUTAGE = frozenset(
    {1040, 1044, 1045, 1049, 1053, 1077, 1078, 1079, 1080, 1152, 1153, 1154, 1155, 1156, 1157, 1158}
    | {1159, 1160, 1161, 1184, 1205, 1213, 1290, 1317, 1836, 1927, 4031}
    # A table that is not there: the database is not set up (`sheets init-db`): not ready, not a refusal.
    | {1146}
)
# PostgreSQL SQLSTATE classes of the same kind: connection, resources, operator, system, retry.
# 42P01 (undefined table) is not ready, like MySQL 1146.
_PG_OUTAGE_CLASSES = ("08", "53", "57", "58", "40", "XX", "42P01")
_SQLITE_REFUSAL = ("no such column", "has no column", "constraint failed", "datatype mismatch")

_COLUMN = re.compile(r"""(?:column|Field)\s+['"`]?([A-Za-z_][A-Za-z0-9_]*)['"`]?""", re.I)
# Quoted values in a message may be patient data ("Incorrect integer value: 'Smith'",
# "Duplicate entry 'Smith' for key", PostgreSQL's "Key (LName)=(Smith)").
_VALUE = re.compile(r"""(value:?\s*|syntax[^:]*:\s*|entry\s+)(['"]).*?\2""", re.I)
_PG_KEY_VALUE = re.compile(r"\)=\([^()]*\)")
_MAX_MESSAGE = 300


def _mysql_code(orig: Any) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_outage(exc: BaseException) -> bool:
    """Whether a database exception means the database is unavailable (else it refused the statement).

    Takes SQLAlchemy's errors and the drivers' own (prepared reads talk to the driver directly).
    """
    if isinstance(exc, OSError | TimeoutError | sa.exc.TimeoutError | sa.exc.InterfaceError):
        return True
    if isinstance(exc, sa.exc.DisconnectionError):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig: BaseException | None = exc.orig
        operational = isinstance(exc, sa.exc.OperationalError)
    else:
        orig = exc
        kind = type(exc).__name__
        if kind in ("InterfaceError", "PostgresConnectionError", "ConnectionDoesNotExistError"):
            return True
        operational = kind == "OperationalError"
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        return sqlstate.startswith(_PG_OUTAGE_CLASSES)
    code = _mysql_code(orig)
    if code is not None:
        return code >= 2000 or code in _MYSQL_OUTAGE
    if type(orig).__module__.startswith("sqlite3"):
        message = str(orig).lower()
        return operational and not any(text in message for text in _SQLITE_REFUSAL)
    # Without a code we cannot tell: an unreachable server is the likelier cause.
    return operational


def describe(exc: BaseException) -> tuple[str, str]:
    """The column a refusal names (or "") and the database's message, values redacted."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    message = str(orig).strip() or type(orig).__name__
    column = getattr(orig, "column_name", None)
    if not column:
        found = _COLUMN.search(message)
        column = found[1] if found else ""
    return str(column), _redacted(message)


def _redacted(message: str) -> str:
    text = _VALUE.sub(lambda m: m[1] + m[2] + "…" + m[2], message).splitlines()[0]
    text = _PG_KEY_VALUE.sub(")=(…)", text)
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"


def _root(exc: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrapper and its adapters."""
    seen: BaseException = getattr(exc, "orig", None) or exc
    while seen.__cause__ is not None and _code(seen) is None:
        seen = seen.__cause__
    return seen


def _code(exc: BaseException) -> str | int | None:
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if sqlstate:
        return str(sqlstate)
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    return _mysql_code(exc)


def database_error_fields(exc: BaseException) -> dict[str, Any]:
    """A failure's log fields: the driver's error class, the server's code and message
    (`db_error`, `db_code`, `db_message`), values redacted, never the statement."""
    root = _root(exc)
    args: tuple[Any, ...] = getattr(root, "args", ())
    if isinstance(root, OSError) and root.strerror:
        message = root.strerror
    elif len(args) >= 2 and isinstance(args[0], int):
        message = str(args[1])
    else:
        message = str(root).strip() or type(root).__name__
    return {"db_error": type(root).__name__, "db_code": _code(root), "db_message": _redacted(message)}


def translate(method_name: str, exc: BaseException) -> SheetsError:
    """The caller's error for a database exception, logged once."""
    if is_outage(exc):
        # The pool replaces dead connections once the database is back: no restart needed.
        log.warning("%s: database unavailable", method_name, extra=database_error_fields(exc))
        return Unavailable("The database is unavailable. Try again later.")
    column, message = describe(exc)
    log.error(
        "%s: the database refused the statement: column %s: %s",
        method_name,
        column or "(not named)",
        message,
        extra=database_error_fields(exc),
    )
    return Internal("The database refused the request. The service's log names the column.")

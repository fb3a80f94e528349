"""Telling a database outage from a capacity fault and from a database refusal.

An outage (the server is down, restarting, out of connections, the connection
was lost, a lock wait ran out, the tables are not there yet) is worth retrying:
UNAVAILABLE. A capacity fault (the disk, tablespace or quota is full, the
server is out of memory) is not an outage: the database is up and answers
reads, but refuses to store anything until an administrator makes room, so
waiting does not help: RESOURCE_EXHAUSTED (REST 507), no Retry-After, logged
once per condition (`CapacityWatch`). A refusal (a
column without a default, a value of the wrong type or length, a missing
column) will happen again on every retry: it is INTERNAL, logged with the
column and the database's own message so it can be fixed, never with the
statement's parameters (patient data).

The rule is one, here; which error numbers, SQLSTATEs and messages say what is each
database's backend module's (`service.storage.backends`).
"""

from __future__ import annotations

import errno
import logging
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from service.contract import DatabaseFull, Internal, SheetsError, Unavailable
from service.storage.backends import mysql, postgresql, sqlite

log = logging.getLogger("service.db_errors")


@dataclass(frozen=True, slots=True)
class Capacity:
    """A capacity fault: its metric label, the caller's sentence, the operator's words."""

    condition: str
    answer: str
    problem: str


DISK_FULL = Capacity(
    "disk_full",
    "The database is full. Nothing was saved; the database's disk needs more space.",
    "the database is full",
)
OUT_OF_MEMORY = Capacity(
    "out_of_memory",
    "The database server is out of memory. Nothing was saved.",
    "the database server is out of memory",
)
_CAPACITIES = {fault.condition: fault for fault in (DISK_FULL, OUT_OF_MEMORY)}

_COLUMN = re.compile(r"""(?:column|Field)\s+['"`]?([A-Za-z_][A-Za-z0-9_]*)['"`]?""", re.I)
# Quoted values in a message may be patient data ("Incorrect integer value: 'Smith'",
# "Duplicate entry 'Smith' for key", PostgreSQL's "Key (LName)=(Smith)").
_VALUE = re.compile(r"""(value:?\s*|syntax[^:]*:\s*|entry\s+)(['"]).*?\2""", re.I)
_PG_KEY_VALUE = re.compile(r"\)=\([^()]*\)")
_MAX_MESSAGE = 300


def capacity_fault(exc: BaseException) -> Capacity | None:
    """The capacity fault a database exception reports (SQLAlchemy's or a driver's own), or None."""
    seen: BaseException | None = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    while seen is not None:
        found = _capacity_of(seen)
        if found is not None:
            return found
        seen = seen.__cause__
    return None


def _capacity_of(error: BaseException) -> Capacity | None:
    if isinstance(error, OSError):
        return DISK_FULL if error.errno in (errno.ENOSPC, errno.EDQUOT) else None
    code = mysql.error_code(error)
    if code is not None:
        return _CAPACITIES.get(mysql.capacity_condition(code, error) or "")
    state = postgresql.sqlstate(error)
    if state is not None:
        return _CAPACITIES.get(postgresql.capacity_condition(state) or "")
    if isinstance(error, sqlite3.Error):
        return _CAPACITIES.get(sqlite.capacity_condition(error) or "")
    return None


def is_outage(exc: BaseException) -> bool:
    """Whether a database exception means the database is unavailable (else it is full, or it
    refused the statement).

    Takes SQLAlchemy's errors and the drivers' own (prepared reads talk to the driver directly).
    """
    if capacity_fault(exc) is not None:
        return False
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
        if kind in (
            "InterfaceError",
            "InternalClientError",
            "PostgresConnectionError",
            "ConnectionDoesNotExistError",
        ):
            return True
        operational = kind == "OperationalError"
    # A MySQL server's error carries its SQLSTATE too (mostly HY000): its code says more.
    code = mysql.error_code(orig)
    if code is not None:
        return mysql.is_outage_code(code)
    state = postgresql.sqlstate(orig)
    if state is not None:
        return postgresql.is_outage_state(state)
    if sqlite.owns(orig):
        return operational and not sqlite.is_refusal(orig)
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
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    # A MySQL server's error number before its SQLSTATE (mostly HY000, which says nothing).
    code = mysql.error_code(exc)
    if code is not None:
        return code
    return postgresql.sqlstate(exc)


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


class CapacityWatch:
    """The capacity faults that hold now, for the operator: a write refused for one
    starts it (one ERROR line, not one per request), the next write that succeeds
    ends it (one INFO line; a recurrence logs again). The service cannot see space
    return without writing: a SELECT succeeds on a full database."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Capacity, datetime, dict[str, Any]]] = {}
        self.refusals: Counter[str] = Counter()

    @property
    def held(self) -> frozenset[str]:
        """The conditions (`Capacity.condition`) that hold now."""
        return frozenset(self._held)

    def refused(self, method_name: str, fault: Capacity, exc: BaseException) -> None:
        self.refusals[fault.condition] += 1
        if fault.condition in self._held:
            return
        fields = database_error_fields(exc)
        self._held[fault.condition] = (fault, datetime.now(UTC), fields)
        log.error(
            "%s: %s: writes are refused until there is room again (reads are served)",
            method_name,
            fault.problem,
            extra=fields | {"condition": fault.condition},
        )

    def wrote(self) -> None:
        """A write succeeded: whatever held has cleared."""
        if not self._held:
            return
        cleared, self._held = self._held, {}
        for condition, (_, since, _) in cleared.items():
            log.info(
                "the database takes writes again (%s since %s)",
                condition,
                since.strftime("%Y-%m-%d %H:%M:%S UTC"),
                extra={"condition": condition},
            )

    def summary(self) -> str:
        """The conditions that hold, in the operator's words (for `/readyz`), or ""."""
        held = list(self._held.values())
        return "; ".join(
            f"{fault.problem} (since {since:%Y-%m-%d %H:%M:%S} UTC"
            + (f", {fields['db_code']}" if fields["db_code"] is not None else "")
            + f": {fields['db_message']}): writes are refused, reads are served"
            for fault, since, fields in held
        )


def translate(method_name: str, exc: BaseException, capacity: CapacityWatch | None = None) -> SheetsError:
    """The caller's error for a database exception, logged once (a capacity fault once per
    condition, through `capacity`)."""
    fault = capacity_fault(exc)
    if fault is not None:
        if capacity is not None:
            capacity.refused(method_name, fault, exc)
        else:
            log.error("%s: %s", method_name, fault.problem, extra=database_error_fields(exc))
        return DatabaseFull(fault.answer)
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

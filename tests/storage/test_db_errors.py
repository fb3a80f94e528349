"""What a log line says about a database failure: the server's code and message, no data; and
which failures are capacity faults (a full database), told apart from outages and refusals."""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
import pytest
import sqlalchemy as sa

from service.contract.errors import DatabaseFull, Internal, Unavailable
from service.storage.errors import CapacityWatch, capacity_fault, database_error_fields, is_outage, translate
from tests.support.logs import captured_logs


class _MySqlError(Exception):
    """A MySQL driver's error: (errno, message)."""


class _PgError(Exception):
    sqlstate = "23505"


def _wrapped(orig: Exception) -> sa.exc.DBAPIError:
    return sa.exc.IntegrityError("INSERT INTO sheet VALUES (%s)", {"PatNum": "private"}, orig)


def test_mysql_code_and_message_without_the_value_or_statement() -> None:
    error = _wrapped(_MySqlError(1062, "Duplicate entry 'Jane Roe' for key 'PRIMARY'"))
    fields = database_error_fields(error)
    assert fields == {
        "db_error": "_MySqlError",
        "db_code": 1062,
        "db_message": "Duplicate entry '…' for key 'PRIMARY'",
    }


def test_postgres_sqlstate_and_message_without_the_key_value() -> None:
    fields = database_error_fields(_wrapped(_PgError("duplicate key: Key (PatNum)=(4711) already exists.")))
    assert fields["db_code"] == "23505"
    assert fields["db_message"] == "duplicate key: Key (PatNum)=(…) already exists."


def test_connection_refused_gives_the_errno() -> None:
    fields = database_error_fields(ConnectionRefusedError(111, "Connection refused"))
    assert (fields["db_code"], fields["db_message"]) == (111, "Connection refused")
    assert "private" not in str(fields)


# A full database is not an outage: the one classifier tells capacity faults apart.


class _MySqlServerError(Exception):
    """A MySQL server's error as asyncmy raises it: (errno, message) and the packet's SQLSTATE."""

    sqlstate = "HY000"


class _PgCodeError(Exception):
    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("orig", "condition"),
    [
        pytest.param(
            _sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"), "disk_full", id="sqlite-full"
        ),
        pytest.param(_MySqlServerError(1114, "The table 'sheetfield' is full"), "disk_full", id="mysql-1114"),
        pytest.param(
            _MySqlServerError(1021, "Disk full (/tmp/#sql_1.MAI); waiting…"), "disk_full", id="mysql-1021"
        ),
        pytest.param(
            _MySqlServerError(1030, 'Got error 28 "No space left on device" from storage engine InnoDB'),
            "disk_full",
            id="mysql-1030-enospc",
        ),
        pytest.param(
            _MySqlServerError(1026, "Error writing file './sheets/x' (Errcode: 122 \"Disk quota exceeded\")"),
            "disk_full",
            id="mysql-1026-quota",
        ),
        pytest.param(_MySqlServerError(1041, "Out of memory."), "out_of_memory", id="mysql-1041"),
        pytest.param(
            _PgCodeError("53100", 'could not extend file "base/5/1": No space left'),
            "disk_full",
            id="pg-53100",
        ),
        pytest.param(_PgCodeError("53200", "out of memory"), "out_of_memory", id="pg-53200"),
    ],
)
def test_capacity_faults_are_database_full_not_outages_nor_refusals(
    orig: Exception, condition: str, caplog: pytest.LogCaptureFixture
) -> None:
    exc = sa.exc.OperationalError("INSERT INTO sheetfield VALUES (?)", {"FieldValue": "private"}, orig)
    fault = capacity_fault(exc)
    assert fault is not None
    assert fault.condition == condition
    assert not is_outage(exc)
    with caplog.at_level(logging.ERROR):
        error = translate("create_sheet", exc)
    assert isinstance(error, DatabaseFull)
    assert (error.grpc_code, error.http_status, error.retry_after) == ("RESOURCE_EXHAUSTED", 507, None)
    assert error.message == fault.answer
    assert "private" not in caplog.text
    # The driver's own error (a prepared read's) is classified alike.
    assert capacity_fault(orig) == fault


@pytest.mark.parametrize(
    ("orig", "outage"),
    [
        pytest.param(_PgCodeError("53300", "too many connections"), True, id="pg-too-many-connections"),
        pytest.param(_PgCodeError("08006", "connection failure"), True, id="pg-connection"),
        pytest.param(_MySqlServerError(1205, "Lock wait timeout exceeded"), True, id="mysql-lock-wait"),
        pytest.param(
            _MySqlServerError(1146, "Table 'sheets.sheet' doesn't exist"), True, id="mysql-no-table"
        ),
        pytest.param(
            _MySqlServerError(1030, "Got error 168 from storage engine"), False, id="mysql-1030-other"
        ),
        pytest.param(_sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), True, id="sqlite-busy"),
    ],
)
def test_what_is_not_a_capacity_fault_keeps_its_answer(orig: Exception, outage: bool) -> None:
    exc = sa.exc.OperationalError("INSERT", {}, orig)
    assert capacity_fault(exc) is None
    assert is_outage(exc) is outage
    assert isinstance(translate("create_sheet", exc), Unavailable if outage else Internal)


def test_a_mysql_servers_error_number_is_logged_rather_than_its_generic_sqlstate() -> None:
    fields = database_error_fields(_wrapped(_MySqlServerError(1114, "The table 'sheetfield' is full")))
    assert (fields["db_code"], fields["db_message"]) == (1114, "The table 'sheetfield' is full")


def test_a_full_disk_on_a_prepared_read_keeps_its_connection() -> None:
    assert not is_outage(asyncpg.exceptions.DiskFullError("could not write block"))
    assert not is_outage(asyncpg.exceptions.OutOfMemoryError("out of memory"))
    assert is_outage(asyncpg.exceptions.TooManyConnectionsError("too many clients"))


def test_one_error_line_per_condition_again_once_it_cleared_and_recurs() -> None:
    watch = CapacityWatch()
    full = sa.exc.OperationalError("INSERT", {}, _MySqlServerError(1114, "The table 'sheetfield' is full"))
    with captured_logs() as logs:
        for _ in range(5):
            assert isinstance(translate("create_sheet", full, watch), DatabaseFull)
        assert watch.held == {"disk_full"}
        assert watch.summary().startswith("the database is full (since ")
        assert watch.summary().endswith(
            ", 1114: The table 'sheetfield' is full): writes are refused, reads are served"
        )
        watch.wrote()
        watch.wrote()
        assert (watch.held, watch.summary()) == (frozenset(), "")
        translate("update_sheet_field", full, watch)
    lines = [(r["level"], r.get("condition")) for r in logs.records()]
    assert lines == [("error", "disk_full"), ("info", "disk_full"), ("error", "disk_full")]
    assert watch.refusals == {"disk_full": 6}

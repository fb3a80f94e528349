"""What a log line says about a database failure: the server's code and message, no data."""

from __future__ import annotations

import sqlalchemy as sa

from service.db_errors import database_error_fields


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

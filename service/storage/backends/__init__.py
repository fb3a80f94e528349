"""The databases the service runs on, one module each, after SQLAlchemy's dialect modules:
what differs between SQLite (aiosqlite), MariaDB/MySQL (asyncmy) and PostgreSQL (asyncpg),
and nothing else. Everything above asks the engine's `Backend` (`of`) instead of the
dialect's name."""

from __future__ import annotations

import sqlalchemy as sa

from service.storage.backends.base import Backend
from service.storage.backends.mysql import MYSQL
from service.storage.backends.postgresql import POSTGRESQL
from service.storage.backends.sqlite import SQLITE

# By SQLAlchemy's backend name (MariaDB's dialect answers "mariadb" under `mariadb://`).
_BACKENDS: dict[str, Backend] = {"sqlite": SQLITE, "mysql": MYSQL, "mariadb": MYSQL, "postgresql": POSTGRESQL}


def of(dialect: sa.Dialect | sa.URL) -> Backend:
    """The backend of an engine's dialect, or of a database URL."""
    name = dialect.get_backend_name() if isinstance(dialect, sa.URL) else dialect.name
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ValueError(f"the service does not run on {name}") from None


__all__ = ["MYSQL", "POSTGRESQL", "SQLITE", "Backend", "of"]

"""What differs between the databases is said in one place: `service.storage.backends`."""

from __future__ import annotations

import ast

import pytest
import sqlalchemy as sa

from service.storage import backends
from tests.support import ROOT

_DATABASES = {"sqlite", "mysql", "mariadb", "postgresql", "aiosqlite", "asyncmy", "asyncpg"}
# Where a database may still be named outside the backends, and why.
_ALLOWED = {
    # Column types declare their per-database variants where SQLAlchemy reads them.
    "service/storage/models.py",
    # The default database URL, and SQLite's fixed pool: configuration cannot import storage.
    "service/config/settings.py",
}


def _naming_a_database(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in _DATABASES:
            found.append(f"{node.lineno}: {node.value!r}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("name", "driver")
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "dialect"
        ):
            found.append(f"{node.lineno}: dialect.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "get_backend_name":
            found.append(f"{node.lineno}: get_backend_name")
    return found


def test_nothing_outside_the_backends_asks_which_database_it_runs_on() -> None:
    service = ROOT / "service"
    asking = {
        str(path.relative_to(ROOT)): found
        for path in sorted(service.rglob("*.py"))
        if path.parent != service / "storage" / "backends"
        and str(path.relative_to(ROOT)) not in _ALLOWED
        and (found := _naming_a_database(ast.parse(path.read_text(), str(path))))
    }
    assert asking == {}


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("sqlite+aiosqlite:///sheets.db", backends.SQLITE),
        ("mysql+asyncmy://root@localhost/opendental", backends.MYSQL),
        ("mariadb+asyncmy://root@localhost/opendental", backends.MYSQL),
        ("postgresql+asyncpg://postgres@localhost/sheets", backends.POSTGRESQL),
    ],
)
def test_each_database_has_its_backend(url: str, backend: backends.Backend) -> None:
    assert backends.of(sa.make_url(url)) is backend


def test_a_database_without_a_backend_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="does not run on mssql"):
        backends.of(sa.make_url("mssql+aioodbc://sa@localhost/sheets"))

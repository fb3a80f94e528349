"""Statements compiled once per dialect and bound positionally: the one compiler of the
service's hot statements.

SQLAlchemy builds and compiles a statement on every execution, and converts every
parameter and every column on the way; a hot statement is compiled here once for its
dialect, and each call only orders its parameters for the driver's own `execute`
(converted by their columns' types where the type says so). The prepared reads, the
write sessions, `db.bulk_insert` and the render workers' reads all bind through here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


class CompiledRead(NamedTuple):
    """A SELECT compiled for one dialect: its SQL, its parameters' order and defaults (picklable:
    it travels to a render worker)."""

    sql: str
    order: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, statement: sa.Select[Any], dialect: sa.Dialect) -> CompiledRead:
        compiled = Compiled(statement, dialect, raw=True, postcompile=False)
        return cls(compiled.sql, compiled.order, compiled.defaults)

    def bind(self, **params: Any) -> tuple[str, list[Any]]:
        """The SQL and its positional parameters, for a DB-API `execute`."""
        values = self.defaults | params
        return self.sql, [values[name] for name in self.order]


class Compiled:
    """A statement compiled for one dialect, with its parameters' order and defaults
    and the conversions of its parameters and (unless raw) its columns."""

    __slots__ = ("binds", "defaults", "order", "results", "sql")

    def __init__(
        self, statement: sa.ClauseElement, dialect: sa.Dialect, *, raw: bool, postcompile: bool = True
    ) -> None:
        compile_kwargs = {"render_postcompile": True} if postcompile else {}
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, compile_kwargs=compile_kwargs))
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup or ())
        self.defaults = dict(compiled.params)
        binds = compiled.binds
        self.binds = tuple(
            (i, process)
            for i, name in enumerate(self.order)
            if name in binds
            and (process := binds[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        columns = statement.selected_columns if isinstance(statement, sa.Select) else ()
        self.results: tuple[tuple[int, Processor], ...] = (
            ()
            if raw
            else tuple(
                (i, process)
                for i, column in enumerate(columns)
                if (process := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            )
        )

    def parameters(self, params: Mapping[str, Any]) -> list[Any]:
        """The parameters in the statement's order, as the driver takes them."""
        values = self.defaults | dict(params) if params else self.defaults
        bound = [values[name] for name in self.order]
        for i, process in self.binds:
            bound[i] = process(bound[i])
        return bound

    def convert(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The driver's rows with each column converted as SQLAlchemy would (none when raw)."""
        if not self.results or not rows:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for i, process in self.results:
                values[i] = process(values[i])
            converted.append(tuple(values))
        return converted


@functools.lru_cache(maxsize=512)
def compiled(statement: sa.ClauseElement, dialect: sa.Dialect, raw: bool) -> Compiled:
    """`statement` compiled for `dialect`, once."""
    return Compiled(statement, dialect, raw=raw)


def placeholders(dialect: sa.Dialect, count: int) -> list[str]:
    """The dialect's positional parameter markers for `count` parameters, in order."""
    style = dialect.paramstyle
    if style == "qmark":
        return ["?"] * count
    if style in ("format", "pyformat"):
        return ["%s"] * count
    if style == "numeric_dollar":
        return [f"${n}" for n in range(1, count + 1)]
    if style == "numeric":
        return [f":{n}" for n in range(1, count + 1)]
    raise ValueError(f"parameters of style {style} are not positional")  # pragma: no cover


@functools.lru_cache(maxsize=64)
def insert(
    dialect: sa.Dialect, table: sa.Table, names: tuple[str, ...]
) -> tuple[str, tuple[Processor | None, ...]]:
    """An INSERT of `names` in exactly that order, for the dialect's positional
    parameters, and each column's bind processor."""
    quote = dialect.identifier_preparer
    marks = placeholders(dialect, len(names))
    # Quoted identifiers of our own tables; every value is a parameter.
    sql = (
        f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join(marks)})"
    )
    processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    return sql, processors


def bound(processors: Sequence[Processor | None], values: Sequence[Any]) -> tuple[Any, ...]:
    """`values` converted by their columns' processors (`insert`'s), as the driver takes them."""
    return tuple(v if p is None else p(v) for p, v in zip(processors, values, strict=True))


def driver_values(dialect: sa.Dialect, table: sa.Table, values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Python values of `table`'s columns as the driver takes them."""
    _, processors = insert(dialect, table, tuple(values))  # the columns' processors, looked up once
    return bound(processors, tuple(values.values()))

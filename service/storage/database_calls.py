"""The guards of a store's methods (the sheet store's, the event store's): a database's failure
becomes the API's error."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import sqlalchemy as sa

from service.storage.backends import Backend
from service.storage.errors import CapacityWatch, translate

_P = ParamSpec("_P")
_T = TypeVar("_T")


def database_errors(backend: Backend) -> tuple[type[BaseException], ...]:
    """What a database call may raise: SQLAlchemy's errors, the socket's, and the driver's own
    (prepared reads talk to the driver directly). Which of them are an outage is
    `service.storage.is_outage`'s to say."""
    return (sa.exc.SQLAlchemyError, OSError, TimeoutError, *backend.driver_errors())


class Guarded(Protocol):
    @property
    def database_errors(self) -> tuple[type[BaseException], ...]: ...

    @property
    def capacity(self) -> CapacityWatch | None: ...


class GuardedWriter(Guarded, Protocol):
    @property
    def capacity(self) -> CapacityWatch: ...


_Store = TypeVar("_Store", bound=Guarded)
_Writer = TypeVar("_Writer", bound=GuardedWriter)


def database_call(
    method: Callable[Concatenate[_Store, _P], Awaitable[_T]],
) -> Callable[Concatenate[_Store, _P], Coroutine[Any, Any, _T]]:
    """A store method whose database failures become the API's errors: a database
    that cannot be reached is Unavailable, one that is full DatabaseFull (noted in
    the store's `capacity`, when it has one), one that refuses a statement (a column without a
    default, a value of the wrong type or length) Internal, logged with the column
    (`service.storage.errors`; only here: an OSError elsewhere is no database's)."""

    async def guarded(store: _Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(store, *args, **kwargs)
        except store.database_errors as exc:
            raise translate(method.__name__, exc, store.capacity) from None

    return functools.update_wrapper(guarded, method)


def database_write(
    method: Callable[Concatenate[_Writer, _P], Awaitable[_T]],
) -> Callable[Concatenate[_Writer, _P], Coroutine[Any, Any, _T]]:
    """`database_call` for a method that writes: its success ends a capacity fault."""
    guarded = database_call(method)

    async def writing(store: _Writer, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        result = await guarded(store, *args, **kwargs)
        store.capacity.wrote()
        return result

    return functools.update_wrapper(writing, method)

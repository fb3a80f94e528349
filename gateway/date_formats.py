"""`DateFormatString` and `DateTimeFormatString`: the query parameters Open
Dental's API takes on every method whose answer holds a date or a date-time
(since its version 22.2), in .NET's format syntax (`gateway.dotnet_dates`).

Which routes take them is read from the descriptors: those whose response
holds a `google.type.Date` or `google.type.DateTime`, at any depth. They are
the gateway's own parameters, read from the query string whatever the route
binds elsewhere (a POST or PUT too), matched in any case as every parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache

from google.protobuf.descriptor import Descriptor
from google.type import date_pb2, datetime_pb2

from gateway.dotnet_dates import EN_US, FormatError, formatter
from gateway.encoder import DATE_MESSAGE, DATETIME_MESSAGE, DateTexts, date_text, datetime_text
from gateway.routes import Route
from service.contract import InvalidArgument, message_type
from service.vocab import DateCulture

DATE_FORMAT = "DateFormatString"
DATETIME_FORMAT = "DateTimeFormatString"
PARAMETERS = (DATE_FORMAT, DATETIME_FORMAT)
FOLDED = frozenset(name.lower() for name in PARAMETERS)
_BY_FOLDED = {name.lower(): name for name in PARAMETERS}


def _holds_dates(descriptor: Descriptor, seen: frozenset[str] = frozenset()) -> bool:
    for field in descriptor.fields:
        if field.message_type is None:
            continue
        nested = message_type(field)
        if nested.full_name in (DATE_MESSAGE, DATETIME_MESSAGE):
            return True
        if nested.full_name not in seen and _holds_dates(nested, seen | {descriptor.full_name}):
            return True
    return False


@cache
def takes_date_formats(route: Route) -> bool:
    """Whether the route's answer holds a date or a date-time."""
    if route.returns_http_body:
        return False
    output = route.method_descriptor.output_type
    if route.response_body:
        field = output.fields_by_name[route.response_body]
        if field.message_type is None:
            return False
        nested = message_type(field)
        if nested.full_name in (DATE_MESSAGE, DATETIME_MESSAGE):
            return True
        return _holds_dates(nested)
    return _holds_dates(output)


def requested_formats(route: Route, query: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The format parameters a request gives, by their canonical name; InvalidArgument for one given twice."""
    if not takes_date_formats(route):
        return {}
    given: dict[str, str] = {}
    for key, text in query:
        name = _BY_FOLDED.get(key.lower())
        if name is None:
            continue
        if name in given:
            raise InvalidArgument(f"Duplicate query parameter: '{name}'.", field=name)
        given[name] = text
    return given


def date_texts(formats: dict[str, str], culture: DateCulture = EN_US) -> DateTexts | None:
    """How the answer writes its dates; None for Open Dental's defaults. InvalidArgument
    names a format .NET would refuse and says why."""
    if not formats:
        return None
    return _texts(formats.get(DATE_FORMAT), formats.get(DATETIME_FORMAT), culture)


def _checked(name: str, pattern: str, culture: DateCulture) -> Callable[[datetime], str]:
    try:
        return formatter(pattern, culture)
    except FormatError as error:
        raise InvalidArgument(f"{name} is invalid: {error}", field=name) from None


@lru_cache(maxsize=256)
def _texts(date_pattern: str | None, datetime_pattern: str | None, culture: DateCulture) -> DateTexts:
    date_format = None if date_pattern is None else _checked(DATE_FORMAT, date_pattern, culture)
    datetime_format = (
        None if datetime_pattern is None else _checked(DATETIME_FORMAT, datetime_pattern, culture)
    )

    def write_date(value: date_pb2.Date) -> str:
        if date_format is None:
            return date_text(value)
        moment = _moment(value.year, value.month, value.day, 0, 0, 0)
        return date_text(value) if moment is None else date_format(moment)

    def write_datetime(value: datetime_pb2.DateTime) -> str:
        if datetime_format is None:
            return datetime_text(value)
        moment = _moment(value.year, value.month, value.day, value.hours, value.minutes, value.seconds)
        return datetime_text(value) if moment is None else datetime_format(moment)

    return DateTexts(date=write_date, datetime=write_datetime)


def _moment(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime | None:
    """The value as a datetime: unset (all zero) is .NET's MinValue, 0001-01-01 00:00:00;
    None for a value no calendar has (written as stored, never a failure)."""
    if not (year or month or day):
        return datetime(1, 1, 1)
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None

"""Open Dental's JSON dialect, out: messages as Open Dental's API prints them,
derived from the descriptors.

Open Dental's API is not proto3 JSON: keys are Open Dental's PascalCase names
(the fields' `json_name`) in its column order (declaration order); integers,
including 64-bit keys, are JSON numbers; booleans are the strings "true" and
"false"; enums are Open Dental's names (`(open_dental)` option); date-times are
"yyyy-MM-dd HH:mm:ss" with "0001-01-01 00:00:00" for unset; line breaks in text
come out as a space.

Every message gets its encoder built once, from its descriptor, on first use:
the per-request work is attribute reads and dict lookups, no descriptor walking.
"""

from __future__ import annotations

import base64
import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import attrgetter
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.type import date_pb2, datetime_pb2

from service.contract import enum_type, message_type, od_enum_values

DATETIME_MESSAGE: str = datetime_pb2.DateTime.DESCRIPTOR.full_name
DATE_MESSAGE: str = date_pb2.Date.DESCRIPTOR.full_name
# Open Dental's MinValue: what an unset date or date-time looks like.
UNSET_DATETIME = "0001-01-01 00:00:00"
UNSET_DATE = "0001-01-01"
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

_FD = FieldDescriptor
FLOAT_TYPES = frozenset((_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE))
_BOOL_TEXT = ("false", "true")


@dataclass(frozen=True, slots=True)
class DateTexts:
    """How dates and date-times are written, where a request asks for other
    formats than Open Dental's defaults (`DateFormatString`, `DateTimeFormatString`)."""

    date: Callable[[date_pb2.Date], str]
    datetime: Callable[[datetime_pb2.DateTime], str]


def to_od(message: Message) -> dict[str, Any]:
    """One message as Open Dental's JSON object: every field, defaults included
    (an unset nested object, which the Sheets API never has, is null)."""
    return _encoder(message.DESCRIPTOR)(message)


def scalar_to_text(field: FieldDescriptor) -> Callable[[Any], str]:
    """A scalar field's value as the text Open Dental would show, e.g. for a
    `Location` header."""
    if field.type == _FD.TYPE_MESSAGE or field.is_repeated:
        raise ValueError(f"{field.full_name} is not a scalar")
    convert = _value_encoder(field)
    if convert is None:
        return str
    if field.type == _FD.TYPE_BOOL or field.type == _FD.TYPE_ENUM:
        return convert
    return lambda value: str(convert(value))


class _EnumNames(dict[int, str]):
    # UNSPECIFIED (and numbers from a newer proto) have no Open Dental name:
    # "" says "no value" without inventing one, and never raises mid-response.
    def __missing__(self, key: int) -> str:
        return ""


class _TwoDigits(dict[int, str]):
    # A lookup is several times cheaper than "%02d" formatting on this path;
    # out-of-range parts (an invalid DateTime) still format instead of wrapping.
    def __missing__(self, key: int) -> str:
        return f"{key:02d}"


_D2 = _TwoDigits({n: f"{n:02d}" for n in range(100)})
_DATETIME_PARTS = attrgetter("year", "month", "day", "hours", "minutes", "seconds")
_DATE_PARTS = attrgetter("year", "month", "day")


def _year(year: int) -> str:
    return str(year) if 1000 <= year <= 9999 else f"{year:04d}"


def datetime_text(value: datetime_pb2.DateTime) -> str:
    year, month, day, hours, minutes, seconds = _DATETIME_PARTS(value)
    if not (year or month or day):
        return UNSET_DATETIME
    return f"{_year(year)}-{_D2[month]}-{_D2[day]} {_D2[hours]}:{_D2[minutes]}:{_D2[seconds]}"


def date_text(value: date_pb2.Date) -> str:
    year, month, day = _DATE_PARTS(value)
    if not (year or month or day):
        return UNSET_DATE
    return f"{_year(year)}-{_D2[month]}-{_D2[day]}"


def _od_text(value: str) -> str:
    if "\r" in value or "\n" in value:
        return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return value


def _bytes_text(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _finite(value: float) -> float | None:
    # JSON has no NaN or Infinity; null is the honest "no number".
    return value if math.isfinite(value) else None


@cache
def _enum_names(enum: EnumDescriptor) -> _EnumNames:
    return _EnumNames({value.number: value.name for value in od_enum_values(enum)})


def _is_plain_message(field: FieldDescriptor) -> bool:
    """A message field written as a nested object (not a date or date-time)."""
    return field.type == _FD.TYPE_MESSAGE and message_type(field).full_name not in (
        DATETIME_MESSAGE,
        DATE_MESSAGE,
    )


def _value_encoder(field: FieldDescriptor, dates: DateTexts | None = None) -> Callable[[Any], Any] | None:
    """How one (non-repeated) value is written; None: as it is."""
    kind = field.type
    if kind == _FD.TYPE_STRING:
        return _od_text
    if kind == _FD.TYPE_BOOL:
        return _BOOL_TEXT.__getitem__
    if kind == _FD.TYPE_ENUM:
        return _enum_names(enum_type(field)).__getitem__
    if kind == _FD.TYPE_BYTES:
        return _bytes_text
    if kind in FLOAT_TYPES:
        return _finite
    if kind == _FD.TYPE_MESSAGE:
        nested = message_type(field)
        if nested.full_name == DATETIME_MESSAGE:
            return datetime_text if dates is None else dates.datetime
        if nested.full_name == DATE_MESSAGE:
            return date_text if dates is None else dates.date
        if nested.GetOptions().map_entry:
            raise TypeError(f"{field.full_name}: map fields have no place in Open Dental's dialect")
        # Looked up per call so that a message may contain itself.
        return lambda value: _encoder(nested, dates)(value)
    return None


def _field_encoder(field: FieldDescriptor, dates: DateTexts | None = None) -> Callable[[Any], Any] | None:
    convert = _value_encoder(field, dates)
    if not field.is_repeated:
        return convert
    if convert is None:
        return list
    if _is_plain_message(field):
        nested = message_type(field)
        # A list of sheets is the common response: one encoder lookup per list.
        return lambda values: list(map(_encoder(nested, dates), values))
    return lambda values: [convert(value) for value in values]


# Bounded: each set of requested formats has encoders of its own.
@lru_cache(maxsize=1024)
def _encoder(descriptor: Descriptor, dates: DateTexts | None = None) -> Callable[[Message], dict[str, Any]]:
    """A function that reads every field and converts only those that need it.

    It is generated as one dict display per message, as dataclasses generate
    __init__: that is about a third faster than a loop over a field table,
    and this runs for every object of every response. Only descriptor names
    reach the source (keys as repr() literals, attributes as checked
    identifiers); the converters are passed in, not written out.
    """
    namespace: dict[str, Any] = {}
    items = []
    for index, field in enumerate(descriptor.fields):
        if field.name.isidentifier() and not keyword.iskeyword(field.name):
            read = f"m.{field.name}"
        else:
            namespace[f"_get{index}"] = attrgetter(field.name)
            read = f"_get{index}(m)"
        convert = _field_encoder(field, dates)
        if convert is None:
            value = read
        elif field.type == _FD.TYPE_BOOL and not field.is_repeated:
            value = f'("true" if {read} else "false")'
        elif field.type == _FD.TYPE_ENUM and not field.is_repeated:
            namespace[f"_names{index}"] = _enum_names(enum_type(field))
            value = f"_names{index}[{read}]"
        elif _is_plain_message(field) and not field.is_repeated:
            # An unset object is null, as .NET writes a null reference; a
            # default object instead would never end for a message that
            # contains itself.
            namespace[f"_convert{index}"] = convert
            value = f"(_convert{index}({read}) if m.HasField({field.name!r}) else None)"
        else:
            namespace[f"_convert{index}"] = convert
            value = f"_convert{index}({read})"
        items.append(f"{field.json_name!r}: {value}")
    source = "def encode(m):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<Open Dental encoder of {descriptor.full_name}>", "exec"), namespace)  # noqa: S102
    encode: Callable[[Message], dict[str, Any]] = namespace["encode"]
    return encode


@lru_cache(maxsize=1024)
def response_encoder(
    descriptor: Descriptor, response_body: str, dates: DateTexts | None = None
) -> Callable[[Message], Any]:
    if not response_body:
        return _encoder(descriptor, dates)
    read = attrgetter(response_body)
    convert = _field_encoder(descriptor.fields_by_name[response_body], dates)
    if convert is None:
        return read
    return lambda response: convert(read(response))

"""Open Dental's JSON dialect, derived from the descriptors.

Open Dental's API is not proto3 JSON: keys are Open Dental's PascalCase names
(the fields' `json_name`) in its column order (declaration order); integers,
including 64-bit keys, are JSON numbers; booleans are the strings "true" and
"false"; enums are Open Dental's names (`(open_dental)` option); date-times are
"yyyy-MM-dd HH:mm:ss" with "0001-01-01 00:00:00" for unset; line breaks in text
come out as a space.

Input follows what an Open Dental client may send to Open Dental's .NET API:
keys and query parameter names match case-insensitively (reported by their
canonical spelling); booleans are "true"/"false" in any case or JSON
true/false; enums are a name in any case or Open Dental's integer; null is
the same as leaving the key out. Everything else that does not fit a field is
refused with an `InvalidArgument` naming the field; nothing else ever escapes
for bad input.

Every message gets its encoder and its input table built once, from its
descriptor, on first use: the per-request work is attribute reads and dict
lookups, no descriptor walking.
"""

from __future__ import annotations

import base64
import binascii
import json
import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.type import date_pb2, datetime_pb2

from service.contract import enum_type, message_type, od_enum_values
from service.errors import InvalidArgument

if TYPE_CHECKING:
    from gateway.routes import Route

DATETIME_MESSAGE: str = datetime_pb2.DateTime.DESCRIPTOR.full_name
DATE_MESSAGE: str = date_pb2.Date.DESCRIPTOR.full_name
# Open Dental's MinValue: what an unset date or date-time looks like.
UNSET_DATETIME = "0001-01-01 00:00:00"
UNSET_DATE = "0001-01-01"
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

_FD = FieldDescriptor
_INT_RANGES: dict[int, tuple[int, int]] = {
    **dict.fromkeys((_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((_FD.TYPE_UINT32, _FD.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((_FD.TYPE_UINT64, _FD.TYPE_FIXED64), (0, 2**64 - 1)),
}
_FLOATS = frozenset((_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE))
_INT_TEXT = re.compile(r"-?[0-9]+")
# Longer than any 64-bit integer, short enough that int() stays cheap.
_MAX_INT_TEXT = 21
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DATETIME_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_BOOL_TEXT = ("false", "true")


# ---------------------------------------------------------------------------
# Output


def to_od(message: Message) -> dict[str, Any]:
    """One message as Open Dental's JSON object: every field, defaults included
    (an unset nested object, which the Sheets API never has, is null)."""
    return _encoder(message.DESCRIPTOR)(message)


def response_to_od(route: Route, response: Message) -> Any:
    """The REST body of a response: the `response_body` field (a list for a
    repeated field) or, without one, the whole message."""
    return _response_encoder(route.method_descriptor.output_type, route.response_body)(response)


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


def _datetime_text(value: datetime_pb2.DateTime) -> str:
    year, month, day, hours, minutes, seconds = _DATETIME_PARTS(value)
    if not (year or month or day):
        return UNSET_DATETIME
    return f"{_year(year)}-{_D2[month]}-{_D2[day]} {_D2[hours]}:{_D2[minutes]}:{_D2[seconds]}"


def _date_text(value: date_pb2.Date) -> str:
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


def _value_encoder(field: FieldDescriptor) -> Callable[[Any], Any] | None:
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
    if kind in _FLOATS:
        return _finite
    if kind == _FD.TYPE_MESSAGE:
        nested = message_type(field)
        if nested.full_name == DATETIME_MESSAGE:
            return _datetime_text
        if nested.full_name == DATE_MESSAGE:
            return _date_text
        if nested.GetOptions().map_entry:
            raise TypeError(f"{field.full_name}: map fields have no place in Open Dental's dialect")
        # Looked up per call so that a message may contain itself.
        return lambda value: _encoder(nested)(value)
    return None


def _field_encoder(field: FieldDescriptor) -> Callable[[Any], Any] | None:
    convert = _value_encoder(field)
    if not field.is_repeated:
        return convert
    if convert is None:
        return list
    if _is_plain_message(field):
        nested = message_type(field)
        # A list of sheets is the common response: one encoder lookup per list.
        return lambda values: list(map(_encoder(nested), values))
    return lambda values: [convert(value) for value in values]


@cache
def _encoder(descriptor: Descriptor) -> Callable[[Message], dict[str, Any]]:
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
        convert = _field_encoder(field)
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


@cache
def _response_encoder(descriptor: Descriptor, response_body: str) -> Callable[[Message], Any]:
    if not response_body:
        return _encoder(descriptor)
    read = attrgetter(response_body)
    convert = _field_encoder(descriptor.fields_by_name[response_body])
    if convert is None:
        return read
    return lambda response: convert(read(response))


# ---------------------------------------------------------------------------
# Input


def parse_json_body(raw: bytes) -> Any:
    """A request body as JSON; an empty body is None (every field absent).

    Refuses what .NET would: bytes that are not UTF-8, text that is not JSON,
    NaN/Infinity, and an object with the same key twice.
    """
    if not raw.strip():
        return None
    try:
        # .NET clients may send a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument("Malformed JSON: the body is not UTF-8 text.") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_object_without_duplicates)
    except json.JSONDecodeError as error:
        raise InvalidArgument(
            f"Malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except ValueError:
        # int() refuses numbers of thousands of digits.
        raise InvalidArgument("Malformed JSON: a number is too long.") from None
    except RecursionError:
        raise InvalidArgument("Malformed JSON: it is nested too deeply.") from None


def _refuse_constant(name: str) -> Any:
    raise InvalidArgument(f"Malformed JSON: {name} is not a JSON value.")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidArgument(f"Duplicate field: '{_shown(key)}'.", field=key)
            seen.add(key)
    return result


def body_to_message(route: Route, data: Any, request: Message) -> None:
    """Fill `request` from a parsed JSON body (`parse_json_body`).

    Call after `query_to_message`: a body key bound to the path is accepted
    only when it repeats the path's value.
    """
    if not route.body:
        raise InvalidArgument("This route takes no request body.")
    if data is None:
        return
    table = _inputs(request.DESCRIPTOR)
    if route.body == "*":
        if type(data) is not dict:
            raise InvalidArgument("The request body must be a JSON object.")
        _fill(request, data, table, "", route.path_fields)
        return
    field = table.by_name[route.body]
    _assign(request, field, field.from_json(data, field.json_name), field.json_name)


def query_to_message(
    route: Route,
    query: Mapping[str, str] | Sequence[tuple[str, str]],
    path: Mapping[str, str],
    request: Message,
) -> None:
    """Fill `request` from the path parameters (keyed by proto field name, as
    aiohttp's match_info is for `Route.aiohttp_path`) and the query string.

    Query parameters are the request fields bound to neither the path nor the
    body; a parameter may appear once unless its field is repeated.
    """
    table = _inputs(request.DESCRIPTOR)
    for name in route.path_fields:
        text = path.get(name)
        if text is not None:
            field = table.by_name[name]
            _assign(request, field, _from_text(field, text), field.json_name)
    items = query.items() if isinstance(query, Mapping) else query
    if not items:
        return
    allowed = _query_inputs(request.DESCRIPTOR, route.path_fields, route.body)
    seen: set[str] = set()
    for key, text in items:
        found = allowed.find(key)
        if found is None:
            raise InvalidArgument(f"Unknown query parameter: '{_shown(key)}'.", field=key)
        if found.name in seen and not found.repeated:
            raise InvalidArgument(f"Duplicate query parameter: '{found.json_name}'.", field=found.json_name)
        seen.add(found.name)
        value = _from_text(found, text)
        if found.repeated:
            value = [value]
        _assign(request, found, value, found.json_name)


_FromJson = Callable[[Any, str], Any]
_FromText = Callable[[str, str], Any]


@dataclass(frozen=True, slots=True)
class _Input:
    name: str
    json_name: str
    repeated: bool
    message: bool
    # (value, label) -> the value to store; label names the field in errors.
    from_json: _FromJson
    # None: the field cannot be written as a query or path parameter.
    from_text: _FromText | None


@dataclass(frozen=True, slots=True)
class _Inputs:
    by_name: Mapping[str, _Input]
    by_json: Mapping[str, _Input]
    by_folded: Mapping[str, _Input]

    def find(self, key: str) -> _Input | None:
        field = self.by_json.get(key)
        if field is None:
            field = self.by_folded.get(key.lower())
        return field


@cache
def _inputs(descriptor: Descriptor) -> _Inputs:
    fields = [_input(field) for field in descriptor.fields]
    return _tables(fields)


@cache
def _query_inputs(descriptor: Descriptor, path_fields: tuple[str, ...], body: str) -> _Inputs:
    if body == "*":
        return _tables([])
    bound = {*path_fields, body}
    return _tables([f for f in _inputs(descriptor).by_name.values() if f.name not in bound])


def _tables(fields: list[_Input]) -> _Inputs:
    return _Inputs(
        by_name={f.name: f for f in fields},
        by_json={f.json_name: f for f in fields},
        by_folded={f.json_name.lower(): f for f in fields},
    )


def _from_text(field: _Input, text: str) -> Any:
    if field.from_text is None:
        raise InvalidArgument(f"{field.json_name} cannot be given in the URL.", field=field.json_name)
    return field.from_text(text, field.json_name)


def _fill(
    message: Message, data: dict[str, Any], table: _Inputs, prefix: str, path_fields: tuple[str, ...] = ()
) -> None:
    seen: set[str] = set()
    for key, value in data.items():
        field = table.find(key)
        if field is None:
            raise InvalidArgument(f"Unknown field: '{_shown(prefix + key)}'.", field=prefix + key)
        label = prefix + field.json_name
        if field.name in seen:
            raise InvalidArgument(f"Duplicate field: '{_shown(prefix + key)}'.", field=label)
        seen.add(field.name)
        if value is None:
            continue
        converted = field.from_json(value, label)
        if field.name in path_fields:
            # The URL names the resource; a body that names another one is a
            # mistake we refuse rather than guess which was meant.
            if getattr(message, field.name) != converted:
                raise InvalidArgument(f"{label} in the body does not match the URL.", field=label)
            continue
        _assign(message, field, converted, label)


def _assign(message: Message, field: _Input, value: Any, label: str) -> None:
    try:
        if field.repeated:
            getattr(message, field.name).extend(value)
        elif field.message:
            getattr(message, field.name).CopyFrom(value)
        else:
            setattr(message, field.name, value)
    except (ValueError, TypeError):
        # The parsers admit only storable values; this is the last guard that
        # keeps a protobuf complaint from becoming a 500.
        raise InvalidArgument(f"{label} is invalid.", field=label) from None


def _input(field: FieldDescriptor) -> _Input:
    from_json, from_text = _value_parsers(field)
    if field.is_repeated:
        from_json = _repeated(from_json)
    return _Input(
        name=field.name,
        json_name=field.json_name,
        repeated=field.is_repeated,
        message=field.type == _FD.TYPE_MESSAGE,
        from_json=from_json,
        from_text=from_text,
    )


def _value_parsers(field: FieldDescriptor) -> tuple[_FromJson, _FromText | None]:
    kind = field.type
    if kind in _INT_RANGES:
        return _int_parsers(*_INT_RANGES[kind])
    if kind == _FD.TYPE_STRING:
        return _string_from_json, _checked_text
    if kind == _FD.TYPE_BOOL:
        return _bool_from_json, _bool_from_text
    if kind == _FD.TYPE_ENUM:
        return _enum_parsers(enum_type(field))
    if kind in _FLOATS:
        return _float_from_json, _float_from_text
    if kind == _FD.TYPE_BYTES:
        return _bytes_from_json, _bytes_from_text
    if kind == _FD.TYPE_MESSAGE:
        nested = message_type(field)
        if nested.full_name == DATETIME_MESSAGE:
            from_text = _datetime_parser(message_factory.GetMessageClass(nested))
            return _text_only(from_text), from_text
        if nested.full_name == DATE_MESSAGE:
            from_text = _date_parser(message_factory.GetMessageClass(nested))
            return _text_only(from_text), from_text
        if nested.GetOptions().map_entry:
            raise TypeError(f"{field.full_name}: map fields have no place in Open Dental's dialect")
        return _message_parser(nested), None
    raise TypeError(f"{field.full_name}: unsupported field type {kind}")


def _shown(text: str) -> str:
    """Echo a caller's text safely: short, and only printable characters (a
    lone surrogate would make the error itself unencodable)."""
    short = "".join(c if c.isprintable() else "?" for c in text[:40])
    return short + "..." if len(text) > 40 else short


def _int_parsers(low: int, high: int) -> tuple[_FromJson, _FromText]:
    def check(value: int, label: str) -> int:
        if low <= value <= high:
            return value
        raise InvalidArgument(
            f"{label} is invalid. It must be a whole number from {low} to {high}.", field=label
        )

    def from_json(value: Any, label: str) -> int:
        if type(value) is int:
            return check(value, label)
        # .NET reads 5.0 as 5; a fraction, a bool or a string is not a number.
        if type(value) is float and value.is_integer():
            return check(int(value), label)
        raise InvalidArgument(f"{label} is invalid. It must be a whole number.", field=label)

    def from_text(text: str, label: str) -> int:
        if not _INT_TEXT.fullmatch(text):
            raise InvalidArgument(f"{label} is invalid. It must be a whole number.", field=label)
        if len(text) > _MAX_INT_TEXT:
            return check(high + 1, label)
        return check(int(text), label)

    return from_json, from_text


def _checked_text(text: str, label: str) -> str:
    # Protobuf stores UTF-8; JSON's "\ud800" escape can carry a lone surrogate.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(f"{label} is invalid. It is not valid Unicode text.", field=label) from None
    return text


def _string_from_json(value: Any, label: str) -> str:
    if type(value) is not str:
        raise InvalidArgument(f"{label} must be a string.", field=label)
    return _checked_text(value, label)


def _bool_from_text(text: str, label: str) -> bool:
    folded = text.lower()
    if folded == "true":
        return True
    if folded == "false":
        return False
    raise InvalidArgument(f'{label} must be "true" or "false".', field=label)


def _bool_from_json(value: Any, label: str) -> bool:
    if type(value) is bool:
        return value
    if type(value) is str:
        return _bool_from_text(value, label)
    raise InvalidArgument(f'{label} must be "true" or "false".', field=label)


def _enum_parsers(enum: EnumDescriptor) -> tuple[_FromJson, _FromText]:
    values = od_enum_values(enum)
    by_name = {v.name.lower(): v.number for v in values}
    by_od_value = {v.od_value: v.number for v in values}
    type_name = enum.name

    def invalid(shown: str, label: str) -> InvalidArgument:
        return InvalidArgument(f"{label} '{shown}' is not a valid {type_name}.", field=label)

    def from_text(text: str, label: str) -> int:
        number = by_name.get(text.lower())
        if number is None and _INT_TEXT.fullmatch(text) and len(text) <= _MAX_INT_TEXT:
            number = by_od_value.get(int(text))
        if number is None:
            raise invalid(_shown(text), label)
        return number

    def from_json(value: Any, label: str) -> int:
        if type(value) is str:
            return from_text(value, label)
        if type(value) is int:
            number = by_od_value.get(value)
            if number is None:
                raise invalid(_shown(str(value)), label)
            return number
        raise InvalidArgument(f"{label} must be the name of a {type_name}.", field=label)

    return from_json, from_text


def _float_from_json(value: Any, label: str) -> float:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return float(value)
    raise InvalidArgument(f"{label} is invalid. It must be a number.", field=label)


def _float_from_text(text: str, label: str) -> float:
    if _NUMBER_TEXT.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    raise InvalidArgument(f"{label} is invalid. It must be a number.", field=label)


def _bytes_from_text(text: str, label: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{label} must be base64 text.", field=label) from None


def _bytes_from_json(value: Any, label: str) -> bytes:
    if type(value) is not str:
        raise InvalidArgument(f"{label} must be base64 text.", field=label)
    return _bytes_from_text(value, label)


def _text_only(from_text: _FromText) -> _FromJson:
    def from_json(value: Any, label: str) -> Any:
        if type(value) is not str:
            # from_text's message says what the text must look like.
            return from_text("", label)
        return from_text(value, label)

    return from_json


# The message classes come from the field: a descriptor from another pool has
# its own DateTime class, and CopyFrom refuses a stranger.
def _datetime_parser(message_class: type[Message]) -> _FromText:
    def from_text(text: str, label: str) -> Message:
        match = _DATETIME_TEXT.fullmatch(text)
        if match:
            year, month, day, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
            try:
                datetime(year, month, day, hours, minutes, seconds)  # only checks the calendar
            except ValueError:
                pass
            else:
                return message_class(
                    year=year, month=month, day=day, hours=hours, minutes=minutes, seconds=seconds
                )
        raise InvalidArgument(f'{label} must be a date and time as "yyyy-MM-dd HH:mm:ss".', field=label)

    return from_text


def _date_parser(message_class: type[Message]) -> _FromText:
    def from_text(text: str, label: str) -> Message:
        match = _DATE_TEXT.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                date(year, month, day)
            except ValueError:
                pass
            else:
                return message_class(year=year, month=month, day=day)
        raise InvalidArgument(f'{label} must be a date as "yyyy-MM-dd".', field=label)

    return from_text


def _message_parser(descriptor: Descriptor) -> _FromJson:
    message_class = message_factory.GetMessageClass(descriptor)

    def from_json(value: Any, label: str) -> Message:
        if type(value) is not dict:
            raise InvalidArgument(f"{label} must be a JSON object.", field=label)
        nested = message_class()
        # Looked up per call so that a message may contain itself.
        _fill(nested, value, _inputs(descriptor), label + ".")
        return nested

    return from_json


def _repeated(element: _FromJson) -> _FromJson:
    def from_json(value: Any, label: str) -> list[Any]:
        if type(value) is not list:
            raise InvalidArgument(f"{label} must be a JSON array.", field=label)
        return [element(item, label) for item in value]

    return from_json

"""Open Dental's JSON dialect, in: request bodies, and query and path text,
into messages, derived from the descriptors.

Input follows what an Open Dental client may send to Open Dental's .NET API:
keys and query parameter names match case-insensitively (reported by their
canonical spelling); booleans are "true"/"false" in any case or JSON
true/false; enums are a name in any case or Open Dental's integer; null is
the same as leaving the key out. A key or query parameter that names no field
is ignored, as Open Dental's API ignores it, and its name (never its value) is
noted for the request's log line. Everything else that does not fit a field is
refused with an `InvalidArgument` naming the field; nothing else ever escapes
for bad input.

Every message gets its input table built once, from its descriptor, on first use.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.encoder import DATE_MESSAGE, DATETIME_MESSAGE, FLOAT_TYPES
from service.contract import InvalidArgument, enum_type, message_type, od_enum_values

_FD = FieldDescriptor
_INT_RANGES: dict[int, tuple[int, int]] = {
    **dict.fromkeys((_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((_FD.TYPE_UINT32, _FD.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((_FD.TYPE_UINT64, _FD.TYPE_FIXED64), (0, 2**64 - 1)),
}
_INT_TEXT = re.compile(r"-?[0-9]+")
# Longer than any 64-bit integer, short enough that int() stays cheap.
_MAX_INT_TEXT = 21
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DATETIME_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


# A request's ignored names are kept apart from its values: only names are logged.
_MAX_IGNORED = 20
_ignored: ContextVar[list[str] | None] = ContextVar("ignored_names", default=None)


@contextmanager
def collecting_ignored() -> Iterator[list[str]]:
    """The names ignored while the block decodes (each once, at most 20, shown safely)."""
    names: list[str] = []
    token = _ignored.set(names)
    try:
        yield names
    finally:
        _ignored.reset(token)


def ignore(name: str) -> None:
    """Note a name that matched no field."""
    names = _ignored.get()
    if names is None or len(names) >= _MAX_IGNORED:
        return
    label = shown(name)
    if label not in names:
        names.append(label)


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
                raise InvalidArgument(f"Duplicate field: '{shown(key)}'.", field=key)
            seen.add(key)
    return result


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
def inputs(descriptor: Descriptor) -> _Inputs:
    fields = [_input(field) for field in descriptor.fields]
    return _tables(fields)


@cache
def query_inputs(descriptor: Descriptor, path_fields: tuple[str, ...], body: str) -> _Inputs:
    if body == "*":
        return _tables([])
    bound = {*path_fields, body}
    return _tables([f for f in inputs(descriptor).by_name.values() if f.name not in bound])


def _tables(fields: list[_Input]) -> _Inputs:
    return _Inputs(
        by_name={f.name: f for f in fields},
        by_json={f.json_name: f for f in fields},
        by_folded={f.json_name.lower(): f for f in fields},
    )


def from_text(field: _Input, text: str) -> Any:
    if field.from_text is None:
        raise InvalidArgument(f"{field.json_name} cannot be given in the URL.", field=field.json_name)
    return field.from_text(text, field.json_name)


def fill(
    message: Message, data: dict[str, Any], table: _Inputs, prefix: str, path_fields: tuple[str, ...] = ()
) -> None:
    seen: set[str] = set()
    for key, value in data.items():
        field = table.find(key)
        if field is None:
            ignore(prefix + key)
            continue
        label = prefix + field.json_name
        if field.name in seen:
            raise InvalidArgument(f"Duplicate field: '{shown(prefix + key)}'.", field=label)
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
        assign(message, field, converted, label)


def assign(message: Message, field: _Input, value: Any, label: str) -> None:
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
    if kind in FLOAT_TYPES:
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


def shown(text: str) -> str:
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
            raise invalid(shown(text), label)
        return number

    def from_json(value: Any, label: str) -> int:
        if type(value) is str:
            return from_text(value, label)
        if type(value) is int:
            number = by_od_value.get(value)
            if number is None:
                raise invalid(shown(str(value)), label)
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
# its own DateTime class, and CopyFrom refuses a stranger. Typed as a constructor:
# the fields are keywords of the generated class, unknown to type[Message].
def _datetime_parser(message_class: Callable[..., Message]) -> _FromText:
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


def _date_parser(message_class: Callable[..., Message]) -> _FromText:
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
        fill(nested, value, inputs(descriptor), label + ".")
        return nested

    return from_json


def _repeated(element: _FromJson) -> _FromJson:
    def from_json(value: Any, label: str) -> list[Any]:
        if type(value) is not list:
            raise InvalidArgument(f"{label} must be a JSON array.", field=label)
        return [element(item, label) for item in value]

    return from_json

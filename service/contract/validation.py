"""The input rules declared on request fields in the proto, `(rules)`, on the
request's own fields and on those of the messages a repeated field lists
(reported as `SheetFields[2].FieldName`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from opendental.sheets.v1 import options_pb2
from service.contract.errors import InvalidArgument

_Check = Callable[[Message], None]


def _field_checks(field: FieldDescriptor) -> list[_Check]:
    rules = field.GetOptions().Extensions[options_pb2.rules]
    name, json = field.name, field.json_name
    checks: list[_Check] = []
    if field.enum_type is not None:
        # Proto3 enums accept any number on the wire; only declared ones mean something.
        known = frozenset(value.number for value in field.enum_type.values)

        def declared(message: Message) -> None:
            if getattr(message, name) not in known:
                raise InvalidArgument(f"{json} is invalid.", field=json)

        checks.append(declared)
    tracks_presence = field.has_presence
    if rules.required:
        if tracks_presence:

            def required(message: Message) -> None:
                if not message.HasField(name):
                    raise InvalidArgument(f"{json} is required.", field=json)

            checks.append(required)
        elif not rules.positive:
            # Path parameters have no presence: the zero value is what "absent" looks like.
            def required(message: Message) -> None:
                if not getattr(message, name):
                    raise InvalidArgument(f"{json} is required.", field=json)

            checks.append(required)
    if rules.positive:

        def positive(message: Message) -> None:
            if (not tracks_presence or message.HasField(name)) and getattr(message, name) <= 0:
                raise InvalidArgument(f"{json} is invalid.", field=json)

        checks.append(positive)
    if rules.max_length:
        limit = rules.max_length

        def max_length(message: Message) -> None:
            value: str = getattr(message, name)
            # The limit is the column's, in bytes (MySQL TEXT holds 65535 bytes, not characters).
            if len(value) > limit or (not value.isascii() and len(value.encode()) > limit):
                raise InvalidArgument(f"{json} is too long: at most {limit} bytes of UTF-8.", field=json)

        checks.append(max_length)
    return checks


def _item_checks(field: FieldDescriptor) -> list[_Check]:
    # Only the item's own fields decide: looking deeper here would never end
    # for a message that lists itself.
    item = field.message_type
    if not (field.is_repeated and item is not None and any(_field_checks(f) for f in item.fields)):
        return []
    name, json = field.name, field.json_name

    def items(message: Message) -> None:
        for index, item in enumerate(getattr(message, name)):
            try:
                validate(item)
            except InvalidArgument as error:
                label = f"{json}[{index}]."
                raise InvalidArgument(label + error.message, field=label + (error.field or "")) from None

    return [items]


@cache
def _checks(descriptor: Descriptor) -> tuple[_Check, ...]:
    return tuple(
        check for field in descriptor.fields for check in (*_field_checks(field), *_item_checks(field))
    )


def validate(request: Message) -> None:
    """Raise InvalidArgument for the first rule the request breaks."""
    for check in _checks(request.DESCRIPTOR):
        check(request)

"""The contract the edges depend on alone: the SheetService descriptor, which
methods write, Open Dental's enum integers, and the descriptor helpers.

It imports only the generated code (and protobuf), so a process that only
fronts a remote gRPC server (`sheets gateway --target`) never loads the
renderer, SFTP or the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from google.api import annotations_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, MethodDescriptor

from opendental.sheets.v1 import options_pb2, resources_pb2, sheet_service_pb2

SERVICE = sheet_service_pb2.DESCRIPTOR.services_by_name["SheetService"]


def http_rule(method: MethodDescriptor) -> annotations_pb2.HttpRule:
    """The method's `google.api.http` annotation."""
    rule: annotations_pb2.HttpRule = method.GetOptions().Extensions[annotations_pb2.http]
    return rule


# Every method but a GET changes something: a read-only key may not call it.
WRITE_METHODS = frozenset(m.name for m in SERVICE.methods if http_rule(m).WhichOneof("pattern") != "get")
# Of those, the ones that write the database (the export writes to an SFTP server): 507 when it is full.
DATABASE_WRITE_METHODS = WRITE_METHODS - {"ExportSheetSftp"}


def is_header_text(value: str) -> bool:
    """Printable ASCII: all an Authorization value can be, and all gRPC metadata may carry."""
    return value.isascii() and value.isprintable()


def message_type(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field."""
    if field.message_type is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return field.message_type


def enum_type(field: FieldDescriptor) -> EnumDescriptor:
    """The enum type of an enum field."""
    if field.enum_type is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return field.enum_type


@dataclass(frozen=True, slots=True)
class OdEnumValue:
    """One enum value as Open Dental knows it."""

    name: str
    od_value: int
    number: int


@cache
def od_enum_values(enum: EnumDescriptor) -> tuple[OdEnumValue, ...]:
    """The values of an enum that Open Dental has, with its names and integers.

    Values without `(open_dental)` keep their proto name and number, except
    zero, which proto3 reserves for "unspecified".
    """
    values = []
    for value in enum.values:
        options = value.GetOptions()
        if options.HasExtension(options_pb2.open_dental):
            od = options.Extensions[options_pb2.open_dental]
            values.append(OdEnumValue(od.name, od.value, value.number))
        elif value.number != 0:
            values.append(OdEnumValue(value.name, value.number, value.number))
    return tuple(values)


def _od_to_proto(enum_name: str) -> dict[int, int]:
    """Open Dental's integer -> proto number, from the (open_dental) options."""
    enum = resources_pb2.DESCRIPTOR.enum_types_by_name[enum_name]
    return {
        value.GetOptions().Extensions[options_pb2.open_dental].value: value.number
        for value in enum.values
        if value.GetOptions().HasExtension(options_pb2.open_dental)
    }


SHEET_TYPE_TO_PROTO = _od_to_proto("SheetType")
SHEET_TYPE_TO_OD = {number: od for od, number in SHEET_TYPE_TO_PROTO.items()}
FIELD_TYPE_TO_PROTO = _od_to_proto("SheetFieldType")

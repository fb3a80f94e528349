"""The values a caller may give a sheet's fields: UpdateSheetField's rules, and
the same rules for the values given with CreateSheet (`SheetFields`).

Only OutputText, InputField and CheckBox fields take a value, a CheckBox "X"
or blank. On create a value names its fields by FieldName; the boxes of a radio
group (the CheckBoxes sharing a FieldName such as `problem:Asthma`, or a
`RadioButtonGroup`) are picked by RadioButtonValue, and the group's other
boxes are cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.contract import InvalidArgument
from service.vocab import SheetFieldType, od_name

UPDATABLE_FIELD_TYPES = (SheetFieldType.OutputText, SheetFieldType.InputField, SheetFieldType.CheckBox)
_CHECKED = "X"


def value_problem(field_type: int, value: str) -> str | None:
    """Why a field of `field_type` cannot hold `value`, or None when it can."""
    if field_type not in UPDATABLE_FIELD_TYPES:
        return "Only OutputText, InputField and CheckBox fields can be updated."
    if field_type == SheetFieldType.CheckBox and value not in (_CHECKED, ""):
        return 'FieldValue of a CheckBox must be "X" or blank.'
    return None


@dataclass(frozen=True, slots=True)
class GivenValue:
    """One `SheetFields` item of a create: None where a key was not given."""

    name: str
    value: str | None
    radio_button_value: str | None


@dataclass(frozen=True, slots=True)
class FieldPlaces:
    """Where a new field row holds the columns applying values reads and writes."""

    field_type: int
    field_name: int
    field_value: int
    radio_button_value: int
    radio_button_group: int


class _Row(Protocol):
    def __getitem__(self, key: int, /) -> Any: ...

    def __setitem__(self, key: int, value: Any, /) -> None: ...


def _type_name(field_type: int) -> str:
    try:
        return od_name(SheetFieldType(field_type))
    except ValueError:
        return str(field_type)


def _shown(text: str) -> str:
    # A caller's text in an error: short, and only printable characters.
    short = "".join(c if c.isprintable() else "?" for c in text[:60])
    return short + "..." if len(text) > 60 else short


def _refuse(name: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"SheetFields '{_shown(name)}': {problem}", field="SheetFields")


def apply_values(rows: Sequence[_Row], given: Sequence[GivenValue], places: FieldPlaces) -> None:
    """Set the given values in a new sheet's field rows (already filled).

    Every item is checked before any row changes; the first that names no
    field, a field that takes no value or a value it cannot hold raises
    InvalidArgument naming it.
    """
    t, n, v, r, g = (
        places.field_type,
        places.field_name,
        places.field_value,
        places.radio_button_value,
        places.radio_button_group,
    )
    changes: list[tuple[_Row, str]] = []
    seen: set[str] = set()
    for item in given:
        name = item.name
        if name in seen:
            raise _refuse(name, "the name is given twice.")
        seen.add(name)
        named = [row for row in rows if row[n] == name or (row[g] and row[g] == name)]
        if not named:
            raise _refuse(name, "no field of this SheetDef has this FieldName.")
        for row in named:
            wrong_type = value_problem(row[t], "")
            if wrong_type:
                raise _refuse(name, f"it is a {_type_name(row[t])} field. {wrong_type}")
        boxes = [row for row in named if row[t] == SheetFieldType.CheckBox]
        if item.radio_button_value is not None:
            value = _CHECKED if item.value is None else item.value
            if len(boxes) != len(named):
                raise _refuse(name, "RadioButtonValue is for a radio group of CheckBoxes.")
            picked = {id(row) for row in boxes if row[r] == item.radio_button_value}
            if not picked:
                shown = _shown(item.radio_button_value)
                raise _refuse(name, f"no box of this radio group has RadioButtonValue '{shown}'.")
            problem = value_problem(SheetFieldType.CheckBox, value)
            if problem:
                raise _refuse(name, problem)
            changes += [(row, value if id(row) in picked else "") for row in boxes]
            continue
        if item.value is None:
            raise _refuse(name, "FieldValue is required (or RadioButtonValue, in a radio group).")
        if len(boxes) > 1 and len(boxes) == len(named):
            raise _refuse(name, "this is a radio group: RadioButtonValue picks its box.")
        if len(named) > 1:
            raise _refuse(name, f"{len(named)} fields have this FieldName: it names none of them alone.")
        for row in named:
            problem = value_problem(row[t], item.value)
            if problem:
                raise _refuse(name, problem)
            changes.append((row, item.value))
    for row, value in changes:
        row[v] = value

"""Filling a new sheet's fields, as Open Dental's SheetFiller does.

StaticText replaces its `[token]`s (`service.filling.tokens`), whatever the sheet's
type. Other fields are filled by FieldName, and only with the names Open
Dental fills for the sheet's type: a Consent fills `patient.nameFL` and
`dateTime.Today`, a PatientLetter the practice, the patient's address, the
salutation and the provider, a PatientForm the patient's columns, radio groups
(Gender, Position, Prefer*Method, StudentStatus, ins*Relat), ICE and
insurance, a MedicalHistory names, ICE, `allergy:`/`problem:` check boxes and
`inputMedN` fields, an ExamSheet names, gender, race, the provider and the
sheet's time. Everything else keeps the definition's FieldValue. A letter's
StaticText then expands `[ExamSheet:Description;Field]` (`service.filling.exam_refs`).

Values come from the patient row and `FillData` (Open Dental's other tables,
read by `service.filling.data`); dates, times and money are formatted for the
office's culture (`service.vocab.cultures`). Line breaks inside a value are `\\r\\n`,
as Open Dental stores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from service.filling import data as d
from service.filling import history as h
from service.filling.data import FillData
from service.filling.exam_refs import LETTER_TYPES, expand
from service.filling.tokens import TokenContext, name_fl, name_fl_formal, needs_of, salutation, token_values
from service.filling.tokens_history import race_name
from service.vocab import EN_US, Culture, SheetFieldType, SheetType, real_date

# The patient columns filling reads; the caller selects exactly these.
PATIENT_COLUMNS = (
    *("PatNum", "LName", "FName", "MiddleI", "Preferred", "Title", "Salutation", "Gender", "Position"),
    *("Birthdate", "SSN", "Address", "Address2", "City", "State", "Zip", "HmPhone", "WkPhone"),
    *("WirelessPhone", "Email", "ChartNumber", "MedUrgNote", "ApptModNote", "DateFirstVisit", "Premed"),
    *("StudentStatus", "PreferConfirmMethod", "PreferContactMethod", "PreferRecallMethod", "ClinicNum"),
    *("Language", "Guarantor", "PriProv", "BillingType", "SiteNum", "SuperFamily"),
)

# Where `Filler.fill` finds a field's FieldType, FieldName, FieldValue, RadioButtonValue, IsRequired.
FIELD_KEYS = ("FieldType", "FieldName", "FieldValue", "RadioButtonValue", "IsRequired")


class Field(Protocol):
    """A new field being filled: a mapping by column name, or a row by position."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def __setitem__(self, key: Any, value: Any, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Practice:
    """The practice's name, address and phone (Open Dental's Practice* preferences)."""

    title: str
    address: str
    address2: str
    city: str
    state: str
    zip: str
    phone: str

    def with_preferences(self, preferences: Mapping[str, str]) -> Practice:
        """The practice Open Dental's `preference` rows describe, where there are any (they win
        over the settings as a whole: a preference Open Dental has no row for is blank)."""
        names = (
            *("PracticeTitle", "PracticeAddress", "PracticeAddress2", "PracticeCity", "PracticeST"),
            *("PracticeZip", "PracticePhone"),
        )
        if not any(n in preferences for n in names):
            return self
        return Practice(*(preferences.get(n, "") for n in names))


# Open Dental's tokens are identifiers: `[ExamSheet:Name;Field]` and prose in
# brackets never match and are left alone.
_TOKEN = re.compile(r"\[([A-Za-z][A-Za-z0-9_]*)\]")
# Patient enums by their integers, spelled as Open Dental's ToString() spells them.
_GENDERS = ("Male", "Female", "Unknown", "Other")
_POSITIONS = ("Single", "Married", "Child", "Widowed", "Divorced")
_CONTACT_METHODS = (
    *("None", "DoNotCall", "HmPhone", "WkPhone", "WirelessPh", "Email", "SeeNotes", "Mail", "TextMessage"),
)
_RELATIONSHIPS = (
    *("Self", "Spouse", "Child", "Employee", "HandicapDep", "SignifOther", "InjuredPlaintiff"),
    *("LifePartner", "Dependent"),
)
_STUDENT_STATUSES = {"F": "Fulltime", "N": "Nonstudent", "P": "Parttime"}
_INPUT_MED = re.compile(r"inputMed(\d+)$")

# The FieldNames each type fills (Open Dental's FillFieldsFor<Type>), besides StaticText.
_NAMES_BY_TYPE: dict[int, frozenset[str]] = {
    SheetType.Consent: frozenset({"patient.nameFL", "dateTime.Today"}),
    SheetType.PatientLetter: frozenset(
        {"PracticeTitle", "PracticeAddress", "practiceCityStateZip", "patient.nameFL", "patient.address"}
        | {"patient.cityStateZip", "today.DayDate", "patient.salutation", "patient.priProvNameFL"}
    ),
    SheetType.PatientForm: frozenset(
        {"Address", "Address2", "addressAndHmPhoneIsSameEntireFamily", "Birthdate", "City", "Email", "FName"}
        | {"HmPhone", "ICEName", "ICEPhone", "LName", "MiddleI", "Preferred", "referredFrom", "SSN", "State"}
        | {"WirelessPhone", "wirelessCarrier", "WkPhone", "Zip"}
        | {f"ins{n}{part}" for n in (1, 2) for part in ("CarrierName", "CarrierPhone", "EmployerName")}
        | {f"ins{n}{part}" for n in (1, 2) for part in ("GroupName", "GroupNum", "SubscriberID")}
        | {"ins1SubscriberNameF", "ins2SubscriberNameF"}
    ),
    SheetType.MedicalHistory: frozenset({"Birthdate", "FName", "ICEName", "ICEPhone", "LName"}),
    SheetType.ExamSheet: frozenset(
        {
            "Birthdate",
            "FName",
            "LName",
            "MiddleI",
            "patient.priProvNameFL",
            "Preferred",
            "sheet.DateTimeSheet",
        }
    ),
}
_RADIOS_BY_TYPE: dict[int, frozenset[str]] = {
    SheetType.PatientForm: frozenset(
        {"Gender", "Position", "PreferConfirmMethod", "PreferContactMethod", "PreferRecallMethod"}
        | {"StudentStatus", "ins1Relat", "ins2Relat"}
    ),
    SheetType.ExamSheet: frozenset({"Gender", "Race"}),
}
_NEEDS_BY_TYPE: dict[int, frozenset[str]] = {
    SheetType.PatientLetter: frozenset({d.PREFERENCES, d.PROVIDER}),
    SheetType.PatientForm: frozenset({d.NOTE, d.FAMILY, d.REFERRALS, d.INSURANCE}),
    SheetType.MedicalHistory: frozenset({d.NOTE, d.ALLERGIES, d.PROBLEMS, d.MEDICATIONS}),
    SheetType.ExamSheet: frozenset({d.PREFERENCES, d.PROVIDER}),
}


def needs(sheet_type: int, static_texts: Iterable[str], check_boxes: Iterable[str] = ()) -> set[str]:
    """The reads (`service.filling.data`) a sheet of this type with these StaticText values and
    CheckBox FieldNames needs."""
    tokens = {m[1] for text in static_texts if "[" in text for m in _TOKEN.finditer(text)}
    wanted = set(_NEEDS_BY_TYPE.get(sheet_type, frozenset())) | needs_of(tokens)
    if sheet_type == SheetType.ExamSheet and "Race" in check_boxes:
        wanted.add(h.RACES)
    return wanted


def _age(birthdate: date | None, today: date) -> str:
    if birthdate is None:
        return ""
    age = today.year - birthdate.year - ((today.month, today.day) < (birthdate.month, birthdate.day))
    # Open Dental shows no age rather than 0.
    return str(age) if age > 0 else ""


def _lines(separator: str, *parts: str) -> str:
    return separator.join(p for p in parts if p.strip())


def _phone_for(culture: Culture) -> Any:
    def phone(number: str) -> str:
        # Open Dental's TelephoneNumbers.ReFormat, for North American numbers only.
        if culture.name not in ("en-US", "en-CA") or not number.isdigit():
            return number
        if len(number) == 10:
            return f"({number[:3]}){number[3:6]}-{number[6:]}"
        if len(number) == 11:
            return f"{number[0]}({number[1:4]}){number[4:7]}-{number[7:]}"
        return number

    return phone


def _enum_name(names: tuple[str, ...], value: int) -> str:
    # .NET prints an undefined enum value as its number.
    return names[value] if 0 <= value < len(names) else str(value)


class Filler:
    """The values of one new sheet: built once per sheet, then asked field by field.

    Only what the sheet's type fills is worked out up front; the token values
    (about 150, several formatted by the culture) the first time a StaticText
    has a `[`.
    """

    __slots__ = ("_age", "_checked", "_context", "_data", "_names", "_radios", "_sheet_type", "_tokens")

    def __init__(
        self,
        patient: Mapping[str, Any],
        practice: Practice,
        now: datetime,
        sheet_type: int,
        *,
        data: FillData | None = None,
        culture: Culture = EN_US,
        apt_num: int = 0,
    ) -> None:
        p = patient
        data = data if data is not None else FillData()
        self._data, self._sheet_type = data, sheet_type
        ctx = TokenContext(p, data, practice, now, culture, _phone_for(culture), real_date, apt_num)
        self._context = ctx
        self._tokens: dict[str, str] | None = None
        today = now.date()
        self._age = _age(real_date(p["Birthdate"]), today)
        allowed = _NAMES_BY_TYPE.get(sheet_type, frozenset())
        ssn = p["SSN"]
        if culture.name == "en-US" and len(ssn) == 9:
            ssn = f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"
        provider = data.provider.formal_name if data.provider else ""
        names: dict[str, str] = {
            "patient.address": _lines("\r\n", p["Address"], p["Address2"]),
            "patient.cityStateZip": f"{p['City']}, {p['State']} {p['Zip']}",
            "patient.priProvNameFL": provider,
            "PracticeTitle": practice.title,
            "PracticeAddress": _lines("\r\n", practice.address, practice.address2),
            "practiceCityStateZip": f"{practice.city}, {practice.state}  {practice.zip}",
            "SSN": ssn,
            "ICEName": data.note.ice_name,
            "ICEPhone": data.note.ice_phone,
            "referredFrom": " ".join(x for x in (r.first, r.middle, r.last) if x)
            if (r := data.referred_from)
            else "",
            "wirelessCarrier": "",
        }
        # Formatted for the culture: only those the type fills.
        formatted: dict[str, Callable[[], str]] = {
            "patient.nameFL": (
                (lambda: name_fl_formal(p)) if sheet_type == SheetType.PatientLetter else (lambda: name_fl(p))
            ),
            "patient.salutation": lambda: f"Dear {salutation(p)}:",
            "today.DayDate": lambda: f"{culture.day_name(today)}, {culture.short_date(today)}",
            "dateTime.Today": lambda: culture.short_date(today),
            "sheet.DateTimeSheet": lambda: culture.general(now),
            "Birthdate": lambda: ctx.short_date(p["Birthdate"]),
        }
        for name in allowed & formatted.keys():
            names[name] = formatted[name]()
        for column in ("Address", "Address2", "City", "Email", "FName", "HmPhone", "LName", "MiddleI"):
            names[column] = p[column]
        for column in ("Preferred", "State", "WirelessPhone", "WkPhone", "Zip"):
            names[column] = p[column]
        if self._same_address_for_family(p):
            names["addressAndHmPhoneIsSameEntireFamily"] = "X"
        for n, plan in enumerate(data.coverage[:2], start=1):
            subscriber = ctx.family_member(plan.subscriber)
            names |= {
                f"ins{n}CarrierName": plan.carrier_name,
                f"ins{n}CarrierPhone": plan.carrier_phone,
                f"ins{n}EmployerName": plan.employer,
                f"ins{n}GroupName": plan.group_name,
                f"ins{n}GroupNum": plan.group_num,
                f"ins{n}SubscriberID": plan.subscriber_id,
                f"ins{n}SubscriberNameF": subscriber["FName"] if subscriber else "",
            }
        self._names = {k: v for k, v in names.items() if k in allowed}
        checked = {
            "Gender": _enum_name(_GENDERS, p["Gender"]),
            "Position": _enum_name(_POSITIONS, p["Position"]),
            "PreferConfirmMethod": _enum_name(_CONTACT_METHODS, p["PreferConfirmMethod"]),
            "PreferContactMethod": _enum_name(_CONTACT_METHODS, p["PreferContactMethod"]),
            "PreferRecallMethod": _enum_name(_CONTACT_METHODS, p["PreferRecallMethod"]),
            # CHAR(1) comes back space-padded from PostgreSQL.
            "StudentStatus": _STUDENT_STATUSES.get(p["StudentStatus"].strip(), ""),
            "Race": race_name(data.history.races),
        }
        for n, plan in enumerate(data.coverage[:2], start=1):
            checked[f"ins{n}Relat"] = _enum_name(_RELATIONSHIPS, plan.relationship)
        radios = _RADIOS_BY_TYPE.get(sheet_type, frozenset())
        self._checked = {k: v for k, v in checked.items() if k in radios}
        self._radios = radios

    def _same_address_for_family(self, p: Mapping[str, Any]) -> bool:
        keys = ("HmPhone", "Address", "Address2", "City", "State", "Zip")
        return all(all(m[k] == p[k] for k in keys) for m in self._data.family)

    def static_text(self, text: str) -> str:
        """Replace the tokens Open Dental knows in one pass; other bracketed names stay as written.

        One pass means a value that itself looks like a token (a name typed as
        "[nameL]") is never expanded again.
        """
        if "[" not in text:
            return text
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = token_values(self._context, self._age)
        filled = _TOKEN.sub(lambda m: tokens.get(m[1], m[0]), text)
        if self._sheet_type in LETTER_TYPES:
            # After the tokens, as Open Dental does.
            filled = expand(filled, self._data.exam_fields)
        return filled

    def value(self, field_type: int, field_name: str, field_value: str, radio_button_value: str) -> str:
        """The FieldValue a new sheet's field starts with, given its definition's.

        The MedicalHistory rules that depend on the other fields (`inputMedN`)
        are applied by `fill`.
        """
        if field_type == SheetFieldType.StaticText:
            return self.static_text(field_value)
        if field_type == SheetFieldType.CheckBox and self._sheet_type == SheetType.MedicalHistory:
            checked = self._medical_check(field_name, radio_button_value)
            if checked is not None:
                return checked
        if field_type == SheetFieldType.CheckBox and field_name in self._radios:
            return (
                "X"
                if radio_button_value and self._checked.get(field_name) == radio_button_value
                else field_value
            )
        return self._names.get(field_name, field_value)

    def _medical_check(self, field_name: str, radio_button_value: str) -> str | None:
        # The patient's first allergy (problem) of that name checks its Y or N box.
        if field_name.startswith("allergy:"):
            conditions = self._data.allergies
        elif field_name.startswith("problem:"):
            conditions = self._data.problems
        else:
            return None
        wanted = field_name[8:]
        found = next((c for c in conditions if c.name == wanted), None)
        if found is not None and radio_button_value == ("Y" if found.active else "N"):
            return "X"
        return None

    def fill(self, fields: Sequence[Field], keys: Sequence[Any] = FIELD_KEYS) -> None:
        """Fill new fields in place: mappings of FieldType, FieldName, FieldValue,
        RadioButtonValue and IsRequired, or rows holding them where `keys` say.
        Only FieldValue and FieldType change (SQLite's create sends back only those)."""
        kind, name, value, radio, required = keys
        fill = self.value
        for f in fields:
            f[value] = fill(f[kind], f[name], f[value], f[radio])
        if self._sheet_type != SheetType.MedicalHistory or not self._data.medications:
            return
        inputs = [
            (not f[required], int(m[1]), n, f)
            for n, f in enumerate(fields)
            if f[kind] == SheetFieldType.InputField and (m := _INPUT_MED.match(f[name]))
        ]
        inputs.sort(key=lambda item: item[:3])
        for medication, (*_, f) in zip(self._data.medications, inputs, strict=False):
            f[value] = medication
            # Open Dental shows a known medication as output, so it is not imported as a new one.
            f[kind] = int(SheetFieldType.OutputText)

"""Filling a new sheet's fields, as Open Dental's SheetFiller does.

Three kinds of field take values from the patient, the practice and the clock:
StaticText replaces its `[token]`s; OutputText and InputField take the value
of their FieldName (`patient.nameFL`, `FName`…); CheckBox radio buttons bound
to a patient enum (`Gender`, `Position`…) are checked ("X") when their
RadioButtonValue names the patient's value. Everything else keeps the
definition's FieldValue, as do tokens and names that need data this service
does not read (insurance, appointments, providers…).

Text is formatted the way Open Dental formats it with the en-US culture
(`M/d/yyyy`, `h:mm tt`…), independently of the host's locale. Line breaks
inside a value are `\\r\\n`, as Open Dental stores them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from service.enums import SheetFieldType, SheetType
from service.settings import Settings

# The patient columns filling reads; the caller selects exactly these.
PATIENT_COLUMNS = (
    "PatNum",
    "LName",
    "FName",
    "MiddleI",
    "Preferred",
    "Title",
    "Salutation",
    "Gender",
    "Position",
    "Birthdate",
    "SSN",
    "Address",
    "Address2",
    "City",
    "State",
    "Zip",
    "HmPhone",
    "WkPhone",
    "WirelessPhone",
    "Email",
    "ChartNumber",
    "MedUrgNote",
    "ApptModNote",
    "DateFirstVisit",
    "Premed",
    "StudentStatus",
    "PreferConfirmMethod",
    "PreferContactMethod",
    "PreferRecallMethod",
    "ClinicNum",
    "Language",
)


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

    @classmethod
    def from_settings(cls, settings: Settings) -> Practice:
        """The practice as configured by the `SHEETS_PRACTICE_*` settings."""
        return cls(
            title=settings.practice_title,
            address=settings.practice_address,
            address2=settings.practice_address2,
            city=settings.practice_city,
            state=settings.practice_st,
            zip=settings.practice_zip,
            phone=settings.practice_phone,
        )


# Open Dental's tokens are identifiers: `[ExamSheet:Name;Field]` and prose in
# brackets never match and are left alone.
_TOKEN = re.compile(r"\[([A-Za-z][A-Za-z0-9_]*)\]")

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Patient enums by their integers, spelled as Open Dental's ToString() spells them.
_GENDERS = ("Male", "Female", "Unknown", "Other")
_POSITIONS = ("Single", "Married", "Child", "Widowed", "Divorced")
_CONTACT_METHODS = (
    "None",
    "DoNotCall",
    "HmPhone",
    "WkPhone",
    "WirelessPh",
    "Email",
    "SeeNotes",
    "Mail",
    "TextMessage",
)
_STUDENT_STATUSES = {"F": "Fulltime", "N": "Nonstudent", "P": "Parttime"}
# Open Dental treats any date before 1880 as unset (its unset date is 0001-01-01).
_FIRST_REAL_YEAR = 1880


def short_date(value: date) -> str:
    """en-US ToShortDateString: `11/29/2026`, `1/2/2026`."""
    return f"{value.month}/{value.day}/{value.year:04d}"


def long_date(value: date) -> str:
    """en-US ToLongDateString: `Sunday, November 29, 2026`."""
    return f"{_DAYS[value.weekday()]}, {_MONTHS[value.month - 1]} {value.day}, {value.year:04d}"


def short_time(value: datetime) -> str:
    """en-US ToShortTimeString: `3:24 PM`, `12:05 AM`."""
    return f"{value.hour % 12 or 12}:{value.minute:02d} {'PM' if value.hour >= 12 else 'AM'}"


def general_date(value: datetime) -> str:
    """en-US DateTime.ToString(): `11/29/2026 3:24:05 PM`."""
    hour = value.hour % 12 or 12
    meridiem = "PM" if value.hour >= 12 else "AM"
    return f"{short_date(value)} {hour}:{value.minute:02d}:{value.second:02d} {meridiem}"


def _real_date(value: Any) -> date | None:
    # MySQL hands back a zero date ('0000-00-00') as None.
    if value is None or value.year < _FIRST_REAL_YEAR:
        return None
    return value.date() if isinstance(value, datetime) else value


def _age(birthdate: date | None, today: date) -> str:
    if birthdate is None:
        return ""
    age = today.year - birthdate.year - ((today.month, today.day) < (birthdate.month, birthdate.day))
    # Open Dental shows no age rather than 0.
    return str(age) if age > 0 else ""


def _words(*parts: str) -> str:
    return " ".join(p for p in (part.strip() for part in parts) if p)


def _quoted(preferred: str) -> str:
    preferred = preferred.strip()
    return f"'{preferred}'" if preferred else ""


def _lines(separator: str, *parts: str) -> str:
    return separator.join(p for p in parts if p.strip())


def _city_state_zip(city: str, state: str, zip_code: str, gap: str) -> str:
    # Open Dental writes "City, ST  Zip" whatever is missing; separators of
    # missing parts are dropped here so an empty address is empty.
    text = city
    if state:
        text += (", " if text else "") + state
    if zip_code:
        text += (gap if text else "") + zip_code
    return text


def _phone(number: str) -> str:
    # Open Dental's TelephoneNumbers.ReFormat for en-US, digits-only cases.
    if len(number) == 10 and number.isdigit():
        return f"({number[:3]}){number[3:6]}-{number[6:]}"
    if len(number) == 11 and number.isdigit():
        return f"{number[0]}({number[1:4]}){number[4:7]}-{number[7:]}"
    return number


def _ssn(ssn: str) -> str:
    if len(ssn) == 9 and ssn.isdigit():
        return f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}"
    return ssn


def _enum_name(names: tuple[str, ...], value: int) -> str:
    # .NET prints an undefined enum value as its number.
    return names[value] if 0 <= value < len(names) else str(value)


class Filler:
    """The values of one new sheet: built once per sheet, then asked field by field."""

    __slots__ = ("_checked", "_names", "_tokens")

    def __init__(
        self, patient: Mapping[str, Any], practice: Practice, now: datetime, sheet_type: int
    ) -> None:
        p = patient
        first, preferred, middle, last = p["FName"], p["Preferred"], p["MiddleI"], p["LName"]
        birthdate = _real_date(p["Birthdate"])
        first_visit = _real_date(p["DateFirstVisit"])
        today = now.date()
        name_fl = _words(first, _quoted(preferred), middle, last)
        given = _words(_quoted(preferred), first, middle)
        name_lf = f"{last.strip()}, {given}" if last.strip() and given else last.strip() or given
        name_formal = _words(p["Title"], first, middle, last)
        salutation = p["Salutation"] or preferred or first
        city_state_zip = _city_state_zip(p["City"], p["State"], p["Zip"], "  ")
        practice_address = _lines(", ", practice.address, practice.address2)
        practice_city_state_zip = _city_state_zip(practice.city, practice.state, practice.zip, "  ")
        practice_phone = _phone(practice.phone)
        birthdate_text = short_date(birthdate) if birthdate else ""
        today_text = short_date(today)
        self._tokens: dict[str, str] = {
            "nameF": first,
            "nameL": last,
            "nameMI": middle,
            "namePref": preferred,
            "nameFL": name_fl,
            "nameLF": name_lf,
            "nameFLnoPref": _words(first, middle, last),
            "nameFLFormal": name_formal,
            "namePreferredOrFirst": preferred if preferred.strip() else first,
            "salutation": salutation,
            "PatNum": str(p["PatNum"]),
            "ChartNumber": p["ChartNumber"],
            "Birthdate": birthdate_text,
            "age": _age(birthdate, today),
            "gender": _enum_name(_GENDERS, p["Gender"]),
            "SSN": p["SSN"],
            "address": _lines(", ", p["Address"], p["Address2"]),
            "cityStateZip": city_state_zip,
            "HmPhone": p["HmPhone"],
            "WkPhone": p["WkPhone"],
            "WirelessPhone": p["WirelessPhone"],
            "Email": p["Email"],
            "MedUrgNote": p["MedUrgNote"],
            "apptModNote": p["ApptModNote"],
            "DateFirstVisit": short_date(first_visit) if first_visit else "",
            "premedicateYN": "Yes" if p["Premed"] else "No",
            "dateToday": today_text,
            "dateTodayLong": long_date(today),
            "timeNow": short_time(now),
            "practiceTitle": practice.title,
            "practiceAddress": practice_address,
            "practicePhone": practice_phone,
        }
        # Without a clinic table every clinic is "not found", for which Open
        # Dental uses the practice.
        for clinic in ("clinic", "clinicPat", "clinicCur"):
            self._tokens[clinic + "Description"] = practice.title
            self._tokens[clinic + "Address"] = practice_address
            self._tokens[clinic + "CityStZip"] = practice_city_state_zip
            self._tokens[clinic + "Phone"] = practice_phone
        address_lines = _lines("\r\n", p["Address"], p["Address2"])
        self._names: dict[str, str] = {
            # A letter is addressed formally; other sheets show the preferred name.
            "patient.nameFL": name_formal if sheet_type == SheetType.PatientLetter else name_fl,
            "patient.address": address_lines,
            "patient.cityStateZip": _city_state_zip(p["City"], p["State"], p["Zip"], " "),
            "patient.salutation": f"Dear {salutation}:",
            "patient.Birthdate": birthdate_text,
            "patient.HmPhone": p["HmPhone"],
            "patient.WkPhone": p["WkPhone"],
            "patient.WirelessPhone": p["WirelessPhone"],
            "today.DayDate": f"{_DAYS[today.weekday()]}, {today_text}",
            "dateTime.Today": today_text,
            "sheet.DateTimeSheet": general_date(now),
            "PracticeTitle": practice.title,
            "PracticeAddress": _lines("\r\n", practice.address, practice.address2),
            "practiceCityStateZip": practice_city_state_zip,
            "PracticePhoneNumber": practice_phone,
            "Address": p["Address"],
            "Address2": p["Address2"],
            "Birthdate": birthdate_text,
            "City": p["City"],
            "Email": p["Email"],
            "FName": first,
            "HmPhone": p["HmPhone"],
            "LName": last,
            "MiddleI": middle,
            "Preferred": preferred,
            "SSN": _ssn(p["SSN"]),
            "State": p["State"],
            "WirelessPhone": p["WirelessPhone"],
            "WkPhone": p["WkPhone"],
            "Zip": p["Zip"],
        }
        self._checked: dict[str, str] = {
            "Gender": _enum_name(_GENDERS, p["Gender"]),
            "Position": _enum_name(_POSITIONS, p["Position"]),
            "PreferConfirmMethod": _enum_name(_CONTACT_METHODS, p["PreferConfirmMethod"]),
            "PreferContactMethod": _enum_name(_CONTACT_METHODS, p["PreferContactMethod"]),
            "PreferRecallMethod": _enum_name(_CONTACT_METHODS, p["PreferRecallMethod"]),
            # CHAR(1) comes back space-padded from PostgreSQL.
            "StudentStatus": _STUDENT_STATUSES.get(p["StudentStatus"].strip(), ""),
        }

    def static_text(self, text: str) -> str:
        """Replace the tokens we know in one pass; unknown ones stay as written.

        One pass means a value that itself looks like a token (a name typed as
        "[nameL]") is never expanded again.
        """
        if "[" not in text:
            return text
        tokens = self._tokens
        return _TOKEN.sub(lambda m: tokens.get(m[1], m[0]), text)

    def value(self, field_type: int, field_name: str, field_value: str, radio_button_value: str) -> str:
        """The FieldValue a new sheet's field starts with, given its definition's."""
        if field_type == SheetFieldType.StaticText:
            return self.static_text(field_value)
        if field_type in (SheetFieldType.OutputText, SheetFieldType.InputField):
            return self._names.get(field_name, field_value)
        if field_type == SheetFieldType.CheckBox and radio_button_value:
            checked = self._checked.get(field_name)
            if checked == radio_button_value:
                return "X"
        return field_value

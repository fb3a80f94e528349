"""Filling a new sheet's fields from the patient, the practice and the clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from service.filling.data import FillData
from service.filling.filler import Filler, Practice
from service.storage import db, models
from service.vocab.cultures import EN_US, Culture
from service.vocab.enums import SheetFieldType, SheetType

NOW = datetime(2026, 11, 29, 15, 24, 5)
PRACTICE = Practice(
    title="Springfield Dental",
    address="100 Main Street",
    address2="Suite 200",
    city="Springfield",
    state="OR",
    zip="97477",
    phone="5415550100",
)
SMITH: dict[str, Any] = {
    "FName": "Robert",
    "MiddleI": "J",
    "Preferred": "Bob",
    "LName": "Smith",
    "Title": "Dr.",
    "Salutation": "Dr. Smith",
    "Birthdate": date(1961, 11, 2),
    "Address": "400 Oak Avenue",
    "Address2": "Suite 5",
    "City": "Springfield",
    "State": "OR",
    "Zip": "97477",
    "HmPhone": "(541) 555-0142",
    "WkPhone": "(541) 555-0199",
    "WirelessPhone": "(541) 555-0188",
    "Email": "bob@example.com",
    "ChartNumber": "DEMO-2",
    "SSN": "123456789",
}


def patient(**values: Any) -> dict[str, Any]:
    """A patient row as the database returns it: every column, defaults for those not given."""
    pat_num = values.pop("PatNum", 42)
    return db.row(models.Patient(**values)) | {"PatNum": pat_num}


def filler(
    now: datetime = NOW,
    sheet_type: SheetType = SheetType.Consent,
    practice: Practice = PRACTICE,
    data: FillData | None = None,
    culture: Culture = EN_US,
    **values: Any,
) -> Filler:
    return Filler(patient(**values), practice, now, sheet_type, data=data, culture=culture)


def text(template: str, **values: Any) -> str:
    return filler(**values).static_text(template)


def output(name: str, sheet_type: SheetType = SheetType.Consent, **values: Any) -> str:
    return filler(sheet_type=sheet_type, **values).value(SheetFieldType.OutputText, name, "as defined", "")


# --- StaticText tokens ------------------------------------------------------------------------


def test_name_part_tokens_take_each_column_as_is() -> None:
    assert text("[nameF]|[nameMI]|[namePref]|[nameL]", **SMITH) == "Robert|J|Bob|Smith"


@pytest.mark.parametrize(
    ("first", "preferred", "middle", "last", "expected"),
    [
        ("Robert", "Bob", "J", "Smith", "Robert 'Bob' J Smith"),
        ("Robert", "", "J", "Smith", "Robert J Smith"),
        ("Robert", "Bob", "", "Smith", "Robert 'Bob' Smith"),
        ("Robert", "", "", "Smith", "Robert Smith"),
        ("", "Bob", "", "Smith", "'Bob' Smith"),
        ("", "", "", "Smith", "Smith"),
        ("Robert", "", "", "", "Robert"),
        ("Robert", "  ", " ", "Smith", "Robert Smith"),
        ("", "", "", "", ""),
    ],
)
def test_name_fl_is_first_quoted_preferred_middle_last_dropping_empty_parts(
    first: str, preferred: str, middle: str, last: str, expected: str
) -> None:
    assert text("[nameFL]", FName=first, Preferred=preferred, MiddleI=middle, LName=last) == expected


@pytest.mark.parametrize(
    ("first", "preferred", "middle", "last", "expected"),
    [
        ("Robert", "Bob", "J", "Smith", "Smith, 'Bob' Robert J"),
        ("Robert", "", "J", "Smith", "Smith, Robert J"),
        ("Robert", "Bob", "", "Smith", "Smith, 'Bob' Robert"),
        ("Robert", "", "", "Smith", "Smith, Robert"),
        ("", "", "", "Smith", "Smith"),
        ("Robert", "", "J", "", "Robert J"),
        ("", "", "", "", ""),
    ],
)
def test_name_lf_is_last_comma_quoted_preferred_first_middle_dropping_empty_parts(
    first: str, preferred: str, middle: str, last: str, expected: str
) -> None:
    assert text("[nameLF]", FName=first, Preferred=preferred, MiddleI=middle, LName=last) == expected


def test_accented_names_are_kept_exactly() -> None:
    values = {"FName": "Zoë", "MiddleI": "É", "LName": "Ångström-Müller"}
    assert text("[nameFL] / [nameLF]", **values) == "Zoë É Ångström-Müller / Ångström-Müller, Zoë É"


def test_non_latin_names_are_kept_exactly() -> None:
    assert text("[nameFL] / [nameLF] / [nameF]", FName="小龍", LName="李") == "小龍 李 / 李, 小龍 / 小龍"


def test_name_variants_without_preferred_formal_and_preferred_or_first() -> None:
    # Not one of Open Dental's names: kept as written.
    assert text("[nameFLnoPref]", **SMITH) == "[nameFLnoPref]"
    assert text("[nameFLFormal]", **SMITH) == "Dr. Robert J Smith"
    assert text("[nameFLFormal]", FName="Ken", LName="Nakamura") == "Ken Nakamura"
    assert text("[namePreferredOrFirst]", **SMITH) == "Bob"
    assert text("[namePreferredOrFirst]", FName="Ken", Preferred=" ") == "Ken"


@pytest.mark.parametrize(
    ("salutation", "preferred", "expected"),
    [("Dr. Smith", "Bob", "Dr. Smith"), ("", "Bob", "Bob"), ("", "", "Robert")],
)
def test_salutation_is_salutation_else_preferred_else_first_name(
    salutation: str, preferred: str, expected: str
) -> None:
    assert text("[salutation]", FName="Robert", Preferred=preferred, Salutation=salutation) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("PatNum", "42"),
        ("ChartNumber", "DEMO-2"),
        ("HmPhone", "(541) 555-0142"),
        ("WkPhone", "(541) 555-0199"),
        ("WirelessPhone", "(541) 555-0188"),
        ("Email", "bob@example.com"),
        ("SSN", "123456789"),
    ],
)
def test_column_tokens_take_the_patients_column(token: str, expected: str) -> None:
    assert text(f"[{token}]", **SMITH) == expected


def test_birthdate_is_a_short_date_and_empty_when_unset() -> None:
    assert text("[Birthdate]", Birthdate=date(1961, 11, 2)) == "11/02/1961"
    assert text("[Birthdate]", Birthdate=models.NO_DATE) == ""
    assert text("[Birthdate]", Birthdate=None) == ""


@pytest.mark.parametrize(
    ("birthdate", "expected"),
    [
        (date(1961, 11, 2), "65"),
        (date(1961, 11, 29), "65"),
        (date(1961, 11, 30), "64"),
        (date(1961, 12, 1), "64"),
        (date(2020, 2, 29), "6"),
        (date(2026, 1, 1), ""),
        (models.NO_DATE, ""),
    ],
)
def test_age_counts_whole_years_from_birthdate_and_is_empty_when_zero_or_unknown(
    birthdate: date, expected: str
) -> None:
    assert text("[age]", Birthdate=birthdate) == expected


def test_address_joins_both_lines_with_a_comma() -> None:
    assert text("[address]", Address="400 Oak Avenue", Address2="Suite 5") == "400 Oak Avenue, Suite 5"
    assert text("[address]", Address="400 Oak Avenue") == "400 Oak Avenue"


def test_city_state_zip_has_two_spaces_before_the_zip() -> None:
    assert text("[cityStateZip]", City="Springfield", State="OR", Zip="97477") == "Springfield, OR  97477"


def test_city_state_zip_keeps_open_dentals_separators_when_parts_are_missing() -> None:
    assert text("[cityStateZip]") == ",   "
    assert text("[cityStateZip]", City="Springfield") == "Springfield,   "
    assert text("[cityStateZip]", State="OR", Zip="97477") == ", OR  97477"


@pytest.mark.parametrize(
    ("gender", "expected"), [(0, "Male"), (1, "Female"), (2, "Unknown"), (3, "Other"), (9, "9")]
)
def test_gender_is_open_dentals_name_for_it(gender: int, expected: str) -> None:
    assert text("[gender]", Gender=gender) == expected


def test_date_and_time_tokens_use_the_creation_time() -> None:
    assert text("[dateToday]|[dateTodayLong]|[timeNow]") == "11/29/2026|Sunday, November 29, 2026|3:24 PM"
    assert text("[dateToday] [timeNow]", now=datetime(2027, 1, 3, 0, 7)) == "01/03/2027 12:07 AM"


def test_practice_title_comes_from_the_practice_and_other_practice_names_are_not_tokens() -> None:
    assert text("[practiceTitle]|[practiceAddress]|[practicePhone]") == (
        "Springfield Dental|[practiceAddress]|[practicePhone]"
    )


def test_clinic_tokens_fall_back_to_the_practice() -> None:
    assert text("[clinicDescription]|[clinicPatAddress]|[clinicCurCityStZip]|[clinicPhone]") == (
        "Springfield Dental|100 Main Street, Suite 200|Springfield, OR  97477|(541)555-0100"
    )


def test_practice_phone_keeps_a_number_it_cannot_reformat() -> None:
    practice = Practice("T", "", "", "", "", "", "+44 20 7946 0958")
    assert text("[clinicPhone]", practice=practice) == "+44 20 7946 0958"


def test_other_patient_tokens() -> None:
    values = {
        "Premed": 1,
        "MedUrgNote": "Latex allergy",
        "ApptModNote": "Prefers mornings",
        "DateFirstVisit": date(2020, 6, 1),
    }
    assert text("[premedicateYN]|[MedUrgNote]|[apptModNote]|[DateFirstVisit]", **values) == (
        "Yes|Latex allergy|Prefers mornings|06/01/2020"
    )
    assert text("[premedicateYN]|[DateFirstVisit]") == "No|"


def test_several_and_repeated_tokens_are_all_replaced() -> None:
    template = "Dear [nameF], [nameF] [nameL] born [Birthdate] ([age]) seen [dateToday]."
    assert text(template, **SMITH) == "Dear Robert, Robert Smith born 11/02/1961 (65) seen 11/29/2026."


def test_unknown_tokens_and_other_brackets_stay_as_written() -> None:
    template = "[insAnnualMax] [notAToken] [ExamSheet:Exam;misc] [NAMEF] [nameF [] [ nameF] [nameF]"
    assert text(template, FName="Ken") == " [notAToken] [ExamSheet:Exam;misc] [NAMEF] [nameF [] [ nameF] Ken"


def test_a_value_that_looks_like_a_token_is_not_expanded_again() -> None:
    assert text("[nameF] [nameL]", FName="[nameL]", LName="[PatNum]") == "[nameL] [PatNum]"


def test_text_without_tokens_is_returned_unchanged() -> None:
    assert text("Plain text, no brackets.") == "Plain text, no brackets."


# --- OutputText and InputField names ------------------------------------------------------------


def test_patient_name_fl_shows_the_preferred_name_except_on_a_letter() -> None:
    assert output("patient.nameFL", **SMITH) == "Robert 'Bob' J Smith"
    assert output("patient.nameFL", SheetType.PatientLetter, **SMITH) == "Dr. Robert J Smith"


LETTER = SheetType.PatientLetter
FORM = SheetType.PatientForm


def test_patient_address_puts_the_second_line_on_its_own_line() -> None:
    assert (
        output("patient.address", LETTER, Address="400 Oak Avenue", Address2="Suite 5")
        == "400 Oak Avenue\r\nSuite 5"
    )
    assert output("patient.address", LETTER, Address="400 Oak Avenue") == "400 Oak Avenue"


def test_patient_city_state_zip_has_one_space_before_the_zip_and_keeps_its_separators() -> None:
    assert (
        output("patient.cityStateZip", LETTER, City="Springfield", State="OR", Zip="97477")
        == "Springfield, OR 97477"
    )
    assert output("patient.cityStateZip", LETTER) == ",  "


@pytest.mark.parametrize(
    ("salutation", "preferred", "expected"),
    [("Dr. Smith", "Bob", "Dear Dr. Smith:"), ("", "Bob", "Dear Bob:"), ("", "", "Dear Robert:")],
)
def test_patient_salutation_is_a_letter_greeting(salutation: str, preferred: str, expected: str) -> None:
    assert (
        output("patient.salutation", LETTER, FName="Robert", Preferred=preferred, Salutation=salutation)
        == expected
    )


def test_date_names_use_the_creation_time() -> None:
    assert output("today.DayDate", LETTER) == "Sunday, 11/29/2026"
    assert output("dateTime.Today") == "11/29/2026"
    assert output("sheet.DateTimeSheet", SheetType.ExamSheet) == "11/29/2026 3:24:05 PM"


def test_practice_names_come_from_the_practice() -> None:
    assert output("PracticeTitle", LETTER) == "Springfield Dental"
    assert output("PracticeAddress", LETTER) == "100 Main Street\r\nSuite 200"
    assert output("practiceCityStateZip", LETTER) == "Springfield, OR  97477"
    # Open Dental fills the practice's phone on referral letters only.
    assert output("PracticePhoneNumber", LETTER) == "as defined"


def test_practice_address_without_a_second_line_is_one_line() -> None:
    practice = Practice("T", "1 Elm St", "", "Eugene", "OR", "97401", "")
    fill = filler(practice=practice, sheet_type=LETTER)
    assert fill.value(SheetFieldType.OutputText, "PracticeAddress", "", "") == "1 Elm St"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("FName", "Robert"),
        ("LName", "Smith"),
        ("MiddleI", "J"),
        ("Preferred", "Bob"),
        ("Birthdate", "11/02/1961"),
        ("Address", "400 Oak Avenue"),
        ("Address2", "Suite 5"),
        ("City", "Springfield"),
        ("State", "OR"),
        ("Zip", "97477"),
        ("HmPhone", "(541) 555-0142"),
        ("WkPhone", "(541) 555-0199"),
        ("WirelessPhone", "(541) 555-0188"),
        ("Email", "bob@example.com"),
        ("SSN", "123-45-6789"),
    ],
)
@pytest.mark.parametrize("field_type", [SheetFieldType.OutputText, SheetFieldType.InputField])
def test_patient_column_names_are_filled_in_a_patient_forms_output_and_input_fields(
    field_type: SheetFieldType, name: str, expected: str
) -> None:
    assert filler(sheet_type=FORM, **SMITH).value(field_type, name, "as defined", "") == expected


@pytest.mark.parametrize(
    ("sheet_type", "filled"),
    [
        (SheetType.Consent, set()),
        (SheetType.PatientLetter, set()),
        (SheetType.PatientForm, {"FName", "LName", "MiddleI", "Preferred", "Birthdate", "Email", "SSN"}),
        (SheetType.MedicalHistory, {"FName", "LName", "Birthdate"}),
        (SheetType.ExamSheet, {"FName", "LName", "MiddleI", "Preferred", "Birthdate"}),
    ],
)
def test_only_the_names_open_dental_fills_for_the_type_are_filled(
    sheet_type: SheetType, filled: set[str]
) -> None:
    fill = filler(sheet_type=sheet_type, **SMITH)
    names = ("FName", "LName", "MiddleI", "Preferred", "Birthdate", "Email", "SSN", "patient.HmPhone")
    got = {n for n in names if fill.value(SheetFieldType.InputField, n, "as defined", "") != "as defined"}
    assert got == filled


def test_an_unset_birthdate_fills_an_empty_birthdate_field() -> None:
    assert output("Birthdate", FORM) == ""


def test_an_ssn_that_is_not_nine_digits_is_kept_as_entered() -> None:
    assert output("SSN", FORM, SSN="AB-123") == "AB-123"


@pytest.mark.parametrize("name", ["patient.priProvNameFL", "misc", "ins1CarrierName", "", "fname"])
def test_other_names_keep_the_definitions_value(name: str) -> None:
    assert output(name, **SMITH) == "as defined"


def test_only_static_text_has_its_tokens_replaced() -> None:
    fill = filler(**SMITH)
    for field_type in SheetFieldType:
        expected = "Robert" if field_type == SheetFieldType.StaticText else "[nameF]"
        assert fill.value(field_type, "misc", "[nameF]", "") == expected, field_type


# --- CheckBox radio buttons bound to patient enums ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "values", "checked", "unchecked"),
    [
        ("Gender", {"Gender": 1}, "Female", "Male"),
        ("Position", {"Position": 1}, "Married", "Single"),
        ("PreferConfirmMethod", {"PreferConfirmMethod": 8}, "TextMessage", "Email"),
        ("PreferContactMethod", {"PreferContactMethod": 4}, "WirelessPh", "HmPhone"),
        ("PreferRecallMethod", {"PreferRecallMethod": 5}, "Email", "WkPhone"),
        ("StudentStatus", {"StudentStatus": "F"}, "Fulltime", "Parttime"),
    ],
)
def test_the_radio_button_naming_the_patients_value_is_checked(
    name: str, values: dict[str, Any], checked: str, unchecked: str
) -> None:
    fill = filler(sheet_type=FORM, **values)
    assert fill.value(SheetFieldType.CheckBox, name, "", checked) == "X"
    assert fill.value(SheetFieldType.CheckBox, name, "", unchecked) == ""


def test_a_space_padded_student_status_still_checks_its_radio_button() -> None:
    fill = filler(sheet_type=FORM, StudentStatus="P ")
    assert fill.value(SheetFieldType.CheckBox, "StudentStatus", "", "Parttime") == "X"


def test_an_exam_sheet_checks_gender_only_and_a_consent_no_radio_button() -> None:
    exam = filler(sheet_type=SheetType.ExamSheet, Gender=1, Position=1)
    assert exam.value(SheetFieldType.CheckBox, "Gender", "", "Female") == "X"
    assert exam.value(SheetFieldType.CheckBox, "Position", "", "Married") == ""
    assert filler(Gender=1).value(SheetFieldType.CheckBox, "Gender", "", "Female") == ""


def test_check_boxes_not_bound_to_the_patient_keep_the_definitions_value() -> None:
    fill = filler(sheet_type=FORM, Gender=0)
    assert fill.value(SheetFieldType.CheckBox, "Gender", "", "") == ""
    assert fill.value(SheetFieldType.CheckBox, "problem:Asthma", "", "Y") == ""
    assert fill.value(SheetFieldType.CheckBox, "misc", "X", "Male") == "X"

"""Dates, times and money in the office's culture, with .NET's patterns (formatted by Babel)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from service.config.settings import Settings
from service.vocab.cultures import EN_US, culture, open_dental_short_date
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_fill import NOW, SMITH, filler

MORNING = datetime(2026, 3, 4, 9, 7, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 11, 29), "11/29/2026"),
        (date(2026, 1, 5), "01/05/2026"),
        (date(1961, 6, 2), "06/02/1961"),
        (date(999, 12, 31), "12/31/0999"),
    ],
)
def test_en_us_short_date_is_open_dentals_two_digit_month_and_day(value: date, expected: str) -> None:
    # Open Dental sets en-US's short date pattern to MM/dd/yyyy at start (.NET's is M/d/yyyy).
    assert EN_US.short_date(value) == expected


@pytest.mark.parametrize(
    ("name", "dotnet", "expected"),
    [
        ("en-US", "M/d/yyyy", "MM/dd/yyyy"),
        ("en-US", "M/d/yy", "MM/dd/yyyy"),
        ("en-GB", "dd/MM/yy", "dd/MM/yyyy"),
        ("en-AU", "d/MM/yy", "d/MM/yyyy"),
        ("fr-CA", "yy-MM-dd", "yyyy-MM-dd"),
        ("es-MX", "dd.yy.MM", "dd.yyyy.MM"),
        ("en-AU", "d/MM/yyyy", "d/MM/yyyy"),
        ("en-CA", "yyyy-MM-dd", "yyyy-MM-dd"),
        ("es-MX", "dd/MM/yyyy", "dd/MM/yyyy"),
    ],
)
def test_open_dental_forces_four_digit_years_and_en_us_to_two_digit_month_and_day(
    name: str, dotnet: str, expected: str
) -> None:
    assert open_dental_short_date(name, dotnet) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("en-US", "06/02/1961"),
        ("en-CA", "1961-06-02"),
        ("en-GB", "02/06/1961"),
        ("en-AU", "2/06/1961"),
        ("es-MX", "02/06/1961"),
        ("fr-CA", "1961-06-02"),
    ],
)
def test_every_served_culture_prints_a_short_date_as_open_dental_does(name: str, expected: str) -> None:
    assert culture(name).short_date(date(1961, 6, 2)) == expected
    assert culture(name).general(datetime(1961, 6, 2, 13, 0, 0)).startswith(expected + " ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(date(2026, 11, 29), "Sunday, November 29, 2026"), (date(2024, 2, 1), "Thursday, February 1, 2024")],
)
def test_en_us_long_date_spells_weekday_and_month(value: date, expected: str) -> None:
    assert EN_US.long_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 29, 15, 24, 5), "3:24 PM"),
        (datetime(2026, 11, 29, 0, 0), "12:00 AM"),
        (datetime(2026, 11, 29, 12, 5), "12:05 PM"),
        (datetime(2026, 11, 29, 9, 7), "9:07 AM"),
        (datetime(2026, 11, 29, 23, 59), "11:59 PM"),
    ],
)
def test_en_us_short_time_is_twelve_hour_with_am_pm(value: datetime, expected: str) -> None:
    assert EN_US.short_time(value) == expected


def test_en_us_general_date_is_short_date_and_long_time() -> None:
    assert EN_US.general(datetime(2026, 11, 29, 15, 24, 5)) == "11/29/2026 3:24:05 PM"
    assert EN_US.general(datetime(2026, 3, 4, 0, 0, 9)) == "03/04/2026 12:00:09 AM"


@pytest.mark.parametrize(
    ("name", "short", "long", "time", "general", "day"),
    [
        (
            "en-US",
            "03/04/2026",
            "Wednesday, March 4, 2026",
            "9:07 AM",
            "03/04/2026 9:07:05 AM",
            "Wednesday",
        ),
        ("en-CA", "2026-03-04", "March 4, 2026", "9:07 a.m.", "2026-03-04 9:07:05 a.m.", "Wednesday"),
        ("en-GB", "04/03/2026", "04 March 2026", "09:07", "04/03/2026 09:07:05", "Wednesday"),
        (
            "es-MX",
            "04/03/2026",
            "miércoles, 4 de marzo de 2026",
            "09:07 a. m.",
            "04/03/2026 09:07:05 a. m.",
            "miércoles",
        ),
    ],
)
def test_each_culture_uses_dotnets_patterns_and_its_own_names(
    name: str, short: str, long: str, time: str, general: str, day: str
) -> None:
    office = culture(name)
    assert (office.short_date(MORNING), office.long_date(MORNING), office.short_time(MORNING)) == (
        short,
        long,
        time,
    )
    assert (office.general(MORNING), office.day_name(MORNING)) == (general, day)


def test_afternoon_designators_follow_the_culture() -> None:
    assert culture("en-CA").short_time(NOW) == "3:24 p.m."
    assert culture("es-MX").short_time(NOW) == "03:24 p. m."
    assert culture("en-GB").short_time(NOW) == "15:24"


@pytest.mark.parametrize(
    ("name", "expected"), [("en-US", "$1,234.50"), ("en-GB", "£1,234.50"), ("es-MX", "$1,234.50")]
)
def test_money_is_in_the_cultures_currency(name: str, expected: str) -> None:
    assert culture(name).money(1234.5) == expected


def test_tokens_and_names_are_formatted_in_the_sheets_culture() -> None:
    fill = filler(culture=culture("es-MX"), **SMITH)
    assert fill.static_text("[dateToday]|[dateTodayLong]|[timeNow]|[Birthdate]") == (
        "29/11/2026|domingo, 29 de noviembre de 2026|03:24 p. m.|02/11/1961"
    )
    letter = filler(sheet_type=SheetType.PatientLetter, culture=culture("en-GB"), **SMITH)
    assert letter.value(SheetFieldType.OutputText, "today.DayDate", "", "") == "Sunday, 29/11/2026"
    exam = filler(sheet_type=SheetType.ExamSheet, culture=culture("en-CA"), **SMITH)
    assert exam.value(SheetFieldType.OutputText, "sheet.DateTimeSheet", "", "") == "2026-11-29 3:24:05 p.m."


def test_an_ssn_is_punctuated_only_in_en_us() -> None:
    for name, expected in (("en-US", "123-45-6789"), ("en-CA", "123456789")):
        fill = filler(sheet_type=SheetType.PatientForm, culture=culture(name), **SMITH)
        assert fill.value(SheetFieldType.InputField, "SSN", "", "") == expected


def test_the_culture_setting_defaults_to_en_us_and_refuses_an_unknown_one() -> None:
    assert Settings().culture == "en-US"
    assert Settings(culture="es-MX").culture == "es-MX"
    with pytest.raises(ValueError, match="SHEETS_CULTURE 'xx-YY'"):
        Settings(culture="xx-YY")

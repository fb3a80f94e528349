""".NET date and time format strings, as Open Dental's API applies
DateFormatString and DateTimeFormatString: each specifier, literals and
escapes, standard formats, cultures, the UTC offset, MinValue and refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from gateway.dotnet_dates import EN_US, MAX_FORMAT_LENGTH, FormatError, formatter
from service.vocab import DateCulture
from sheets.date_culture import date_culture

# Saturday 21 May 2022, 14:30:00, Open Dental's own example.
AT = datetime(2022, 5, 21, 14, 30, 0)
MIN_VALUE = datetime(1, 1, 1)


@pytest.fixture
def phoenix(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's zone: UTC-7 all year (Arizona keeps no daylight saving time)."""
    monkeypatch.setenv("TZ", "America/Phoenix")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_open_dentals_documented_example(phoenix: None) -> None:
    assert formatter("dd/MM/yyyy HH:mm:ss zzz")(AT) == "21/05/2022 14:30:00 -07:00"


def test_the_offset_in_three_lengths_is_the_services_at_that_instant(phoenix: None) -> None:
    assert formatter("z|zz|zzz")(AT) == "-7|-07|-07:00"


def test_the_offset_follows_daylight_saving_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/Denver")
    time.tzset()
    try:
        assert formatter("zzz")(datetime(2022, 1, 10, 12)) == "-07:00"
        assert formatter("zzz")(datetime(2022, 7, 10, 12)) == "-06:00"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("yyyy-MM-dd HH:mm:ss", "2022-05-21 14:30:00"),
        ("MM/dd/yyyy HH:mm", "05/21/2022 14:30"),
        ("d M yy y yyy yyyyy", "21 5 22 22 2022 02022"),
        ("ddd dddd ddddd", "Sat Saturday Saturday"),
        ("MMM MMMM", "May May"),
        ("h hh H HH hhh", "2 02 14 14 02"),
        ("m mm s ss", "30 30 0 00"),
        ("t tt", "P PM"),
        ("HH:mm:ss.fff", "14:30:00.000"),
        ("ss.FFF", "00"),
        ("g", "5/21/2022 2:30 PM"),
        ("'T'HH\\h", "T14h"),
        ('"at" h:mm tt', "at 2:30 PM"),
        ("yyyy'-'MM", "2022-05"),
        ("'it''s'", "its"),
        ("'a\\'b'", "a'b"),
        ("%d", "21"),
        ("%h", "2"),
        ("yyyyK", "2022"),
        ("yyyy g", "2022 A.D."),
        ("yyyy\nMM", "2022\n05"),
        ("Q yyyy", "Q 2022"),
    ],
)
def test_custom_specifiers_literals_and_escapes(pattern: str, text: str) -> None:
    assert formatter(pattern)(AT) == text


def test_fractions_of_a_second_pad_with_f_and_trim_with_f_capital() -> None:
    moment = datetime(2022, 5, 21, 14, 30, 5, 120000)
    assert formatter("ss.f ss.fff ss.fffffff")(moment) == "05.1 05.120 05.1200000"
    assert formatter("ss.F ss.FFF ss.FFFFFFF")(moment) == "05.1 05.12 05.12"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2022, 3, 1, 0, 5), "12:05 AM 00 12 A March Mar Tuesday"),
        (datetime(2022, 3, 1, 12, 0), "12:00 PM 12 12 P March Mar Tuesday"),
        (datetime(2022, 3, 1, 23, 59), "11:59 PM 23 11 P March Mar Tuesday"),
    ],
)
def test_hours_on_twelve_and_twenty_four_hour_clocks(moment: datetime, text: str) -> None:
    assert formatter("h:mm tt HH hh t MMMM MMM dddd")(moment) == text


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("d", "5/21/2022"),
        ("D", "Saturday, May 21, 2022"),
        ("t", "2:30 PM"),
        ("T", "2:30:00 PM"),
        ("f", "Saturday, May 21, 2022 2:30 PM"),
        ("F", "Saturday, May 21, 2022 2:30:00 PM"),
        ("G", "5/21/2022 2:30:00 PM"),
        ("s", "2022-05-21T14:30:00"),
        ("u", "2022-05-21 14:30:00Z"),
        ("o", "2022-05-21T14:30:00.0000000"),
    ],
)
def test_a_single_character_is_a_standard_format_in_the_culture(pattern: str, text: str) -> None:
    assert formatter(pattern, EN_US)(AT) == text


def test_min_value_formats_as_dotnet_formats_it() -> None:
    assert formatter("MM/dd/yyyy HH:mm:ss")(MIN_VALUE) == "01/01/0001 00:00:00"
    assert formatter("dddd d MMMM y yy yyyy tt")(MIN_VALUE) == "Monday 1 January 1 01 0001 AM"
    assert formatter("d")(MIN_VALUE) == "1/1/0001"


def test_min_value_has_the_standard_offset(phoenix: None) -> None:
    assert formatter("yyyy zzz")(MIN_VALUE) == "0001 -07:00"


@pytest.mark.parametrize(
    ("culture", "pattern", "text"),
    [
        ("es-MX", "dddd d 'de' MMMM 'de' yyyy", "sábado 21 de mayo de 2022"),
        ("es-MX", "d", "21/05/2022"),
        ("es-MX", "t", "02:30 p. m."),
        ("en-GB", "D", "21 May 2022"),
        ("en-CA", "tt", "p.m."),
        # fr-CA separates a date's parts with '-': '/' is the culture's separator.
        ("fr-CA", "dd/MM/yyyy", "21-05-2022"),
        ("fr-CA", "dddd d MMMM", "samedi 21 mai"),
        ("fr-CA", "dd'/'MM", "21/05"),
    ],
)
def test_names_separators_and_designators_are_the_cultures(culture: str, pattern: str, text: str) -> None:
    assert formatter(pattern, date_culture(culture))(AT) == text


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "it is empty."),
        ("y" * (MAX_FORMAT_LENGTH + 1), f"it is too long: at most {MAX_FORMAT_LENGTH} characters."),
        ("'open", "the quote at position 1 is not closed."),
        ('yyyy "open', "the quote at position 6 is not closed."),
        ("yyyy\\", "it ends with an escape character (\\)."),
        ("yyyy%", "'%' must come before a single format specifier."),
        ("%%d", "'%' must come before a single format specifier."),
        ("ss.ffffffff", "at most 7 f or F may stand in a row."),
        ("'ffffffff'", "at most 7 f or F may stand in a row."),
        ("K", "'K' alone is not one of .NET's standard date formats."),
        ("x", "'x' alone is not one of .NET's standard date formats."),
    ],
)
def test_what_dotnet_refuses_is_refused_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(FormatError) as raised:
        formatter(pattern)
    assert str(raised.value) == reason


def test_a_culture_is_its_name_and_its_patterns() -> None:
    assert date_culture("en-US") == EN_US
    assert isinstance(date_culture("es-MX"), DateCulture)

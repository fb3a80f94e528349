"""Open Dental's vocabulary: its enums and its .NET cultures (how it writes dates and numbers).
No I/O."""

from service.vocab import enums
from service.vocab.cultures import EN_US, Culture, culture
from service.vocab.date_culture import DateCulture
from service.vocab.dates import (
    FIRST_REAL_DATE,
    FIRST_REAL_YEAR,
    MIDNIGHT,
    NO_DATE,
    NO_DATETIME,
    after_1880,
    datetime_parts,
    real_date,
)
from service.vocab.enums import (
    CREATABLE_SHEET_TYPES,
    GrowthBehavior,
    SheetFieldType,
    SheetType,
    TextAlign,
    od_name,
)

__all__ = [
    "CREATABLE_SHEET_TYPES",
    "EN_US",
    "FIRST_REAL_DATE",
    "FIRST_REAL_YEAR",
    "MIDNIGHT",
    "NO_DATE",
    "NO_DATETIME",
    "Culture",
    "DateCulture",
    "GrowthBehavior",
    "SheetFieldType",
    "SheetType",
    "TextAlign",
    "after_1880",
    "culture",
    "datetime_parts",
    "enums",
    "od_name",
    "real_date",
]

"""Open Dental's tables, column for column (names, types, enum integers).

The service runs on databases Open Dental created itself: every column is NOT
NULL without a server default there, so every column here has a Python default
and every insert writes every column. Enum columns hold Open Dental's integers
(see `service.vocab.enums`). Unset dates are Open Dental's 0001-01-01.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlmodel import Field, SQLModel

from service.vocab import MIDNIGHT as MIDNIGHT
from service.vocab import NO_DATE as NO_DATE
from service.vocab import NO_DATETIME as NO_DATETIME

# bigint(20); SQLite only auto-increments an INTEGER PRIMARY KEY.
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TINYINT = sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime().with_variant(mysql.TIMESTAMP(), "mysql", "mariadb")


class _TinyBool(sa.types.TypeDecorator[bool]):
    """A tinyint(4) flag: 0/1 in the database, bool in Python."""

    impl = sa.SmallInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(TINYINT)

    def process_bind_param(self, value: bool | None, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> bool | None:
        return None if value is None else bool(value)


TINYBOOL = _TinyBool()


class _OpenDentalDateTime(sa.types.TypeDecorator[datetime]):
    """A datetime column that reads MySQL's zero date as Open Dental's 0001-01-01.

    Open Dental's databases run without strict mode, so '0000-00-00 00:00:00'
    is common there; the MySQL drivers hand it over as a string (or None).
    """

    impl = sa.DateTime
    cache_ok = True

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> datetime:
        return value if isinstance(value, datetime) else NO_DATETIME


class _OpenDentalDate(sa.types.TypeDecorator[date]):
    """A date column that reads MySQL's zero date as Open Dental's 0001-01-01."""

    impl = sa.Date
    cache_ok = True

    def process_result_value(self, value: Any | None, dialect: sa.Dialect) -> date:
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else NO_DATE


DATETIME = _OpenDentalDateTime()
DATE = _OpenDentalDate()


def now_seconds() -> datetime:
    """Local wall-clock time to the second, as Open Dental stores it."""
    return datetime.now().replace(microsecond=0)


def _col(sa_type: Any, default: Any, *, index: bool = False) -> Any:
    # Indexed: the foreign keys every list is filtered by, so a list costs the
    # same at 1k and at 1M rows (Open Dental indexes them too).
    return Field(default=default, sa_type=sa_type, nullable=False, index=index)


def _key() -> Any:
    return Field(default=None, primary_key=True, sa_type=BIG, sa_column_kwargs={"autoincrement": True})


class Patient(SQLModel, table=True):
    """A patient (table `patient`): every column of Open Dental's schema."""

    __tablename__ = "patient"

    PatNum: int | None = _key()
    LName: str = _col(sa.String(100), "")
    FName: str = _col(sa.String(100), "")
    MiddleI: str = _col(sa.String(100), "")
    Preferred: str = _col(sa.String(100), "")
    PatStatus: int = _col(TINYINT, 0)
    Gender: int = _col(TINYINT, 0)
    Position: int = _col(TINYINT, 0)
    Birthdate: date = _col(DATE, NO_DATE)
    SSN: str = _col(sa.String(100), "")
    Address: str = _col(sa.String(100), "")
    Address2: str = _col(sa.String(100), "")
    City: str = _col(sa.String(100), "")
    State: str = _col(sa.String(100), "")
    Zip: str = _col(sa.String(100), "")
    HmPhone: str = _col(sa.String(30), "")
    WkPhone: str = _col(sa.String(30), "")
    WirelessPhone: str = _col(sa.String(30), "")
    Guarantor: int = _col(BIG, 0)
    CreditType: str = _col(sa.CHAR(1), "")
    Email: str = _col(sa.String(100), "")
    Salutation: str = _col(sa.String(100), "")
    EstBalance: float = _col(sa.Double, 0.0)
    PriProv: int = _col(BIG, 0)
    SecProv: int = _col(BIG, 0)
    FeeSched: int = _col(BIG, 0)
    BillingType: int = _col(BIG, 0)
    ImageFolder: str = _col(sa.String(100), "")
    AddrNote: str = _col(sa.Text, "")
    FamFinUrgNote: str = _col(sa.Text, "")
    MedUrgNote: str = _col(sa.String(255), "")
    ApptModNote: str = _col(sa.String(255), "")
    StudentStatus: str = _col(sa.CHAR(1), "")
    SchoolName: str = _col(sa.String(255), "")
    ChartNumber: str = _col(sa.String(100), "")
    MedicaidID: str = _col(sa.String(20), "")
    Bal_0_30: float = _col(sa.Double, 0.0)
    Bal_31_60: float = _col(sa.Double, 0.0)
    Bal_61_90: float = _col(sa.Double, 0.0)
    BalOver90: float = _col(sa.Double, 0.0)
    InsEst: float = _col(sa.Double, 0.0)
    BalTotal: float = _col(sa.Double, 0.0)
    EmployerNum: int = _col(BIG, 0)
    EmploymentNote: str = _col(sa.String(255), "")
    County: str = _col(sa.String(255), "")
    GradeLevel: int = _col(TINYINT, 0)
    Urgency: int = _col(TINYINT, 0)
    DateFirstVisit: date = _col(DATE, NO_DATE)
    ClinicNum: int = _col(BIG, 0)
    HasIns: str = _col(sa.String(255), "")
    TrophyFolder: str = _col(sa.String(255), "")
    PlannedIsDone: int = _col(TINYINT, 0)
    Premed: int = _col(TINYINT, 0)
    Ward: str = _col(sa.String(255), "")
    PreferConfirmMethod: int = _col(TINYINT, 0)
    PreferContactMethod: int = _col(TINYINT, 0)
    PreferRecallMethod: int = _col(TINYINT, 0)
    SchedBeforeTime: time = _col(sa.Time, MIDNIGHT)
    SchedAfterTime: time = _col(sa.Time, MIDNIGHT)
    SchedDayOfWeek: int = _col(TINYINT, 0)
    Language: str = _col(sa.String(100), "")
    AdmitDate: date = _col(DATE, NO_DATE)
    Title: str = _col(sa.String(15), "")
    PayPlanDue: float = _col(sa.Double, 0.0)
    SiteNum: int = _col(BIG, 0)
    # A MySQL TIMESTAMP cannot hold year 1; Open Dental keeps it as "last changed".
    DateTStamp: datetime = Field(default_factory=now_seconds, sa_type=TIMESTAMP, nullable=False)
    ResponsParty: int = _col(BIG, 0)
    CanadianEligibilityCode: int = _col(TINYINT, 0)
    AskToArriveEarly: int = _col(sa.Integer, 0)
    PreferContactConfidential: int = _col(TINYINT, 0)
    SuperFamily: int = _col(BIG, 0)
    TxtMsgOk: int = _col(TINYINT, 0)
    SmokingSnoMed: str = _col(sa.String(32), "")
    Country: str = _col(sa.String(255), "")
    DateTimeDeceased: datetime = _col(DATETIME, NO_DATETIME)
    BillingCycleDay: int = _col(sa.Integer, 0)
    SecUserNumEntry: int = _col(BIG, 0)
    SecDateEntry: date = _col(DATE, NO_DATE)
    HasSuperBilling: int = _col(TINYINT, 0)
    PatNumCloneFrom: int = _col(BIG, 0)
    DiscountPlanNum: int = _col(BIG, 0)
    HasSignedTil: int = _col(TINYINT, 0)
    ShortCodeOptIn: int = _col(TINYINT, 0)
    SecurityHash: str = _col(sa.String(255), "")


class SheetDef(SQLModel, table=True):
    """A sheet definition (table `sheetdef`)."""

    __tablename__ = "sheetdef"

    SheetDefNum: int | None = _key()
    Description: str = _col(sa.String(255), "")
    SheetType: int = _col(sa.Integer, 0)
    FontSize: float = _col(sa.Float, 0.0)
    FontName: str = _col(sa.String(255), "")
    Width: int = _col(sa.Integer, 0)
    Height: int = _col(sa.Integer, 0)
    IsLandscape: bool = _col(TINYBOOL, False)
    PageCount: int = _col(sa.Integer, 0)
    IsMultiPage: bool = _col(TINYBOOL, False)
    BypassGlobalLock: int = _col(TINYINT, 0)
    HasMobileLayout: bool = _col(TINYBOOL, False)
    DateTCreated: datetime = _col(DATETIME, NO_DATETIME)
    RevID: int = _col(sa.Integer, 0)
    AutoCheckSaveImage: bool = _col(TINYBOOL, False)
    AutoCheckSaveImageDocCategory: int = _col(BIG, 0)


class SheetFieldDef(SQLModel, table=True):
    """A field of a sheet definition (table `sheetfielddef`)."""

    __tablename__ = "sheetfielddef"

    SheetFieldDefNum: int | None = _key()
    SheetDefNum: int = _col(BIG, 0, index=True)
    FieldType: int = _col(sa.Integer, 0)
    FieldName: str = _col(sa.String(255), "")
    FieldValue: str = _col(sa.Text, "")
    FontSize: float = _col(sa.Float, 0.0)
    FontName: str = _col(sa.String(255), "")
    FontIsBold: bool = _col(TINYBOOL, False)
    XPos: int = _col(sa.Integer, 0)
    YPos: int = _col(sa.Integer, 0)
    Width: int = _col(sa.Integer, 0)
    Height: int = _col(sa.Integer, 0)
    GrowthBehavior: int = _col(sa.Integer, 0)
    RadioButtonValue: str = _col(sa.String(255), "")
    RadioButtonGroup: str = _col(sa.String(255), "")
    IsRequired: bool = _col(TINYBOOL, False)
    TabOrder: int = _col(sa.Integer, 0)
    ReportableName: str = _col(sa.String(255), "")
    TextAlign: int = _col(TINYINT, 0)
    IsPaymentOption: bool = _col(TINYBOOL, False)
    ItemColor: int = _col(sa.Integer, 0)
    IsLocked: bool = _col(TINYBOOL, False)
    TabOrderMobile: int = _col(sa.Integer, 0)
    UiLabelMobile: str = _col(sa.Text, "")
    UiLabelMobileRadioButton: str = _col(sa.Text, "")
    LayoutMode: int = _col(TINYINT, 0)
    Language: str = _col(sa.String(255), "")
    CanElectronicallySign: bool = _col(TINYBOOL, False)
    IsSigProvRestricted: bool = _col(TINYBOOL, False)


class Sheet(SQLModel, table=True):
    """A sheet of a patient (table `sheet`)."""

    __tablename__ = "sheet"

    SheetNum: int | None = _key()
    SheetType: int = _col(sa.Integer, 0)
    PatNum: int = _col(BIG, 0, index=True)
    DateTimeSheet: datetime = _col(DATETIME, NO_DATETIME)
    FontSize: float = _col(sa.Float, 0.0)
    FontName: str = _col(sa.String(255), "")
    Width: int = _col(sa.Integer, 0)
    Height: int = _col(sa.Integer, 0)
    IsLandscape: bool = _col(TINYBOOL, False)
    InternalNote: str = _col(sa.Text, "")
    Description: str = _col(sa.String(255), "")
    ShowInTerminal: int = _col(TINYINT, 0)
    IsWebForm: bool = _col(TINYBOOL, False)
    IsMultiPage: bool = _col(TINYBOOL, False)
    IsDeleted: bool = _col(TINYBOOL, False)
    SheetDefNum: int = _col(BIG, 0)
    DocNum: int = _col(BIG, 0)
    ClinicNum: int = _col(BIG, 0)
    DateTSheetEdited: datetime = _col(DATETIME, NO_DATETIME)
    HasMobileLayout: bool = _col(TINYBOOL, False)
    RevID: int = _col(sa.Integer, 0)
    WebFormSheetID: int = _col(BIG, 0)


class SheetField(SQLModel, table=True):
    """A field of a sheet (table `sheetfield`)."""

    __tablename__ = "sheetfield"

    SheetFieldNum: int | None = _key()
    SheetNum: int = _col(BIG, 0, index=True)
    FieldType: int = _col(sa.Integer, 0)
    FieldName: str = _col(sa.String(255), "")
    FieldValue: str = _col(sa.Text, "")
    FontSize: float = _col(sa.Float, 0.0)
    FontName: str = _col(sa.String(255), "")
    FontIsBold: bool = _col(TINYBOOL, False)
    XPos: int = _col(sa.Integer, 0)
    YPos: int = _col(sa.Integer, 0)
    Width: int = _col(sa.Integer, 0)
    Height: int = _col(sa.Integer, 0)
    GrowthBehavior: int = _col(sa.Integer, 0)
    RadioButtonValue: str = _col(sa.String(255), "")
    RadioButtonGroup: str = _col(sa.String(255), "")
    IsRequired: bool = _col(TINYBOOL, False)
    TabOrder: int = _col(sa.Integer, 0)
    ReportableName: str = _col(sa.String(255), "")
    TextAlign: int = _col(TINYINT, 0)
    ItemColor: int = _col(sa.Integer, 0)
    DateTimeSig: datetime = _col(DATETIME, NO_DATETIME)
    IsLocked: bool = _col(TINYBOOL, False)
    TabOrderMobile: int = _col(sa.Integer, 0)
    UiLabelMobile: str = _col(sa.Text, "")
    UiLabelMobileRadioButton: str = _col(sa.Text, "")
    SheetFieldDefNum: int = _col(BIG, 0)
    CanElectronicallySign: bool = _col(TINYBOOL, False)
    IsSigProvRestricted: bool = _col(TINYBOOL, False)
    UserSigned: int = _col(BIG, 0)


def _table(model: type[SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


PATIENT = _table(Patient)
SHEETDEF = _table(SheetDef)
SHEETFIELDDEF = _table(SheetFieldDef)
SHEET = _table(Sheet)
SHEETFIELD = _table(SheetField)

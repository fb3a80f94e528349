"""Open Dental's enums, by the integers its tables store (see schema-sheets)."""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar


class SheetType(IntEnum):
    """SheetTypeEnum: sheet.SheetType and sheetdef.SheetType."""

    LabelPatient = 0
    LabelCarrier = 1
    LabelReferral = 2
    ReferralSlip = 3
    LabelAppointment = 4
    Rx = 5
    Consent = 6
    PatientLetter = 7
    ReferralLetter = 8
    PatientForm = 9
    RoutingSlip = 10
    MedicalHistory = 11
    LabSlip = 12
    ExamSheet = 13
    DepositSlip = 14
    Statement = 15
    MedLabResults = 16
    TreatmentPlan = 17
    Screening = 18
    PaymentPlan = 19
    RxMulti = 20
    ERA = 21
    ERAGridHeader = 22
    RxInstruction = 23
    PatientDashboard = 24
    PatientDashboardWidget = 25
    ChartModule = 26
    None_ = 27
    Check = 28


# Open Dental's API creates sheets only from definitions of these types.
CREATABLE_SHEET_TYPES = (
    SheetType.Consent,
    SheetType.PatientLetter,
    SheetType.PatientForm,
    SheetType.MedicalHistory,
    SheetType.ExamSheet,
)


class SheetFieldType(IntEnum):
    """SheetFieldType: sheetfield.FieldType and sheetfielddef.FieldType."""

    OutputText = 0
    InputField = 1
    StaticText = 2
    Parameter = 3
    Image = 4
    Drawing = 5
    Line = 6
    Rectangle = 7
    CheckBox = 8
    SigBox = 9
    PatImage = 10
    Special = 11
    Grid = 12
    ComboBox = 13
    ScreenChart = 14
    MobileHeader = 15
    SigBoxPractice = 16


class GrowthBehavior(IntEnum):
    """GrowthBehaviorEnum: how a field may grow when its text does not fit."""

    None_ = 0
    DownLocal = 1
    DownGlobal = 2
    FillRightDown = 3
    FillDown = 4
    FillRight = 5
    FillDownFitColumns = 6


class TextAlign(IntEnum):
    """System.Windows.Forms.HorizontalAlignment, stored in TextAlign."""

    Left = 0
    Right = 1
    Center = 2


class BypassLockStatus(IntEnum):
    """BypassLockStatus: sheetdef.BypassGlobalLock."""

    NeverBypass = 0
    BypassIfZero = 1
    BypassAlways = 2


class SheetFieldLayoutMode(IntEnum):
    """SheetFieldLayoutMode: sheetfielddef.LayoutMode."""

    Default = 0
    TreatPlan = 1
    Ecw = 2
    EcwTreatPlan = 3
    Orion = 4
    OrionTreatPlan = 5
    MedicalPractice = 6
    MedicalPracticeTreatPlan = 7


E = TypeVar("E", bound=IntEnum)


def by_name(enum: type[E], name: str) -> E:
    """The member Open Dental spells `name` ("None" is `None_` here)."""
    return enum[name + "_" if name == "None" else name]


def od_name(member: IntEnum) -> str:
    """Open Dental's spelling of a member."""
    return member.name.removesuffix("_")

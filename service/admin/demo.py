"""Demo data for `sheets seed-demo`: patients and our own sheet definitions.

The definitions are ours (one per sheet type the API can create), laid out on
Open Dental's 850 x 1100 pixel page with its field types and tokens. Seeding
is idempotent: a definition or patient already present (same Description or
ChartNumber) is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo_fill import seed_fill_data
from service.admin.sheetdef_xml import insert_sheetdef
from service.storage import Patient, SheetDef, SheetFieldDef, bulk_insert, models, row, write_transaction
from service.vocab import GrowthBehavior, SheetFieldType, SheetType, TextAlign

BLACK = -16777216
FONT = "Microsoft Sans Serif"


def demo_patients() -> list[Patient]:
    """A few patients that exercise names, languages and titles."""
    common: dict[str, Any] = {
        "PatStatus": 0,
        "HmPhone": "(541) 555-0142",
        "State": "OR",
        "City": "Springfield",
        "Zip": "97477",
    }
    return [
        Patient(
            LName="Ångström-Müller",
            FName="Zoë",
            MiddleI="É",
            Gender=1,
            Birthdate=date(1988, 3, 14),
            Address="12 Rue de l'Église",
            Email="zoe@example.com",
            ChartNumber="DEMO-1",
            **common,
        ),
        Patient(
            LName="Smith",
            FName="Robert",
            MiddleI="J",
            Preferred="Bob",
            Title="Dr.",
            Salutation="Dr. Smith",
            Gender=0,
            Birthdate=date(1961, 11, 2),
            Address="400 Oak Avenue",
            Address2="Suite 5",
            WirelessPhone="(541) 555-0188",
            WkPhone="(541) 555-0199",
            ChartNumber="DEMO-2",
            **common,
        ),
        Patient(
            LName="García",
            FName="María",
            Language="spa",
            Gender=1,
            Birthdate=date(1979, 7, 30),
            Address="77 Calle Mayor",
            ChartNumber="DEMO-3",
            **common,
        ),
        Patient(
            LName="李",
            FName="小龍",
            Gender=0,
            Birthdate=date(2001, 1, 22),
            Address="8 Pine Street",
            ChartNumber="DEMO-4",
            **common,
        ),
        Patient(
            LName="Nakamura",
            FName="Ken",
            Gender=0,
            Birthdate=date(2015, 5, 5),
            Position=2,
            Address="8 Pine Street",
            ChartNumber="DEMO-5",
            **common,
        ),
    ]


@dataclass
class _Layout:
    """Builds field definitions top to bottom on an 850-pixel-wide page."""

    fields: list[SheetFieldDef] = field(default_factory=list)
    language: str = ""

    def _add(self, kind: SheetFieldType, x: int, y: int, w: int, h: int, **values: Any) -> None:
        values.setdefault("FontSize", 11.0)
        values.setdefault("FontName", FONT)
        self.fields.append(
            SheetFieldDef(
                FieldType=int(kind),
                XPos=x,
                YPos=y,
                Width=w,
                Height=h,
                ItemColor=BLACK,
                Language=self.language,
                **values,
            )
        )

    def text(
        self,
        x: int,
        y: int,
        w: int,
        h: int,
        value: str,
        *,
        size: float = 11,
        bold: bool = False,
        align: TextAlign = TextAlign.Left,
        grow: bool = False,
    ) -> None:
        self._add(
            SheetFieldType.StaticText,
            x,
            y,
            w,
            h,
            FieldValue=value,
            FontSize=size,
            FontIsBold=bold,
            TextAlign=int(align),
            GrowthBehavior=int(GrowthBehavior.DownGlobal if grow else 0),
        )

    def output(self, x: int, y: int, w: int, h: int, name: str, *, bold: bool = False) -> None:
        self._add(SheetFieldType.OutputText, x, y, w, h, FieldName=name, FontIsBold=bold)

    def input(
        self,
        x: int,
        y: int,
        w: int,
        h: int,
        name: str,
        *,
        required: bool = False,
        label: str = "",
        grow: bool = False,
    ) -> None:
        self._add(
            SheetFieldType.InputField,
            x,
            y,
            w,
            h,
            FieldName=name,
            IsRequired=required,
            ReportableName=name,
            UiLabelMobile=label or name,
            TabOrder=len(self.fields) + 1,
            GrowthBehavior=int(GrowthBehavior.DownGlobal if grow else 0),
        )

    def check(self, x: int, y: int, name: str, *, group: str = "", value: str = "") -> None:
        self._add(
            SheetFieldType.CheckBox,
            x,
            y,
            13,
            13,
            FieldName=name,
            RadioButtonGroup=group,
            RadioButtonValue=value,
            ReportableName=name,
            TabOrder=len(self.fields) + 1,
        )
        # As in Open Dental's own definitions, the box around a check box is a Rectangle.
        self.rect(x, y, 13, 13)

    def line(self, x: int, y: int, w: int, h: int = 0) -> None:
        self._add(SheetFieldType.Line, x, y, w, h)

    def rect(self, x: int, y: int, w: int, h: int) -> None:
        self._add(SheetFieldType.Rectangle, x, y, w, h)

    def signature(self, x: int, y: int, w: int = 364, h: int = 81) -> None:
        self._add(SheetFieldType.SigBox, x, y, w, h, FieldName="SigBox", CanElectronicallySign=True)

    def header(self, title: str, subtitle: str = "[practiceTitle]") -> None:
        self.text(50, 40, 750, 30, title, size=16, bold=True, align=TextAlign.Center)
        self.text(50, 75, 750, 20, subtitle, align=TextAlign.Center)
        self.line(50, 102, 750)


def _sheet_def(
    description: str, kind: SheetType, fields: list[SheetFieldDef]
) -> tuple[SheetDef, list[SheetFieldDef]]:
    sheet_def = SheetDef(
        Description=description,
        SheetType=int(kind),
        FontSize=11.0,
        FontName=FONT,
        Width=850,
        Height=1100,
        PageCount=1,
        RevID=1,
    )
    return sheet_def, fields


def _consent() -> list[SheetFieldDef]:
    fields: list[SheetFieldDef] = []
    for language, title, body, agree in (
        (
            "",
            "Consent for Treatment",
            "I, [nameFL], consent to the dental treatment described to me today, [dateToday]. The nature "
            "of the treatment, its risks, its alternatives and the likely outcome without it were explained "
            "to me, and my questions were answered.",
            "I have read and understood this form.",
        ),
        (
            "spa",
            "Consentimiento para el tratamiento",
            "Yo, [nameFL], doy mi consentimiento para el tratamiento dental que se me ha explicado hoy, "
            "[dateToday]. Se me explicaron la naturaleza, los riesgos y las alternativas del tratamiento.",
            "He leído y entendido este formulario.",
        ),
    ):
        layout = _Layout(language=language)
        layout.header(title)
        layout.output(50, 120, 400, 20, "patient.nameFL", bold=True)
        layout.output(600, 120, 200, 20, "dateTime.Today")
        layout.text(50, 160, 750, 140, body, grow=True)
        layout.check(50, 320, "agree")
        layout.text(70, 318, 600, 20, agree)
        layout.signature(50, 360)
        layout.text(50, 445, 364, 20, "Patient signature")
        fields += layout.fields
    return fields


def _letter() -> list[SheetFieldDef]:
    layout = _Layout()
    layout.output(50, 40, 400, 20, "PracticeTitle", bold=True)
    layout.output(50, 60, 400, 20, "PracticeAddress")
    layout.output(50, 80, 400, 20, "practiceCityStateZip")
    layout.output(100, 200, 300, 20, "patient.nameFL")
    layout.output(100, 220, 300, 20, "patient.address")
    layout.output(100, 240, 300, 20, "patient.cityStateZip")
    layout.output(100, 300, 200, 20, "today.DayDate")
    layout.output(100, 340, 300, 20, "patient.salutation")
    layout.text(
        100,
        380,
        650,
        200,
        "Thank you for choosing [practiceTitle]. Your last visit was on [dateLastAppt] (exam [dateLastExam], "
        "cleaning [dateLastProphy], bitewings [dateLastBW]); your next appointment is on "
        "[nextSchedApptDateT]. Your cleaning is due on [dateRecallDue] (every [recallInterval]). "
        "Your [carrierName] plan pays up to [insAnnualMax] a year: [insUsed] used, [insRemaining] left.\r\n"
        "Treatment planned on [dateOfLastSavedTP]:\r\n[treatmentPlanProcs]",
        grow=True,
    )
    layout.text(100, 600, 100, 20, "Sincerely,")
    layout.output(100, 660, 300, 20, "patient.priProvNameFL")
    layout.text(100, 680, 300, 20, "for the team at [practiceTitle]")
    return layout.fields


def _registration() -> list[SheetFieldDef]:
    layout = _Layout()
    layout.header("Patient Registration")
    rows = [
        ("Last name", "LName"),
        ("First name", "FName"),
        ("Middle initial", "MiddleI"),
        ("Preferred name", "Preferred"),
        ("Birthdate", "Birthdate"),
        ("Address", "Address"),
        ("Email", "Email"),
        ("Mobile phone", "WirelessPhone"),
    ]
    for n, (label, name) in enumerate(rows):
        y = 130 + n * 36
        layout.text(50, y, 180, 20, label + ":")
        layout.input(240, y, 400, 20, name, required=n < 2, label=label)
        layout.line(240, y + 20, 400)
    layout.text(50, 440, 300, 20, "Gender:", bold=True)
    for n, value in enumerate(("Male", "Female", "Other")):
        layout.check(240 + n * 120, 442, "Gender", group="Gender", value=value)
        layout.text(258 + n * 120, 440, 90, 20, value)
    layout.rect(45, 120, 760, 350)
    layout.signature(50, 500)
    return layout.fields


PROBLEMS = (
    "Heart disease",
    "High blood pressure",
    "Diabetes",
    "Asthma",
    "Hepatitis",
    "Bleeding disorder",
    "Pregnant",
    "Tobacco use",
    "Artificial joint",
)
ALLERGIES = ("Penicillin", "Latex", "Codeine")
MEDICATION_LINES = 4


def _medical_history() -> list[SheetFieldDef]:
    layout = _Layout()
    layout.header("Medical History", "[nameFL]   Birthdate: [Birthdate]   Age: [age]")
    layout.text(520, 115, 40, 20, "Yes", bold=True)
    layout.text(580, 115, 40, 20, "No", bold=True)
    rows = [("problem:" + name, name) for name in PROBLEMS] + [
        ("allergy:" + name, "Allergy to " + name.lower()) for name in ALLERGIES
    ]
    for n, (field_name, label) in enumerate(rows):
        y = 140 + n * 26
        layout.text(50, y, 400, 20, label)
        layout.check(525, y + 2, field_name, group=label, value="Y")
        layout.check(585, y + 2, field_name, group=label, value="N")
        layout.line(50, y + 22, 600)
    y = 140 + len(rows) * 26 + 10
    layout.text(50, y, 300, 20, "Current medications:")
    for n in range(MEDICATION_LINES):
        layout.input(54, y + 24 + n * 24, 742, 20, f"inputMed{n + 1}")
        layout.line(54, y + 44 + n * 24, 742)
    y += 30 + MEDICATION_LINES * 24
    layout.text(50, y, 200, 20, "Emergency contact:")
    layout.input(250, y, 300, 20, "ICEName", label="Emergency contact")
    layout.input(560, y, 240, 20, "ICEPhone", label="Emergency phone")
    y += 30
    layout.text(50, y, 400, 20, "Anything else we should know:")
    # Grows with its answer and pushes the signature down, onto a next page if need be.
    layout.input(54, y + 24, 742, 20, "notes", label="Notes", grow=True)
    layout.line(54, y + 44, 742)
    layout.signature(50, y + 60)
    return layout.fields


def _exam() -> list[SheetFieldDef]:
    layout = _Layout()
    layout.header("Exam", "[nameLF]   Chart: [ChartNumber]   [dateToday]")
    for n, area in enumerate(("Lips", "Tongue", "Floor of mouth", "Palate", "Gingiva", "Occlusion")):
        y = 130 + n * 30
        layout.text(50, y, 200, 20, area + ":")
        layout.check(260, y + 3, area + " normal")
        layout.text(278, y, 80, 20, "Normal")
        layout.input(370, y, 430, 20, area + " notes")
    layout.text(50, 330, 200, 20, "Findings:", bold=True)
    layout.input(54, 356, 742, 112, "findings")
    layout.rect(50, 352, 750, 120)
    layout.output(50, 500, 300, 20, "sheet.DateTimeSheet")
    return layout.fields


def builtin_sheetdefs() -> list[tuple[SheetDef, list[SheetFieldDef]]]:
    """One definition of each type the API creates sheets from."""
    return [
        _sheet_def("Demo Consent", SheetType.Consent, _consent()),
        _sheet_def("Demo Patient Letter", SheetType.PatientLetter, _letter()),
        _sheet_def("Demo Registration", SheetType.PatientForm, _registration()),
        _sheet_def("Demo Medical History", SheetType.MedicalHistory, _medical_history()),
        _sheet_def("Demo Exam", SheetType.ExamSheet, _exam()),
    ]


@dataclass
class SeedResult:
    patients: list[int]
    sheet_defs: list[int]


async def seed_demo(engine: AsyncEngine) -> SeedResult:
    """Add the demo patients and definitions that are not there yet, in one transaction."""
    result = SeedResult([], [])
    patient = models.PATIENT
    sheet_def = models.SHEETDEF
    async with write_transaction(engine) as conn:
        charts = set((await conn.execute(sa.select(patient.c.ChartNumber))).scalars())
        new = [row(p) for p in demo_patients() if p.ChartNumber not in charts]
        if new:
            await bulk_insert(conn, patient, new)
            numbers = await conn.execute(
                sa.select(patient.c.ChartNumber, patient.c.PatNum).where(
                    patient.c.ChartNumber.in_([p["ChartNumber"] for p in new])
                )
            )
            by_chart: dict[str, int] = {row[0]: row[1] for row in numbers}
            result.patients = sorted(by_chart.values())
            await seed_fill_data(conn, by_chart)
        names = set((await conn.execute(sa.select(sheet_def.c.Description))).scalars())
        for definition, field_defs in builtin_sheetdefs():
            if definition.Description not in names:
                result.sheet_defs.append(await insert_sheetdef(conn, definition, field_defs))
    return result

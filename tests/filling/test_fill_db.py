"""Creating sheets on an Open Dental database: filled from its own tables, on SQLite, MariaDB and PostgreSQL.

On MariaDB and PostgreSQL the fill tables are created as Open Dental's database has them (the service never
creates them there); the demo seeding then gives the demo patients their rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin.demo import seed_demo
from service.filling.data import FillReader
from service.filling.tokens import TOKEN_NAMES
from service.storage import db, fill_tables, models, sessions
from service.storage.models import SheetDef, SheetFieldDef
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_create import _add_def, _create, _def_num, _fields, _pat_num, _statements


@pytest.fixture
async def open_dental(engine: AsyncEngine) -> AsyncEngine:
    """Our tables, Open Dental's fill tables (as on an Open Dental database) and the demo data."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: fill_tables.METADATA.create_all(sync))
    await seed_demo(engine)
    return engine


def _by_name(fields: Sequence[RowMapping]) -> dict[tuple[str, str], RowMapping]:
    return {(f["FieldName"], f["RadioButtonValue"]): f for f in fields}


async def test_a_medical_history_is_pre_filled_from_medications_allergies_problems_and_ice(
    open_dental: AsyncEngine,
) -> None:
    await check_pre_filled_medical_history(open_dental)


async def check_pre_filled_medical_history(engine: AsyncEngine) -> None:
    """The demo Medical History of Robert 'Bob' Smith, filled from the demo rows of the fill tables."""
    sheet_num = await _create(
        engine, await _def_num(engine, "Demo Medical History"), await _pat_num(engine, "DEMO-2")
    )
    fields = _by_name(await _fields(engine, sheet_num))
    output = int(SheetFieldType.OutputText)
    # Current medications only (the discontinued Amoxicillin is not listed), the generic in brackets,
    # a medication without a medication row by its description; each becomes OutputText.
    assert [
        (fields[(f"inputMed{n}", "")]["FieldType"], fields[(f"inputMed{n}", "")]["FieldValue"])
        for n in (1, 2, 3)
    ] == [
        (output, "Lisinopril"),
        (output, "Lipitor (Atorvastatin)"),
        (output, "Fish oil"),
    ]
    assert (fields[("inputMed4", "")]["FieldType"], fields[("inputMed4", "")]["FieldValue"]) == (
        int(SheetFieldType.InputField),
        "",
    )
    checked = {
        key
        for key, f in fields.items()
        if f["FieldType"] == SheetFieldType.CheckBox and f["FieldValue"] == "X"
    }
    assert checked == {
        ("allergy:Penicillin", "Y"),
        ("allergy:Latex", "N"),
        ("problem:High blood pressure", "Y"),
        ("problem:Asthma", "N"),
    }
    assert fields[("ICEName", "")]["FieldValue"] == "Mary Smith"
    assert fields[("ICEPhone", "")]["FieldValue"] == "(541) 555-0177"


async def _insert_preferences(engine: AsyncEngine, **values: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(fill_tables.PREFERENCE), [{"PrefName": k, "ValueString": v} for k, v in values.items()]
        )


async def test_a_patient_letter_has_the_provider_the_practice_from_preference_and_the_clinic(
    open_dental: AsyncEngine,
) -> None:
    engine = open_dental
    await _insert_preferences(
        engine,
        PracticeTitle="Real Dental Group",
        PracticeAddress="9 Real Road",
        PracticeAddress2="",
        PracticeCity="Salem",
        PracticeST="OR",
        PracticeZip="97301",
        PracticePhone="5035550100",
    )
    letter = await _add_def(
        engine,
        SheetDef(Description="Provider letter", SheetType=int(SheetType.PatientLetter)),
        [
            SheetFieldDef(FieldType=int(SheetFieldType.OutputText), FieldName=name)
            for name in ("patient.priProvNameFL", "PracticeTitle", "PracticeAddress", "practiceCityStateZip")
        ]
        + [
            SheetFieldDef(
                FieldType=int(SheetFieldType.StaticText),
                FieldValue="[priProvNameFormal]|[clinicDescription]|[clinicAddress]|[clinicPhone]|[practiceTitle]",
            )
        ],
    )
    zoe = await _pat_num(engine, "DEMO-1")
    values = [f["FieldValue"] for f in await _fields(engine, await _create(engine, letter, zoe))]
    assert values == [
        "Jane Doe, DDS",
        "Real Dental Group",
        "9 Real Road",
        "Salem, OR  97301",
        # The token has the middle initial (Provider.GetFormalName), the field not (Providers.GetFormalName).
        "Jane A. Doe, DDS|Springfield Dental Downtown|200 Center Street|(541)555-0123|Real Dental Group",
    ]
    # A patient without a clinic gets the practice (from preference) for the clinic tokens.
    smith = await _pat_num(engine, "DEMO-2")
    smith_values = [f["FieldValue"] for f in await _fields(engine, await _create(engine, letter, smith))]
    assert smith_values[-1] == (
        "Jane A. Doe, DDS|Real Dental Group|9 Real Road|(503)555-0100|Real Dental Group"
    )


async def test_a_definition_with_every_token_fills_each_known_one_and_keeps_an_unknown_one(
    open_dental: AsyncEngine,
) -> None:
    engine = open_dental
    template = "\r\n".join(f"{name}=[{name}]" for name in TOKEN_NAMES) + "\r\nunknown=[notAnOpenDentalToken]"
    sheet_def = await _add_def(
        engine,
        SheetDef(Description="Every token", SheetType=int(SheetType.Consent)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue=template)],
    )
    (field,) = await _fields(engine, await _create(engine, sheet_def, await _pat_num(engine, "DEMO-2")))
    lines = dict(line.split("=", 1) for line in field["FieldValue"].split("\r\n") if "=" in line)
    assert lines["unknown"] == "[notAnOpenDentalToken]"
    assert not [name for name in TOKEN_NAMES if f"[{name}]" in field["FieldValue"]]
    assert lines["nameFL"] == "Robert 'Bob' J Smith"
    assert lines["activeAllergies"] == "Penicillin"
    assert lines["activeProblems"] == "High blood pressure"
    assert lines["medicalSummary"] == "Takes his blood pressure medication every morning."
    assert lines["priProvNameFormal"] == "Jane A. Doe, DDS"
    assert lines["dateToday"] == "11/29/2026"
    assert lines["guarantorNameF"] == "Robert"
    assert (lines["insAnnualMax"], lines["dueForBWYN"], lines["patientPortalCredentials"]) == ("", "No", "")


async def _fingerprint(engine: AsyncEngine) -> dict[str, str]:
    prints = {}
    async with engine.connect() as conn:
        for table in fill_tables.TABLES:
            rows = (await conn.execute(sa.select(table).order_by(*table.primary_key.columns))).all()
            prints[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return prints


async def test_creating_sheets_never_alters_open_dentals_fill_tables(open_dental: AsyncEngine) -> None:
    engine = open_dental
    before = await _fingerprint(engine)
    for description in (
        "Demo Consent",
        "Demo Patient Letter",
        "Demo Registration",
        "Demo Medical History",
        "Demo Exam",
    ):
        for chart in ("DEMO-1", "DEMO-2"):
            await _create(engine, await _def_num(engine, description), await _pat_num(engine, chart))
    assert await _fingerprint(engine) == before


async def test_without_the_fill_tables_a_medical_history_keeps_its_definitions_values(
    engine: AsyncEngine,
) -> None:
    # init-db makes the fill tables on SQLite only; drop them there to see an Open Dental-less database.
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: fill_tables.METADATA.drop_all(sync, checkfirst=True))
    await seed_demo(engine)
    sheet_num = await _create(
        engine, await _def_num(engine, "Demo Medical History"), await _pat_num(engine, "DEMO-2")
    )
    fields = await _fields(engine, sheet_num)
    assert not [f for f in fields if f["FieldType"] == SheetFieldType.CheckBox and f["FieldValue"]]
    assert {f["FieldValue"] for f in fields if f["FieldName"].startswith(("inputMed", "ICE"))} == {""}


async def test_a_sheet_with_every_token_costs_a_bounded_number_of_statements(
    open_dental: AsyncEngine,
) -> None:
    engine = open_dental
    template = " ".join(f"[{name}]" for name in TOKEN_NAMES)
    sheet_def = await _add_def(
        engine,
        SheetDef(Description="Every token, many fields", SheetType=int(SheetType.PatientForm)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue=template) for _ in range(100)],
    )
    zoe = await _pat_num(engine, "DEMO-1")  # she has a clinic: every table group is read
    await _create(engine, sheet_def, zoe)
    with _statements(engine) as statements:
        await _create(engine, sheet_def, zoe)
    # The definition and patient, the field definitions, one read per table group (preference, provider,
    # clinic, patientnote, family, allergy, disease, medicationpat, refattach, patplan, appointment,
    # procedurelog, codegroup, definition, treatplan, recall, site, popup, benefit, claimproc, covspan),
    # two inserts.
    assert statements == ["SELECT"] * 23 + ["INSERT", "INSERT"]


async def test_the_fill_reads_share_the_creates_snapshot(
    open_dental: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_dental
    seen: list[str] = []
    read = FillReader.read

    async def spy(self: FillReader, session: Any, *args: Any) -> Any:
        # The create's own session, inside its transaction.
        if isinstance(session, sessions.SqliteSession):
            assert session.in_transaction
        else:
            conn = session.connection
            assert conn.in_transaction()
            if engine.dialect.name == "postgresql":
                seen.append(str((await conn.exec_driver_sql("SHOW transaction_isolation")).scalar()))
        seen.append("read")
        return await read(self, session, *args)

    monkeypatch.setattr(FillReader, "read", spy)
    await _create(engine, await _def_num(engine, "Demo Medical History"), await _pat_num(engine, "DEMO-2"))
    assert seen == (["repeatable read", "read"] if engine.dialect.name == "postgresql" else ["read"])


async def _insert(engine: AsyncEngine, table: sa.Table, **values: Any) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(sa.insert(table).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


async def test_a_registration_form_fills_insurance_and_referral_from_their_tables(
    open_dental: AsyncEngine,
) -> None:
    engine = open_dental
    t = fill_tables
    smith, zoe = await _pat_num(engine, "DEMO-2"), await _pat_num(engine, "DEMO-1")
    carrier = await _insert(
        engine,
        t.CARRIER,
        CarrierName="Delta Dental",
        Address="PO Box 1",
        Address2="",
        City="Sacramento",
        State="CA",
        Zip="95899",
        Phone="800-555-0100",
    )
    employer = await _insert(engine, t.EMPLOYER, EmpName="Acme")
    plan = await _insert(
        engine,
        t.INSPLAN,
        GroupName="Acme Corp",
        GroupNum="G-77",
        PlanNote="",
        PlanType="p",
        CarrierNum=carrier,
        EmployerNum=employer,
        FeeSched=0,
        IsMedical=0,
        MonthRenew=0,
    )
    # Zoë (not of Smith's family) subscribes; Smith is her spouse on the plan.
    sub = await _insert(engine, t.INSSUB, PlanNum=plan, Subscriber=zoe, SubscriberID="XYZ123", SubscNote="")
    await _insert(engine, t.PATPLAN, PatNum=smith, Ordinal=1, Relationship=1, InsSubNum=sub)
    referral = await _insert(
        engine, t.REFERRAL, LName="House", FName="Greg", MName="", Title="MD", IsDoctor=0
    )
    await _insert(
        engine,
        t.REFATTACH,
        ReferralNum=referral,
        PatNum=smith,
        ItemOrder=1,
        RefDate=date(2026, 1, 2),
        RefType=1,
    )
    form = await _add_def(
        engine,
        SheetDef(Description="Insurance form", SheetType=int(SheetType.PatientForm)),
        [
            SheetFieldDef(FieldType=int(SheetFieldType.InputField), FieldName=name)
            for name in (
                "ins1CarrierName",
                "ins1CarrierPhone",
                "ins1EmployerName",
                "ins1GroupNum",
                "referredFrom",
            )
        ]
        + [
            SheetFieldDef(
                FieldType=int(SheetFieldType.CheckBox), FieldName="ins1Relat", RadioButtonValue=value
            )
            for value in ("Self", "Spouse")
        ]
        + [
            SheetFieldDef(
                FieldType=int(SheetFieldType.StaticText),
                FieldValue="[carrierName]|[carrierCityStZip]|[insType]|[subscriberID]|[subscriberNameFL]|[referredFrom]",
            )
        ],
    )
    values = [f["FieldValue"] for f in await _fields(engine, await _create(engine, form, smith))]
    assert values == [
        "Delta Dental",
        "800-555-0100",
        "Acme",
        "G-77",
        "Greg House",
        "",
        "X",
        "Delta Dental|Sacramento, CA  95899|PPO Percentage|XYZ123|Zoë É Ångström-Müller|Greg House",
    ]


async def test_the_provider_is_the_patients_else_the_practice_default_else_the_first_visible(
    open_dental: AsyncEngine,
) -> None:
    engine = open_dental
    t = fill_tables
    hidden = await _insert(
        engine, t.PROVIDER, Abbr="H", ItemOrder=-1, LName="Hidden", FName="Hal", MI="", Suffix="", IsHidden=1
    )
    second = await _insert(
        engine,
        t.PROVIDER,
        Abbr="S",
        ItemOrder=5,
        LName="Second",
        FName="Sam",
        MI="",
        Suffix="DMD",
        IsHidden=0,
    )
    letter = await _add_def(
        engine,
        SheetDef(Description="Provider only", SheetType=int(SheetType.PatientLetter)),
        [SheetFieldDef(FieldType=int(SheetFieldType.OutputText), FieldName="patient.priProvNameFL")],
    )

    async def provider_of(**patient: Any) -> str:
        pat_num = await _insert(engine, models.PATIENT, **db.row(models.Patient(LName="P", **patient)))
        (field,) = await _fields(engine, await _create(engine, letter, pat_num))
        return str(field["FieldValue"])

    assert await provider_of(PriProv=second) == "Sam Second, DMD"
    assert await provider_of(PriProv=hidden) == "Hal Hidden"
    # No PriProv: the first visible provider by ItemOrder (the demo's Jane Doe, 0), not the hidden one (-1).
    assert await provider_of(PriProv=0) == "Jane Doe, DDS"
    await _insert_preferences(engine, PracticeDefaultProv=str(second))
    assert await provider_of(PriProv=0) == "Sam Second, DMD"

"""Demo rows in Open Dental's fill tables (embedded database only), so demo sheets come out pre-filled.

The demo patients get a provider; Zoë a clinic and a history (appointments,
completed and planned procedures with the code groups that date them, a saved
treatment plan, a prophy recall, a billing type, a site and a popup) relative
to the day of seeding, so the demo letter's history tokens show; Robert 'Bob' Smith medications
(current, discontinued, one without a medication row), allergies and problems
(active and not) and an emergency contact, so his Medical History shows each
rule. Only patients seeded in the same run get rows: seeding stays idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.storage import fill_tables as t
from service.storage import models


async def _insert(conn: AsyncConnection, table: sa.Table, **values: Any) -> int:
    result = await conn.execute(sa.insert(table).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def _has_tables(conn: AsyncConnection) -> bool:
    names = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    return all(table.name in names for table in t.TABLES)


async def seed_fill_data(conn: AsyncConnection, new_patients: Mapping[str, int]) -> None:
    """Rows for the demo patients just added (ChartNumber -> PatNum), where the fill tables exist."""
    if not new_patients or not await _has_tables(conn):
        return
    provider = (await conn.execute(sa.select(t.PROVIDER.c.ProvNum).order_by(t.PROVIDER.c.ProvNum))).scalar()
    if provider is None:
        provider = await _insert(
            conn,
            t.PROVIDER,
            Abbr="DOC1",
            ItemOrder=0,
            LName="Doe",
            FName="Jane",
            MI="A",
            Suffix="DDS",
            IsHidden=0,
        )
    patient = models.PATIENT.c
    await conn.execute(
        sa.update(models.PATIENT)
        .where(patient.PatNum.in_(list(new_patients.values())))
        .values(PriProv=provider)
    )
    zoe = new_patients.get("DEMO-1")
    if zoe is not None:
        clinic = await _insert(
            conn,
            t.CLINIC,
            Description="Springfield Dental Downtown",
            Address="200 Center Street",
            Address2="",
            City="Springfield",
            State="OR",
            Zip="97477",
            Phone="5415550123",
        )
        await conn.execute(sa.update(models.PATIENT).where(patient.PatNum == zoe).values(ClinicNum=clinic))
        await _history(conn, zoe, provider)
    smith = new_patients.get("DEMO-2")
    if smith is not None:
        await _medical(conn, smith)


async def _medical(conn: AsyncConnection, pat_num: int) -> None:
    await conn.execute(
        sa.insert(t.PATIENTNOTE).values(
            PatNum=pat_num,
            FamFinancial="",
            Medical="Takes his blood pressure medication every morning.",
            Service="",
            MedicalComp="",
            Treatment="",
            ICEName="Mary Smith",
            ICEPhone="(541) 555-0177",
        )
    )
    atorvastatin = await _insert(conn, t.MEDICATION, MedName="Atorvastatin", GenericNum=0)
    await conn.execute(
        sa.update(t.MEDICATION)
        .where(t.MEDICATION.c.MedicationNum == atorvastatin)
        .values(GenericNum=atorvastatin)
    )
    lipitor = await _insert(conn, t.MEDICATION, MedName="Lipitor", GenericNum=atorvastatin)
    lisinopril = await _insert(conn, t.MEDICATION, MedName="Lisinopril", GenericNum=0)
    await conn.execute(
        sa.update(t.MEDICATION)
        .where(t.MEDICATION.c.MedicationNum == lisinopril)
        .values(GenericNum=lisinopril)
    )
    amoxicillin = await _insert(conn, t.MEDICATION, MedName="Amoxicillin", GenericNum=0)
    for medication, descript, stop in (
        (lisinopril, "", models.NO_DATE),
        (lipitor, "", models.NO_DATE),
        # Discontinued: not on a new Medical History.
        (amoxicillin, "", date(2024, 3, 1)),
        # Not in the medication table (e.g. reported by the patient): its description is shown.
        (0, "Fish oil", models.NO_DATE),
    ):
        await _insert(
            conn,
            t.MEDICATIONPAT,
            PatNum=pat_num,
            MedicationNum=medication,
            PatNote="",
            DateStart=models.NO_DATE,
            DateStop=stop,
            MedDescript=descript,
        )
    for description, active in (("Penicillin", 1), ("Latex", 0)):
        definition = await _insert(conn, t.ALLERGYDEF, Description=description, IsHidden=0)
        await _insert(
            conn, t.ALLERGY, AllergyDefNum=definition, PatNum=pat_num, Reaction="Hives", StatusIsActive=active
        )
    for order, (name, status) in enumerate((("High blood pressure", 0), ("Asthma", 1))):
        definition = await _insert(conn, t.DISEASEDEF, DiseaseName=name, ItemOrder=order, IsHidden=0)
        await _insert(
            conn, t.DISEASE, PatNum=pat_num, DiseaseDefNum=definition, PatNote="", ProbStatus=status
        )


async def _history(conn: AsyncConnection, pat_num: int, provider: int) -> None:
    today = date.today()
    last, following = today - timedelta(days=120), today + timedelta(days=21)
    codes = {}
    for code, descript, abbr, area in (
        ("D0120", "periodic oral evaluation", "PerEx", 3),
        ("D1110", "prophylaxis - adult", "Pro", 3),
        ("D0274", "bitewings - four radiographic images", "4BW", 3),
        ("D2740", "crown - porcelain/ceramic", "CrnPorc", 2),
    ):
        codes[code] = await _insert(
            conn,
            t.PROCEDURECODE,
            ProcCode=code,
            Descript=descript,
            AbbrDesc=abbr,
            TreatArea=area,
            LaymanTerm="",
        )
    # Code groups as Open Dental's conversion makes them (CodeGroupFixed: BW 1, PanoFMX 2, Exam 3,
    # Perio 4, Prophy 5, SRP 6).
    groups = {}
    for fixed, (name, group_codes) in enumerate(
        (
            ("BWs", "D0272,D0274"),
            ("Pano/FMX", "D0210,D0330"),
            ("Exams", "D0120,D0150"),
            ("Perio Maint", "D4910"),
            ("Prophy", "D1110,D1120"),
            ("SRP", "D4341,D4342"),
        ),
        start=1,
    ):
        groups[fixed] = await _insert(
            conn,
            t.CODEGROUP,
            GroupName=name,
            ProcCodes=group_codes,
            ItemOrder=fixed,
            CodeGroupFixed=fixed,
            IsHidden=0,
            ShowInAgeLimit=1,
        )
    visit = await _insert(
        conn,
        t.APPOINTMENT,
        PatNum=pat_num,
        AptStatus=2,
        Pattern="X" * 12,
        ProvNum=provider,
        AptDateTime=datetime.combine(last, datetime.min.time()).replace(hour=9),
        NextAptNum=0,
        ProcDescript="PerEx, Pro, 4BW",
        ItemOrderPlanned=0,
    )
    crown = await _insert(
        conn,
        t.APPOINTMENT,
        PatNum=pat_num,
        AptStatus=1,
        Pattern="X" * 18,
        ProvNum=provider,
        AptDateTime=datetime.combine(following, datetime.min.time()).replace(hour=10, minute=30),
        NextAptNum=0,
        ProcDescript="#30-CrnPorc",
        ItemOrderPlanned=0,
    )
    for code, when, status, fee, tooth, apt in (
        ("D0120", last, 2, 65.0, "", visit),
        ("D1110", last, 2, 110.0, "", visit),
        ("D0274", last, 2, 75.0, "", visit),
        ("D2740", last, 1, 1250.0, "30", crown),
    ):
        await _insert(
            conn,
            t.PROCEDURELOG,
            PatNum=pat_num,
            AptNum=apt,
            ProcDate=when,
            ProcFee=fee,
            Surf="",
            ToothNum=tooth,
            Priority=0,
            ProcStatus=status,
            CodeNum=codes[code],
        )
    await _insert(
        conn, t.TREATPLAN, PatNum=pat_num, DateTP=last, Heading="Crown", ResponsParty=pat_num, TPStatus=0
    )
    prophy = await _insert(
        conn, t.RECALLTYPE, Description="Prophy", DefaultInterval=393216, Procedures="D0120,D1110,D0274"
    )
    await _insert(conn, t.PREFERENCE, PrefName="RecallTypeSpecialProphy", ValueString=str(prophy))
    await _insert(
        conn,
        t.RECALL,
        PatNum=pat_num,
        DateDue=last + timedelta(days=182),
        RecallInterval=393216,
        IsDisabled=0,
        RecallTypeNum=prophy,
        DisableUntilBalance=0.0,
        DisableUntilDate=models.NO_DATE,
        DateScheduled=models.NO_DATE,
    )
    billing = await _insert(
        conn, t.DEFINITION, Category=4, ItemOrder=0, ItemName="Standard Account", IsHidden=0
    )
    site = await _insert(conn, t.SITE, Description="Springfield Elementary")
    await conn.execute(
        sa.update(models.PATIENT)
        .where(models.PATIENT.c.PatNum == pat_num)
        .values(BillingType=billing, SiteNum=site)
    )
    await _insurance(conn, pat_num, last, groups[1])
    await _insert(
        conn,
        t.POPUP,
        PatNum=pat_num,
        Description="Prefers morning appointments",
        PopupLevel=0,
        IsArchived=0,
        DateTimeDisabled=models.NO_DATETIME,
    )


async def _insurance(conn: AsyncConnection, pat_num: int, last: date, bitewing_group: int) -> None:
    # A plan whose benefit year starts in the month of the last visit, so that visit's claim is in it.
    fees = await _insert(conn, t.FEESCHED, Description="Delta PPO", IsHidden=0)
    carrier = await _insert(
        conn,
        t.CARRIER,
        CarrierName="Delta Dental of Oregon",
        Address="PO Box 40384",
        Address2="",
        City="Portland",
        State="OR",
        Zip="97240",
        Phone="8005521366",
    )
    plan = await _insert(
        conn,
        t.INSPLAN,
        GroupName="Springfield Schools",
        GroupNum="SPS-100",
        PlanNote="",
        FeeSched=fees,
        PlanType="p",
        CarrierNum=carrier,
        EmployerNum=0,
        IsMedical=0,
        MonthRenew=last.month,
    )
    sub = await _insert(conn, t.INSSUB, PlanNum=plan, Subscriber=pat_num, SubscriberID="ZA1234", SubscNote="")
    await _insert(conn, t.PATPLAN, PatNum=pat_num, Ordinal=1, Relationship=0, InsSubNum=sub)
    benefit = {
        "PlanNum": plan,
        "PatPlanNum": 0,
        "CovCatNum": 0,
        "Percent": -1,
        "MonetaryAmt": -1.0,
        "TimePeriod": 1,
        "QuantityQualifier": 0,
        "Quantity": 0,
        "CodeNum": 0,
        "CoverageLevel": 1,
        "CodeGroupNum": 0,
    }
    await _insert(conn, t.BENEFIT, **benefit | {"BenefitType": 5, "MonetaryAmt": 1500.0})
    await _insert(conn, t.BENEFIT, **benefit | {"BenefitType": 2, "MonetaryAmt": 50.0})
    for order, (name, kind, percent) in enumerate(
        (("Diagnostic", 2, 100), ("Preventive", 12, 100), ("Restorative", 4, 80))
    ):
        category = await _insert(
            conn, t.COVCAT, Description=name, CovOrder=order, IsHidden=0, EbenefitCat=kind
        )
        await _insert(
            conn, t.BENEFIT, **benefit | {"BenefitType": 1, "CovCatNum": category, "Percent": percent}
        )
    frequency = {"BenefitType": 5, "CodeGroupNum": bitewing_group, "QuantityQualifier": 1, "Quantity": 1}
    await _insert(conn, t.BENEFIT, **benefit | frequency | {"CoverageLevel": 0})
    await _insert(
        conn,
        t.CLAIMPROC,
        ProcNum=0,
        PatNum=pat_num,
        InsPayEst=175.0,
        DedApplied=50.0,
        Status=1,
        InsPayAmt=175.0,
        PlanNum=plan,
        ProcDate=last,
        InsSubNum=sub,
    )

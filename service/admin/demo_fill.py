"""Demo rows in Open Dental's fill tables (embedded database only), so demo sheets come out pre-filled.

The demo patients get a provider; Zoë a clinic; Robert 'Bob' Smith medications
(current, discontinued, one without a medication row), allergies and problems
(active and not) and an emergency contact, so his Medical History shows each
rule. Only patients seeded in the same run get rows: seeding stays idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
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

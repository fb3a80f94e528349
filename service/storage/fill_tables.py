"""Open Dental's tables a new sheet is filled from (`schema-fill.xml`), read only.

The service never writes them. Only the columns filling reads are declared
(Open Dental's names and types); on an Open Dental database a read selects
those of them the table has (an older version may lack one), and on the
embedded database `init-db` creates them with these columns, empty, so demo
data can use them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from service.storage.models import BIG, DATE, NO_DATE, TINYINT

METADATA = sa.MetaData()


def _table(name: str, key: str, *columns: tuple[str, Any]) -> sa.Table:
    cols = [sa.Column(key, BIG, primary_key=True, autoincrement=True)]
    for column_name, column_type in columns:
        cols.append(sa.Column(column_name, column_type, nullable=False))
    return sa.Table(name, METADATA, *cols)


def _s(length: int = 255) -> sa.String:
    return sa.String(length)


PREFERENCE = _table("preference", "PrefNum", ("PrefName", _s()), ("ValueString", sa.Text))
PROVIDER = _table(
    "provider",
    "ProvNum",
    ("Abbr", _s()),
    ("ItemOrder", sa.SmallInteger),
    ("LName", _s(100)),
    ("FName", _s(100)),
    ("MI", _s(100)),
    ("Suffix", _s(100)),
    ("IsHidden", TINYINT),
)
CLINIC = _table(
    "clinic",
    "ClinicNum",
    ("Description", _s()),
    ("Address", _s()),
    ("Address2", _s()),
    ("City", _s()),
    ("State", _s()),
    ("Zip", _s()),
    ("Phone", _s()),
)
PATIENTNOTE = sa.Table(
    "patientnote",
    METADATA,
    sa.Column("PatNum", BIG, primary_key=True, autoincrement=False),
    *(
        sa.Column(name, sa.Text, nullable=False)
        for name in ("FamFinancial", "Medical", "Service", "MedicalComp", "Treatment")
    ),
    sa.Column("ICEName", _s(), nullable=False),
    sa.Column("ICEPhone", _s(30), nullable=False),
)
ALLERGYDEF = _table("allergydef", "AllergyDefNum", ("Description", _s()), ("IsHidden", TINYINT))
ALLERGY = _table(
    "allergy",
    "AllergyNum",
    ("AllergyDefNum", BIG),
    ("PatNum", BIG),
    ("Reaction", _s()),
    ("StatusIsActive", TINYINT),
)
DISEASEDEF = _table(
    "diseasedef",
    "DiseaseDefNum",
    ("DiseaseName", _s()),
    ("ItemOrder", sa.SmallInteger),
    ("IsHidden", TINYINT),
)
DISEASE = _table(
    "disease",
    "DiseaseNum",
    ("PatNum", BIG),
    ("DiseaseDefNum", BIG),
    ("PatNote", sa.Text),
    ("ProbStatus", TINYINT),
)
MEDICATION = _table("medication", "MedicationNum", ("MedName", _s()), ("GenericNum", BIG))
MEDICATIONPAT = _table(
    "medicationpat",
    "MedicationPatNum",
    ("PatNum", BIG),
    ("MedicationNum", BIG),
    ("PatNote", sa.Text),
    ("DateStart", DATE),
    ("DateStop", DATE),
    ("MedDescript", _s()),
)
REFERRAL = _table(
    "referral",
    "ReferralNum",
    ("LName", _s(100)),
    ("FName", _s(100)),
    ("MName", _s(100)),
    ("Title", _s()),
    ("IsDoctor", TINYINT),
)
REFATTACH = _table(
    "refattach",
    "RefAttachNum",
    ("ReferralNum", BIG),
    ("PatNum", BIG),
    ("ItemOrder", sa.SmallInteger),
    ("RefDate", DATE),
    ("RefType", TINYINT),
)
CARRIER = _table(
    "carrier",
    "CarrierNum",
    ("CarrierName", _s()),
    ("Address", _s()),
    ("Address2", _s()),
    ("City", _s()),
    ("State", _s()),
    ("Zip", _s()),
    ("Phone", _s()),
)
EMPLOYER = _table("employer", "EmployerNum", ("EmpName", _s()))
INSPLAN = _table(
    "insplan",
    "PlanNum",
    ("GroupName", _s(50)),
    ("GroupNum", _s(50)),
    ("PlanNote", sa.Text),
    ("PlanType", sa.CHAR(1)),
    ("CarrierNum", BIG),
    ("EmployerNum", BIG),
)
INSSUB = _table(
    "inssub",
    "InsSubNum",
    ("PlanNum", BIG),
    ("Subscriber", BIG),
    ("SubscriberID", _s()),
    ("SubscNote", sa.Text),
)
PATPLAN = _table(
    "patplan",
    "PatPlanNum",
    ("PatNum", BIG),
    ("Ordinal", TINYINT),
    ("Relationship", TINYINT),
    ("InsSubNum", BIG),
)

TABLES = tuple(METADATA.sorted_tables)


def neutral(column: sa.Column[Any]) -> Any:
    """The value a missing column reads as: Open Dental's value of a fresh row."""
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, sa.Date):
        return NO_DATE
    if isinstance(kind, sa.String | sa.Text):
        return ""
    return 0

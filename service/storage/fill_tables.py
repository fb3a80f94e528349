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

from service.storage.models import BIG, DATE, DATETIME, TINYINT

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
    ("FeeSched", BIG),
    ("PlanType", sa.CHAR(1)),
    ("CarrierNum", BIG),
    ("EmployerNum", BIG),
    ("IsMedical", TINYINT),
    ("MonthRenew", TINYINT),
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

APPOINTMENT = _table(
    "appointment",
    "AptNum",
    ("PatNum", BIG),
    ("AptStatus", TINYINT),
    ("Pattern", _s()),
    ("ProvNum", BIG),
    ("AptDateTime", DATETIME),
    ("NextAptNum", BIG),
    ("ProcDescript", sa.Text),
    ("ItemOrderPlanned", sa.Integer),
)
PROCEDURECODE = _table(
    "procedurecode",
    "CodeNum",
    ("ProcCode", _s(15)),
    ("Descript", _s()),
    ("AbbrDesc", _s(50)),
    ("TreatArea", TINYINT),
    ("LaymanTerm", _s()),
)
PROCEDURELOG = _table(
    "procedurelog",
    "ProcNum",
    ("PatNum", BIG),
    ("AptNum", BIG),
    ("ProcDate", DATE),
    ("ProcFee", sa.Float),
    ("Surf", _s(10)),
    ("ToothNum", _s(2)),
    ("Priority", BIG),
    ("ProcStatus", TINYINT),
    ("CodeNum", BIG),
)
CODEGROUP = _table(
    "codegroup",
    "CodeGroupNum",
    ("GroupName", _s(50)),
    ("ProcCodes", sa.Text),
    ("ItemOrder", sa.Integer),
    ("CodeGroupFixed", TINYINT),
    ("IsHidden", TINYINT),
    ("ShowInAgeLimit", TINYINT),
)
DEFINITION = _table(
    "definition",
    "DefNum",
    ("Category", TINYINT),
    ("ItemOrder", sa.SmallInteger),
    ("ItemName", _s()),
    ("IsHidden", TINYINT),
)
TREATPLAN = _table(
    "treatplan",
    "TreatPlanNum",
    ("PatNum", BIG),
    ("DateTP", DATE),
    ("Heading", _s()),
    ("ResponsParty", BIG),
    ("TPStatus", TINYINT),
)
RECALLTYPE = _table(
    "recalltype",
    "RecallTypeNum",
    ("Description", _s()),
    ("DefaultInterval", sa.Integer),
    ("Procedures", _s()),
)
RECALL = _table(
    "recall",
    "RecallNum",
    ("PatNum", BIG),
    ("DateDue", DATE),
    ("RecallInterval", sa.Integer),
    ("IsDisabled", TINYINT),
    ("RecallTypeNum", BIG),
    ("DisableUntilBalance", sa.Float),
    ("DisableUntilDate", DATE),
    ("DateScheduled", DATE),
)
SITE = _table("site", "SiteNum", ("Description", _s()))
POPUP = _table(
    "popup",
    "PopupNum",
    ("PatNum", BIG),
    ("Description", sa.Text),
    ("PopupLevel", TINYINT),
    ("IsArchived", TINYINT),
    ("DateTimeDisabled", DATETIME),
)
COVCAT = _table(
    "covcat",
    "CovCatNum",
    ("Description", _s(50)),
    ("CovOrder", sa.Integer),
    ("IsHidden", TINYINT),
    ("EbenefitCat", TINYINT),
)
COVSPAN = _table("covspan", "CovSpanNum", ("CovCatNum", BIG), ("FromCode", _s(15)), ("ToCode", _s(15)))
FEESCHED = _table("feesched", "FeeSchedNum", ("Description", _s()), ("IsHidden", TINYINT))
BENEFIT = _table(
    "benefit",
    "BenefitNum",
    ("PlanNum", BIG),
    ("PatPlanNum", BIG),
    ("CovCatNum", BIG),
    ("BenefitType", TINYINT),
    ("Percent", TINYINT),
    ("MonetaryAmt", sa.Float),
    ("TimePeriod", TINYINT),
    ("QuantityQualifier", TINYINT),
    ("Quantity", TINYINT),
    ("CodeNum", BIG),
    ("CoverageLevel", sa.Integer),
    ("CodeGroupNum", BIG),
)
CLAIMPROC = _table(
    "claimproc",
    "ClaimProcNum",
    ("ProcNum", BIG),
    ("PatNum", BIG),
    ("InsPayEst", sa.Float),
    ("DedApplied", sa.Float),
    ("Status", TINYINT),
    ("InsPayAmt", sa.Float),
    ("PlanNum", BIG),
    ("ProcDate", DATE),
    ("InsSubNum", BIG),
)
PATIENTRACE = _table("patientrace", "PatientRaceNum", ("PatNum", BIG), ("CdcrecCode", _s()))
CDCREC = _table(
    "cdcrec", "CdcrecNum", ("CdcrecCode", _s()), ("HeirarchicalCode", _s()), ("Description", _s())
)

TABLES = tuple(METADATA.sorted_tables)

"""Reading what a new sheet is filled from, out of Open Dental's own tables.

One query per table group per create, each only when the sheet needs it (its
type's fields, its StaticText tokens), on the create's own session so the
whole sheet sees one snapshot; the queries are built once per schema. The
result is plain data (`FillData`) that the filler consumes without a
database. A table the database does not have reads as empty, as Open Dental
prints for a patient without such data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlalchemy as sa

from service.filling.benefits import BENEFITS, CLAIMS, SPANS, Benefit, BenefitReader, ClaimHistory, CodeSpan
from service.filling.exam_refs import ExamField, ExamReader
from service.filling.history import History, HistoryReader, formal_name
from service.filling.query import Read, columns
from service.storage import Schema, Session, models
from service.storage import fill_tables as t
from service.vocab import FIRST_REAL_DATE

# What a part of the sheet needs read; the filler and the token table name these.
PREFERENCES, PROVIDER, CLINIC, NOTE, FAMILY = "preference", "provider", "clinic", "patientnote", "family"
ALLERGIES, PROBLEMS, MEDICATIONS, REFERRALS, INSURANCE = (
    "allergy",
    "disease",
    "medicationpat",
    "refattach",
    "patplan",
)
_OWN = frozenset({PREFERENCES, PROVIDER, CLINIC, NOTE, FAMILY, ALLERGIES, PROBLEMS, MEDICATIONS})
_OWN |= {REFERRALS, INSURANCE, BENEFITS, CLAIMS, SPANS}
PRACTICE_PREFERENCES = (
    "PracticeTitle",
    "PracticeAddress",
    "PracticeAddress2",
    "PracticeCity",
    "PracticeST",
    "PracticeZip",
    "PracticePhone",
    "PracticeDefaultProv",
    # How the treatment plan is sorted and which recall types are prophy and perio.
    "TreatPlanSortByTooth",
    "RecallTypeSpecialProphy",
    "RecallTypeSpecialPerio",
)
FAMILY_COLUMNS = (
    "PatNum",
    "Guarantor",
    "FName",
    "LName",
    "MiddleI",
    "Preferred",
    "Address",
    "Address2",
    "City",
    "State",
    "Zip",
    "HmPhone",
    "WkPhone",
    "WirelessPhone",
    "Birthdate",
    "FamFinUrgNote",
    "Bal_0_30",
    "Bal_31_60",
    "Bal_61_90",
    "BalOver90",
    "BalTotal",
    "InsEst",
)
_SUBSCRIBER_COLUMNS = ("PatNum", "FName", "LName", "MiddleI", "Preferred", "Birthdate")
_REF_FROM, _REF_TO = 1, 0


@dataclass(frozen=True, slots=True)
class Provider:
    first: str = ""
    last: str = ""
    suffix: str = ""
    middle: str = ""

    @property
    def formal_name(self) -> str:
        """Providers.GetFormalName(provNum): "First Last, Suffix" (the `patient.priProvNameFL` field)."""
        name = f"{self.first} {self.last}"
        return f"{name}, {self.suffix}" if self.suffix else name

    @property
    def formal_name_with_initial(self) -> str:
        """Provider.GetFormalName(): "First M. Last, Suffix" (the `[priProvNameFormal]` token)."""
        return formal_name(self.first, self.middle, self.last, self.suffix)


@dataclass(frozen=True, slots=True)
class Clinic:
    description: str = ""
    address: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """The patient's patientnote row (and the guarantor's family financial note)."""

    ice_name: str = ""
    ice_phone: str = ""
    medical: str = ""
    service: str = ""
    treatment: str = ""
    family_financial: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    """An allergy (by allergydef.Description) or a problem (by diseasedef.DiseaseName)."""

    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class Referral:
    first: str = ""
    middle: str = ""
    last: str = ""
    title: str = ""
    is_doctor: bool = False
    date: date = models.NO_DATE


@dataclass(frozen=True, slots=True)
class Coverage:
    """One of the patient's insurance plans, in patplan.Ordinal order."""

    relationship: int = 0
    subscriber: int = 0
    subscriber_id: str = ""
    subscriber_note: str = ""
    group_name: str = ""
    group_num: str = ""
    plan_note: str = ""
    plan_type: str = ""
    carrier_name: str = ""
    carrier_address: str = ""
    carrier_address2: str = ""
    carrier_city: str = ""
    carrier_state: str = ""
    carrier_zip: str = ""
    carrier_phone: str = ""
    employer: str = ""
    # The subscriber's patient row (FName, LName, MiddleI, Preferred, Birthdate), in the family or not.
    subscriber_row: Mapping[str, Any] | None = None
    ordinal: int = 0
    pat_plan_num: int = 0
    ins_sub_num: int = 0
    plan_num: int = 0
    is_medical: bool = False
    month_renew: int = 0
    # FeeScheds.GetDescription of insplan.FeeSched ("" when there is none).
    fee_schedule: str = ""


@dataclass(frozen=True, slots=True)
class FillData:
    """Everything besides the patient row that filling uses; empty is "no such data"."""

    preferences: Mapping[str, str] = field(default_factory=dict)
    provider: Provider | None = None
    clinic: Clinic | None = None
    note: Note = Note()
    family: tuple[Mapping[str, Any], ...] = ()
    allergies: tuple[Condition, ...] = ()
    problems: tuple[Condition, ...] = ()
    medications: tuple[str, ...] = ()
    referred_from: Referral | None = None
    referred_to: tuple[Referral, ...] = ()
    coverage: tuple[Coverage, ...] = ()
    history: History = field(default_factory=History)
    benefits: tuple[Benefit, ...] = ()
    claims: tuple[ClaimHistory, ...] = ()
    spans: tuple[CodeSpan, ...] = ()
    # The fields `[ExamSheet:…;…]` references may name.
    exam_fields: tuple[ExamField, ...] = ()


class FillReader:
    """The fill reads of one database's schema, built once; `read` runs those a sheet
    needs over a create's session (its transaction, its snapshot)."""

    __slots__ = ("_benefits", "_exams", "_history", "_reads", "_schema")

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._history = HistoryReader(schema)
        self._benefits = BenefitReader(schema)
        self._exams = ExamReader()
        self._reads: dict[str, Read] = {}
        has = schema.has
        if has(t.PREFERENCE):
            self._reads[PREFERENCES] = self._preferences_read()
        if has(t.PROVIDER):
            self._reads[PROVIDER], self._reads["first_provider"] = self._provider_reads()
        if has(t.CLINIC):
            self._reads[CLINIC] = self._clinic_read()
        if has(t.PATIENTNOTE):
            self._reads[NOTE] = self._note_read()
        self._reads[FAMILY] = self._family_read()
        if has(t.ALLERGY) and has(t.ALLERGYDEF):
            self._reads[ALLERGIES] = self._allergies_read()
        if has(t.DISEASE) and has(t.DISEASEDEF):
            self._reads[PROBLEMS] = self._problems_read()
        if has(t.MEDICATIONPAT):
            self._reads[MEDICATIONS] = self._medications_read()
        if has(t.REFATTACH) and has(t.REFERRAL):
            self._reads[REFERRALS] = self._referrals_read()
        if all(has(x) for x in (t.PATPLAN, t.INSSUB, t.INSPLAN)):
            self._reads[INSURANCE] = self._coverage_read()

    def _cols(self, table: sa.Table, *names: str) -> list[Any]:
        return columns(self._schema, table, *names)

    async def _all(self, session: Session, part: str, **params: Any) -> list[dict[str, Any]]:
        return await self._reads[part].all(session, **params)

    async def read(
        self,
        session: Session,
        patient: Mapping[str, Any],
        needs: Collection[str],
        today: date,
        exam_references: Sequence[tuple[str, str]] = (),
    ) -> FillData:
        """The data the `needs` name, for one patient (a row with PatNum, Guarantor, PriProv, ClinicNum,
        SiteNum, SuperFamily), and the fields the `[ExamSheet:Description;Field]` references name."""
        needs = frozenset(needs)
        reads = self._reads
        data = FillData()
        pat_num, guarantor = patient["PatNum"], patient["Guarantor"] or patient["PatNum"]
        if (PREFERENCES in needs or PROVIDER in needs or CLINIC in needs) and PREFERENCES in reads:
            data = replace(data, preferences=await self._preferences(session))
        if PROVIDER in needs and PROVIDER in reads:
            data = replace(data, provider=await self._provider(session, patient["PriProv"], data.preferences))
        if CLINIC in needs and patient["ClinicNum"] and CLINIC in reads:
            data = replace(data, clinic=await self._clinic(session, patient["ClinicNum"]))
        if NOTE in needs and NOTE in reads:
            data = replace(data, note=await self._note(session, pat_num, guarantor))
        if FAMILY in needs:
            data = replace(data, family=await self._family(session, guarantor))
        if ALLERGIES in needs and ALLERGIES in reads:
            data = replace(data, allergies=await self._allergies(session, pat_num))
        if PROBLEMS in needs and PROBLEMS in reads:
            data = replace(data, problems=await self._problems(session, pat_num))
        if MEDICATIONS in needs and MEDICATIONS in reads:
            data = replace(data, medications=await self._medications(session, pat_num, today))
        if REFERRALS in needs and REFERRALS in reads:
            data = await self._referrals(session, data, pat_num)
        if INSURANCE in needs and INSURANCE in reads:
            data = replace(data, coverage=await self._coverage(session, pat_num))
        if BENEFITS in needs and (benefits := await self._benefits.benefits(session, pat_num)) is not None:
            data = replace(data, benefits=benefits)
        if CLAIMS in needs and (claims := await self._benefits.claims(session, pat_num, today)) is not None:
            data = replace(data, claims=claims)
        if SPANS in needs and (spans := await self._benefits.spans(session)) is not None:
            data = replace(data, spans=spans)
        if needs - _OWN:
            data = replace(data, history=await self._history.read(session, patient, needs))
        if exam_references:
            data = replace(data, exam_fields=await self._exams.read(session, pat_num, exam_references))
        return data

    def _preferences_read(self) -> Read:
        pref = t.PREFERENCE.c
        wanted = pref.PrefName.in_(PRACTICE_PREFERENCES)
        return Read(sa.select(pref.PrefName, pref.ValueString).where(wanted))

    async def _preferences(self, session: Session) -> dict[str, str]:
        return {r["PrefName"]: r["ValueString"] or "" for r in await self._all(session, PREFERENCES)}

    def _provider_reads(self) -> tuple[Read, Read]:
        prov = t.PROVIDER.c
        columns = self._cols(t.PROVIDER, "ProvNum", "FName", "LName", "Suffix", "MI")
        wanted = sa.select(*columns).where(prov.ProvNum == sa.bindparam("wanted"))
        order = self._cols(t.PROVIDER, "ItemOrder")
        first = (
            sa.select(*columns)
            .where(*(c == 0 for c in self._cols(t.PROVIDER, "IsHidden")))
            .order_by(*order, prov.ProvNum)
            .limit(1)
        )
        return Read(wanted), Read(first)

    async def _provider(
        self, session: Session, pri_prov: int, preferences: Mapping[str, str]
    ) -> Provider | None:
        # patient.PriProv, else the practice's default provider, else the first visible one.
        default = preferences.get("PracticeDefaultProv", "").strip()
        wanted = pri_prov or (int(default) if default.isdigit() else 0)
        if wanted:
            rows = await self._all(session, PROVIDER, wanted=wanted)
        else:
            rows = await self._all(session, "first_provider")
        if not rows:
            return None
        row = rows[0]
        return Provider(row["FName"], row["LName"], row["Suffix"], row["MI"] or "")

    _CLINIC_NAMES = ("Description", "Address", "Address2", "City", "State", "Zip", "Phone")

    def _clinic_read(self) -> Read:
        return Read(
            sa.select(*self._cols(t.CLINIC, *self._CLINIC_NAMES)).where(
                t.CLINIC.c.ClinicNum == sa.bindparam("clinic_num")
            )
        )

    async def _clinic(self, session: Session, clinic_num: int) -> Clinic | None:
        rows = await self._all(session, CLINIC, clinic_num=clinic_num)
        return Clinic(*(rows[0][n] or "" for n in self._CLINIC_NAMES)) if rows else None

    def _note_read(self) -> Read:
        names = ("PatNum", "ICEName", "ICEPhone", "Medical", "Service", "Treatment", "FamFinancial")
        note = t.PATIENTNOTE.c
        wanted: list[sa.BindParameter[int]] = [sa.bindparam("pat_num"), sa.bindparam("guarantor")]
        return Read(sa.select(*self._cols(t.PATIENTNOTE, *names)).where(note.PatNum.in_(wanted)))

    async def _note(self, session: Session, pat_num: int, guarantor: int) -> Note:
        rows = await self._all(session, NOTE, pat_num=pat_num, guarantor=guarantor)
        by_patient = {r["PatNum"]: r for r in rows}
        own, family = by_patient.get(pat_num), by_patient.get(guarantor)
        mine = own or {}
        return Note(
            ice_name=mine.get("ICEName") or "",
            ice_phone=mine.get("ICEPhone") or "",
            medical=mine.get("Medical") or "",
            service=mine.get("Service") or "",
            treatment=mine.get("Treatment") or "",
            family_financial=(family["FamFinancial"] or "") if family else "",
        )

    def _family_read(self) -> Read:
        patient = models.PATIENT.c
        guarantor: sa.BindParameter[int] = sa.bindparam("guarantor")
        return Read(
            sa.select(*(patient[c] for c in FAMILY_COLUMNS))
            .where(sa.or_(patient.Guarantor == guarantor, patient.PatNum == guarantor))
            .order_by(patient.PatNum)
        )

    async def _family(self, session: Session, guarantor: int) -> tuple[Mapping[str, Any], ...]:
        rows = await self._all(session, FAMILY, guarantor=guarantor)
        # Patients.GetFamily: the guarantor first, then by Birthdate (ties by PatNum here).
        rows.sort(key=lambda r: (r["PatNum"] != guarantor, r["Birthdate"], r["PatNum"]))
        return tuple(rows)

    def _allergies_read(self) -> Read:
        allergy, definition = t.ALLERGY.c, t.ALLERGYDEF.c
        return Read(
            sa.select(definition.Description, *self._cols(t.ALLERGY, "StatusIsActive"))
            .select_from(t.ALLERGY.join(t.ALLERGYDEF, definition.AllergyDefNum == allergy.AllergyDefNum))
            .where(allergy.PatNum == sa.bindparam("pat_num"))
            .order_by(allergy.AllergyNum)
        )

    async def _allergies(self, session: Session, pat_num: int) -> tuple[Condition, ...]:
        rows = await self._all(session, ALLERGIES, pat_num=pat_num)
        return tuple(Condition(r["Description"], bool(r["StatusIsActive"])) for r in rows)

    def _problems_read(self) -> Read:
        disease, definition = t.DISEASE.c, t.DISEASEDEF.c
        return Read(
            sa.select(definition.DiseaseName, *self._cols(t.DISEASE, "ProbStatus"))
            .select_from(t.DISEASE.join(t.DISEASEDEF, definition.DiseaseDefNum == disease.DiseaseDefNum))
            .where(disease.PatNum == sa.bindparam("pat_num"))
            .order_by(disease.DiseaseNum)
        )

    async def _problems(self, session: Session, pat_num: int) -> tuple[Condition, ...]:
        # ProblemStatus.Active is 0.
        rows = await self._all(session, PROBLEMS, pat_num=pat_num)
        return tuple(Condition(r["DiseaseName"], r["ProbStatus"] == 0) for r in rows)

    def _medications_read(self) -> Read:
        med_pat = t.MEDICATIONPAT.c
        columns = [med_pat.MedicationNum, *self._cols(t.MEDICATIONPAT, "MedDescript")]
        source: sa.FromClause = t.MEDICATIONPAT
        if self._schema.has(t.MEDICATION):
            medication, generic = t.MEDICATION.alias("m"), t.MEDICATION.alias("g")
            source = source.outerjoin(
                medication, medication.c.MedicationNum == med_pat.MedicationNum
            ).outerjoin(generic, generic.c.MedicationNum == medication.c.GenericNum)
            columns += [
                medication.c.MedicationNum.label("Found"),
                medication.c.MedName.label("MedName"),
                medication.c.GenericNum.label("GenericNum"),
                generic.c.MedName.label("GenericName"),
            ]
        today: sa.BindParameter[date] = sa.bindparam("today", type_=med_pat.DateStop.type)
        return Read(
            sa.select(*columns)
            .select_from(source)
            .where(
                med_pat.PatNum == sa.bindparam("pat_num"),
                # Current: no stop date (before 1880) or stopping today or later.
                sa.or_(med_pat.DateStop < FIRST_REAL_DATE, med_pat.DateStop >= today),
            )
            .order_by(med_pat.MedicationPatNum)
        )

    async def _medications(self, session: Session, pat_num: int, today: date) -> tuple[str, ...]:
        names = []
        for r in await self._all(session, MEDICATIONS, pat_num=pat_num, today=today):
            if r["MedicationNum"] == 0 or not r.get("Found"):
                names.append(r["MedDescript"] or "")
                continue
            name = r["MedName"] or ""
            if r["GenericNum"] != r["MedicationNum"] and r["GenericName"] is not None:
                name += f" ({r['GenericName']})"
            names.append(name)
        return tuple(names)

    def _referrals_read(self) -> Read:
        attach, referral = t.REFATTACH.c, t.REFERRAL.c
        return Read(
            sa.select(
                attach.RefType,
                *self._cols(t.REFATTACH, "RefDate"),
                *self._cols(t.REFERRAL, "FName", "MName", "LName", "Title", "IsDoctor"),
            )
            .select_from(t.REFATTACH.join(t.REFERRAL, referral.ReferralNum == attach.ReferralNum))
            .where(attach.PatNum == sa.bindparam("pat_num"))
            .order_by(*self._cols(t.REFATTACH, "ItemOrder"), attach.RefAttachNum)
        )

    async def _referrals(self, session: Session, data: FillData, pat_num: int) -> FillData:
        rows = await self._all(session, REFERRALS, pat_num=pat_num)

        def referral_of(r: Mapping[str, Any]) -> Referral:
            return Referral(
                r["FName"],
                r["MName"],
                r["LName"],
                r["Title"],
                bool(r["IsDoctor"]),
                r["RefDate"] or models.NO_DATE,
            )

        from_ = next((referral_of(r) for r in rows if r["RefType"] == _REF_FROM), None)
        to = tuple(referral_of(r) for r in rows if r["RefType"] == _REF_TO)
        return replace(data, referred_from=from_, referred_to=to)

    def _coverage_read(self) -> Read:
        patplan, inssub, insplan = t.PATPLAN.c, t.INSSUB.c, t.INSPLAN.c
        source: sa.FromClause = t.PATPLAN.join(t.INSSUB, inssub.InsSubNum == patplan.InsSubNum).join(
            t.INSPLAN, insplan.PlanNum == inssub.PlanNum
        )
        columns: list[Any] = [
            patplan.PatPlanNum,
            patplan.InsSubNum,
            insplan.PlanNum,
            *self._cols(t.PATPLAN, "Relationship", "Ordinal"),
            *self._cols(t.INSSUB, "Subscriber", "SubscriberID", "SubscNote"),
            *self._cols(t.INSPLAN, "GroupName", "GroupNum", "PlanNote", "PlanType"),
            *self._cols(t.INSPLAN, "IsMedical", "MonthRenew"),
        ]
        if self._schema.has(t.FEESCHED):
            fee = t.FEESCHED
            source = source.outerjoin(fee, fee.c.FeeSchedNum == insplan.FeeSched)
            columns += [fee.c.Description.label("FeeSchedDescription")]
            columns += [fee.c.IsHidden.label("FeeSchedHidden")]
        if self._schema.has(t.CARRIER):
            source = source.outerjoin(t.CARRIER, t.CARRIER.c.CarrierNum == insplan.CarrierNum)
            columns += [
                t.CARRIER.c.CarrierName,
                *self._cols(t.CARRIER, "Address", "Address2", "City", "State", "Zip", "Phone"),
            ]
        if self._schema.has(t.EMPLOYER):
            source = source.outerjoin(t.EMPLOYER, t.EMPLOYER.c.EmployerNum == insplan.EmployerNum)
            columns.append(t.EMPLOYER.c.EmpName)
        subscriber = models.PATIENT.alias("subscriber")
        source = source.outerjoin(subscriber, subscriber.c.PatNum == inssub.Subscriber)
        columns += [subscriber.c[n].label("Subscriber" + n) for n in _SUBSCRIBER_COLUMNS]
        return Read(
            sa.select(*columns)
            .select_from(source)
            .where(patplan.PatNum == sa.bindparam("pat_num"))
            .order_by(patplan.Ordinal, patplan.PatPlanNum)
        )

    async def _coverage(self, session: Session, pat_num: int) -> tuple[Coverage, ...]:
        rows = await self._all(session, INSURANCE, pat_num=pat_num)
        return tuple(
            Coverage(
                relationship=r["Relationship"],
                subscriber=r["Subscriber"],
                subscriber_id=r["SubscriberID"] or "",
                subscriber_note=r["SubscNote"] or "",
                group_name=r["GroupName"] or "",
                group_num=r["GroupNum"] or "",
                plan_note=r["PlanNote"] or "",
                # CHAR(1) comes back space-padded from PostgreSQL.
                plan_type=(r["PlanType"] or "").strip(),
                carrier_name=r.get("CarrierName") or "",
                carrier_address=r.get("Address") or "",
                carrier_address2=r.get("Address2") or "",
                carrier_city=r.get("City") or "",
                carrier_state=r.get("State") or "",
                carrier_zip=r.get("Zip") or "",
                carrier_phone=r.get("Phone") or "",
                employer=r.get("EmpName") or "",
                subscriber_row=(
                    {n: r["Subscriber" + n] for n in _SUBSCRIBER_COLUMNS}
                    if r["SubscriberPatNum"] is not None
                    else None
                ),
                ordinal=r["Ordinal"],
                pat_plan_num=r["PatPlanNum"],
                ins_sub_num=r["InsSubNum"],
                plan_num=r["PlanNum"],
                is_medical=bool(r["IsMedical"]),
                month_renew=r["MonthRenew"],
                fee_schedule=_fee_schedule(r),
            )
            for r in rows
        )


def _fee_schedule(r: Mapping[str, Any]) -> str:
    description = r.get("FeeSchedDescription")
    if description is None:
        return ""
    return str(description) + (" (hidden)" if r["FeeSchedHidden"] else "")

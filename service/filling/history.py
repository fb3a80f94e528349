"""Reading a patient's history out of Open Dental's tables: appointments, procedures
and their code groups, definitions, the last saved treatment plan, the family's
recalls, the site, the family's popups and the patient's races.

Each group is one query, run only when a sheet's tokens need it, on the create's
session; a table the database lacks reads as empty. The rows come back as plain
data (`History`); what Open Dental prints from them is `service.filling.tokens_history`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from service.filling.query import Read, columns
from service.storage import Schema, Session, models
from service.storage import fill_tables as t

APPOINTMENTS, PROCEDURES, CODE_GROUPS, DEFINITIONS = "appointment", "procedurelog", "codegroup", "definition"
TREAT_PLAN, RECALLS, SITE, POPUPS, RACES = "treatplan", "recall", "site", "popup", "patientrace"

_RESPONSIBLE_COLUMNS = (
    *("PatNum", "FName", "LName", "MiddleI", "Preferred", "Address", "Address2", "City", "State", "Zip"),
)
# Open Dental's ProcStat.D: deleted procedures are never read.
_DELETED = 6
# CodeGroupFixed of the groups the tokens use (BW 1, PanoFMX 2, Exam 3, Perio 4, Prophy 5, SRP 6).
_FIXED_GROUPS = (1, 2, 3, 4, 5, 6)
# DefCat.BillingTypes and DefCat.TxPriorities.
BILLING_TYPES, TX_PRIORITIES = 4, 20
# TreatPlanStatus.Saved.
_SAVED = 0


@dataclass(frozen=True, slots=True)
class Appointment:
    apt_num: int
    pat_num: int
    status: int
    when: datetime
    pattern: str
    proc_descript: str
    next_apt_num: int
    item_order_planned: int
    # Provider.GetFormalName of appointment.ProvNum; None when there is no such provider.
    provider: str | None


@dataclass(frozen=True, slots=True)
class Procedure:
    proc_num: int
    apt_num: int
    date: date
    fee: float
    surf: str
    tooth: str
    priority: int
    status: int
    code: str
    descript: str
    abbr: str
    treat_area: int
    layman: str


@dataclass(frozen=True, slots=True)
class CodeGroup:
    num: int
    codes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    hidden: bool
    order: int


@dataclass(frozen=True, slots=True)
class TreatPlan:
    date: date
    # The responsible party's patient row, None when ResponsParty names no patient.
    responsible: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Recall:
    pat_num: int
    due: date
    interval: int
    disabled: bool
    type_num: int
    until_balance: float
    until_date: date
    scheduled: date
    type_description: str
    type_procedures: str


@dataclass(frozen=True, slots=True)
class Popup:
    description: str
    disabled_at: datetime


@dataclass(frozen=True, slots=True)
class History:
    """The patient's history rows; empty is "no such data"."""

    appointments: tuple[Appointment, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    code_groups: Mapping[int, CodeGroup] = field(default_factory=dict)
    # Every code group's ItemOrder, by CodeGroupNum (benefits sort by it).
    code_group_orders: Mapping[int, int] = field(default_factory=dict)
    definitions: Mapping[tuple[int, int], Definition] = field(default_factory=dict)
    treat_plan: TreatPlan | None = None
    recalls: tuple[Recall, ...] = ()
    site: str = ""
    popups: tuple[Popup, ...] = ()
    races: tuple[str, ...] = ()


def formal_name(first: str, middle: str, last: str, suffix: str) -> str:
    """Provider.GetFormalName: "First M. Last, Suffix" (the period only after a one-letter MI)."""
    name = f"{first} {middle}"
    if len(middle) == 1:
        name += "."
    if middle:
        name += " "
    name += last
    return f"{name}, {suffix}" if suffix else name


class HistoryReader:
    """The history reads of one database's schema, built once."""

    __slots__ = ("_reads", "_schema")

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._reads: dict[str, Read] = {}
        has = schema.has
        if has(t.APPOINTMENT):
            self._reads[APPOINTMENTS] = self._appointments_read()
        if has(t.PROCEDURELOG):
            self._reads[PROCEDURES] = self._procedures_read()
        if has(t.CODEGROUP):
            self._reads[CODE_GROUPS] = Read(
                sa.select(t.CODEGROUP.c.CodeGroupNum, *self._cols(t.CODEGROUP, "ProcCodes", "CodeGroupFixed"))
                .add_columns(*self._cols(t.CODEGROUP, "IsHidden", "ShowInAgeLimit", "ItemOrder"))
                .order_by(*self._cols(t.CODEGROUP, "ItemOrder"), t.CODEGROUP.c.CodeGroupNum)
            )
        if has(t.DEFINITION):
            d = t.DEFINITION.c
            self._reads[DEFINITIONS] = Read(
                sa.select(
                    d.DefNum, d.Category, *self._cols(t.DEFINITION, "ItemName", "IsHidden", "ItemOrder")
                )
                .where(d.Category.in_((BILLING_TYPES, TX_PRIORITIES)))
                .order_by(*self._cols(t.DEFINITION, "ItemOrder"), d.DefNum)
            )
        if has(t.TREATPLAN):
            self._reads[TREAT_PLAN] = self._treat_plan_read()
        if has(t.RECALL):
            self._reads[RECALLS] = self._recalls_read()
        if has(t.SITE):
            self._reads[SITE] = Read(
                sa.select(*self._cols(t.SITE, "Description")).where(
                    t.SITE.c.SiteNum == sa.bindparam("site_num")
                )
            )
        if has(t.POPUP):
            self._reads[POPUPS] = self._popups_read()
        if has(t.PATIENTRACE):
            self._reads[RACES] = self._races_read()

    def _cols(self, table: sa.Table, *names: str) -> list[Any]:
        return columns(self._schema, table, *names)

    def _family(self) -> sa.Select[Any]:
        patient = models.PATIENT.c
        guarantor: sa.BindParameter[int] = sa.bindparam("guarantor")
        return sa.select(patient.PatNum).where(
            sa.or_(patient.Guarantor == guarantor, patient.PatNum == guarantor)
        )

    def _appointments_read(self) -> Read:
        apt = t.APPOINTMENT.c
        names = ("PatNum", "AptStatus", "Pattern", "ProvNum", "AptDateTime", "NextAptNum", "ProcDescript")
        cols: list[Any] = [apt.AptNum, *self._cols(t.APPOINTMENT, *names, "ItemOrderPlanned")]
        source: sa.FromClause = t.APPOINTMENT
        if self._schema.has(t.PROVIDER):
            prov = t.PROVIDER
            source = source.outerjoin(prov, prov.c.ProvNum == apt.ProvNum)
            cols += [prov.c.ProvNum.label("FoundProv")]
            cols += [c.label("Prov" + c.name) for c in self._cols(prov, "FName", "MI", "LName", "Suffix")]
        return Read(
            sa.select(*cols)
            .select_from(source)
            .where(apt.PatNum.in_(self._family()))
            .order_by(apt.AptDateTime, apt.AptNum)
        )

    def _procedures_read(self) -> Read:
        proc = t.PROCEDURELOG.c
        names = ("AptNum", "ProcDate", "ProcFee", "Surf", "ToothNum", "Priority", "ProcStatus", "CodeNum")
        cols: list[Any] = [proc.ProcNum, *self._cols(t.PROCEDURELOG, *names)]
        source: sa.FromClause = t.PROCEDURELOG
        if self._schema.has(t.PROCEDURECODE):
            code = t.PROCEDURECODE
            source = source.outerjoin(code, code.c.CodeNum == proc.CodeNum)
            cols += self._cols(code, "ProcCode", "Descript", "AbbrDesc", "TreatArea", "LaymanTerm")
        return Read(
            sa.select(*cols)
            .select_from(source)
            .where(proc.PatNum == sa.bindparam("pat_num"), proc.ProcStatus != _DELETED)
            .order_by(proc.ProcDate, proc.ProcNum)
        )

    def _treat_plan_read(self) -> Read:
        plan = t.TREATPLAN.c
        responsible = models.PATIENT.alias("responsible")
        return Read(
            sa.select(
                *self._cols(t.TREATPLAN, "DateTP"),
                *(responsible.c[n].label("Resp" + n) for n in _RESPONSIBLE_COLUMNS),
            )
            .select_from(t.TREATPLAN.outerjoin(responsible, responsible.c.PatNum == plan.ResponsParty))
            .where(
                plan.PatNum == sa.bindparam("pat_num"),
                *(c == _SAVED for c in self._cols(t.TREATPLAN, "TPStatus")),
            )
            # TreatPlans.Refresh orders by DateTP and the last one is used (ties: the last written).
            .order_by(sa.desc(plan.DateTP), sa.desc(plan.TreatPlanNum))
            .limit(1)
        )

    def _recalls_read(self) -> Read:
        recall = t.RECALL.c
        names = ("PatNum", "DateDue", "RecallInterval", "IsDisabled", "RecallTypeNum", "DisableUntilBalance")
        cols: list[Any] = [*self._cols(t.RECALL, *names, "DisableUntilDate", "DateScheduled")]
        source: sa.FromClause = t.RECALL
        if self._schema.has(t.RECALLTYPE):
            kind = t.RECALLTYPE
            source = source.outerjoin(kind, kind.c.RecallTypeNum == recall.RecallTypeNum)
            cols += [c.label("Type" + c.name) for c in self._cols(kind, "Description", "Procedures")]
        # Recalls.GetList has no ORDER BY: the first of a patient's is the table's first, by key here.
        return Read(
            sa.select(*cols)
            .select_from(source)
            .where(recall.PatNum.in_(self._family()))
            .order_by(recall.RecallNum)
        )

    def _popups_read(self) -> Read:
        popup, patient = t.POPUP.c, models.PATIENT.c
        super_family: sa.BindParameter[int] = sa.bindparam("super_family")
        guarantor: sa.BindParameter[int] = sa.bindparam("guarantor")
        # Popups.GetForFamily: the family's, and the super family's when the patient is in one.
        members = sa.select(patient.PatNum).where(
            sa.or_(
                patient.Guarantor == guarantor,
                patient.PatNum == guarantor,
                sa.and_(super_family != 0, patient.SuperFamily == super_family),
            )
        )
        return Read(
            sa.select(*self._cols(t.POPUP, "Description", "DateTimeDisabled"))
            .where(popup.PatNum.in_(members), *(c == 0 for c in self._cols(t.POPUP, "IsArchived")))
            .order_by(sa.desc(popup.PopupLevel), popup.PatNum, popup.PopupNum)
        )

    def _races_read(self) -> Read:
        race = t.PATIENTRACE.c
        if self._schema.has(t.CDCREC):
            code = t.CDCREC.c
            return Read(
                sa.select(race.CdcrecCode, code.HeirarchicalCode)
                .select_from(t.PATIENTRACE.outerjoin(t.CDCREC, code.CdcrecCode == race.CdcrecCode))
                .where(race.PatNum == sa.bindparam("pat_num"))
                .order_by(race.PatientRaceNum)
            )
        return Read(
            sa.select(race.CdcrecCode, sa.literal("").label("HeirarchicalCode"))
            .where(race.PatNum == sa.bindparam("pat_num"))
            .order_by(race.PatientRaceNum)
        )

    async def read(self, session: Session, patient: Mapping[str, Any], needs: Collection[str]) -> History:
        """The history the `needs` name, for one patient row (PatNum, Guarantor, SiteNum, SuperFamily)."""
        reads = self._reads
        history = History()
        pat_num, guarantor = patient["PatNum"], patient["Guarantor"] or patient["PatNum"]
        if APPOINTMENTS in needs and APPOINTMENTS in reads:
            rows = await reads[APPOINTMENTS].all(session, guarantor=guarantor)
            history = replace(history, appointments=tuple(_appointment(r) for r in rows))
        if PROCEDURES in needs and PROCEDURES in reads:
            rows = await reads[PROCEDURES].all(session, pat_num=pat_num)
            history = replace(history, procedures=tuple(_procedure(r) for r in rows))
        if CODE_GROUPS in needs and CODE_GROUPS in reads:
            rows = await reads[CODE_GROUPS].all(session)
            orders = {r["CodeGroupNum"]: r["ItemOrder"] for r in rows}
            history = replace(history, code_groups=_code_groups(rows), code_group_orders=orders)
        if DEFINITIONS in needs and DEFINITIONS in reads:
            rows = await reads[DEFINITIONS].all(session)
            definitions = {
                (r["Category"], r["DefNum"]): Definition(
                    r["ItemName"] or "", bool(r["IsHidden"]), r["ItemOrder"]
                )
                for r in rows
            }
            history = replace(history, definitions=definitions)
        if TREAT_PLAN in needs and TREAT_PLAN in reads:
            rows = await reads[TREAT_PLAN].all(session, pat_num=pat_num)
            if rows:
                r = rows[0]
                responsible = (
                    {n: r["Resp" + n] for n in _RESPONSIBLE_COLUMNS} if r["RespPatNum"] is not None else None
                )
                history = replace(history, treat_plan=TreatPlan(r["DateTP"], responsible))
        if RECALLS in needs and RECALLS in reads:
            rows = await reads[RECALLS].all(session, guarantor=guarantor)
            history = replace(history, recalls=tuple(_recall(r) for r in rows))
        if SITE in needs and SITE in reads and patient["SiteNum"]:
            rows = await reads[SITE].all(session, site_num=patient["SiteNum"])
            history = replace(history, site=(rows[0]["Description"] or "") if rows else "")
        if POPUPS in needs and POPUPS in reads:
            rows = await reads[POPUPS].all(session, guarantor=guarantor, super_family=patient["SuperFamily"])
            popups = tuple(Popup(r["Description"] or "", r["DateTimeDisabled"]) for r in rows)
            history = replace(history, popups=popups)
        if RACES in needs and RACES in reads:
            rows = await reads[RACES].all(session, pat_num=pat_num)
            history = replace(history, races=tuple(_hierarchical(r) for r in rows))
        return history


def _appointment(r: Mapping[str, Any]) -> Appointment:
    provider = None
    if r.get("FoundProv") is not None:
        provider = formal_name(
            r["ProvFName"] or "", r["ProvMI"] or "", r["ProvLName"] or "", r["ProvSuffix"] or ""
        )
    return Appointment(
        apt_num=r["AptNum"],
        pat_num=r["PatNum"],
        status=r["AptStatus"],
        when=r["AptDateTime"],
        pattern=r["Pattern"] or "",
        proc_descript=r["ProcDescript"] or "",
        next_apt_num=r["NextAptNum"],
        item_order_planned=r["ItemOrderPlanned"],
        provider=provider,
    )


def _procedure(r: Mapping[str, Any]) -> Procedure:
    return Procedure(
        proc_num=r["ProcNum"],
        apt_num=r["AptNum"],
        date=r["ProcDate"],
        fee=float(r["ProcFee"] or 0.0),
        surf=r["Surf"] or "",
        tooth=r["ToothNum"] or "",
        priority=r["Priority"],
        status=r["ProcStatus"],
        # ProcedureCodes.GetProcCode of a missing code is a blank code.
        code=r.get("ProcCode") or "",
        descript=r.get("Descript") or "",
        abbr=r.get("AbbrDesc") or "",
        treat_area=r.get("TreatArea") or 0,
        layman=r.get("LaymanTerm") or "",
    )


def _code_groups(rows: list[dict[str, Any]]) -> dict[int, CodeGroup]:
    # CodeGroups.GetOneForCodeGroupFixed: the first visible group (not hidden, or shown in age
    # limits) in ItemOrder; its ProcCodes split on commas and trimmed, matched exactly.
    groups: dict[int, CodeGroup] = {}
    for r in rows:
        fixed = r["CodeGroupFixed"]
        if fixed not in _FIXED_GROUPS or fixed in groups or (r["IsHidden"] and not r["ShowInAgeLimit"]):
            continue
        codes = frozenset(c.strip() for c in (r["ProcCodes"] or "").split(",") if c.strip())
        groups[fixed] = CodeGroup(r["CodeGroupNum"], codes)
    return groups


def _recall(r: Mapping[str, Any]) -> Recall:
    return Recall(
        pat_num=r["PatNum"],
        due=r["DateDue"],
        interval=r["RecallInterval"],
        disabled=bool(r["IsDisabled"]),
        type_num=r["RecallTypeNum"],
        until_balance=float(r["DisableUntilBalance"] or 0.0),
        until_date=r["DisableUntilDate"],
        scheduled=r["DateScheduled"],
        type_description=r.get("TypeDescription") or "",
        type_procedures=r.get("TypeProcedures") or "",
    )


# CDC codes Open Dental stores without a hierarchy (asked, declined; more than one race).
_NO_HIERARCHY = {"ASKU-RACE", "ASKU-ETHNICITY", "MULTI-RACE"}


def _hierarchical(r: Mapping[str, Any]) -> str:
    if r["CdcrecCode"] in _NO_HIERARCHY:
        return ""
    return str(r["HeirarchicalCode"] or "")

"""Reading a patient's insurance benefits and claim history out of Open Dental's tables.

`benefit` rows of the patient's plans and plan overrides (Benefits.Refresh),
with their coverage category and code, the categories' code spans
(`covspan`), and the `claimproc` rows the benefit
tokens add up (ClaimProcs.GetHistList, narrowed to what the display helpers
keep: the patient's own rows on the patient's subscriptions, of the statuses
that count, from the start of last year on). One query each, only when a
token needs it; a table the database lacks reads as empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from service.filling.query import Read, columns
from service.storage import Schema, Session
from service.storage import fill_tables as t

BENEFITS, CLAIMS, SPANS = "benefit", "claimproc", "covspan"
# ClaimProcStatus in the history: NotReceived 0, Received 1, Adjustment 3, Supplemental 4, InsHist 9.
_HISTORY_STATUSES = (0, 1, 3, 4, 9)


@dataclass(frozen=True, slots=True)
class Benefit:
    num: int
    plan_num: int
    pat_plan_num: int
    cov_cat_num: int
    benefit_type: int
    percent: int
    amount: float
    time_period: int
    quantity_qualifier: int
    quantity: int
    code_num: int
    coverage_level: int
    code_group_num: int
    # The covcat's description (any), its EbenefitCat (0 None when hidden or missing) and its
    # place among all covcats by CovOrder (-1 when missing); the code's ProcCode.
    category: str
    ebenefit_category: int
    category_index: int
    code: str


@dataclass(frozen=True, slots=True)
class ClaimHistory:
    """A claimproc as ClaimProcs.GetHistList keeps it (amount: InsPayEst if not received, else InsPayAmt)."""

    pat_num: int
    ins_sub_num: int
    status: int
    date: date
    amount: float
    deduct: float
    code_num: int
    code: str


@dataclass(frozen=True, slots=True)
class CodeSpan:
    """A coverage category's range of procedure codes (covspan)."""

    cov_cat_num: int
    first: str
    last: str


class BenefitReader:
    """The benefit and claim reads of one database's schema, built once."""

    __slots__ = ("_reads", "_schema")

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self._reads: dict[str, Read] = {}
        has = schema.has
        if all(has(x) for x in (t.BENEFIT, t.PATPLAN, t.INSSUB)):
            self._reads[BENEFITS] = self._benefits_read()
        if all(has(x) for x in (t.CLAIMPROC, t.PATPLAN)):
            self._reads[CLAIMS] = self._claims_read()
        if has(t.COVSPAN):
            span = t.COVSPAN.c
            self._reads[SPANS] = Read(
                sa.select(span.CovCatNum, *self._cols(t.COVSPAN, "FromCode", "ToCode")).order_by(
                    span.CovSpanNum
                )
            )

    def _cols(self, table: sa.Table, *names: str) -> list[Any]:
        return columns(self._schema, table, *names)

    def _benefits_read(self) -> Read:
        benefit, patplan, inssub = t.BENEFIT.c, t.PATPLAN.c, t.INSSUB.c
        pat_num: sa.BindParameter[int] = sa.bindparam("pat_num")
        names = ("PlanNum", "PatPlanNum", "CovCatNum", "BenefitType", "Percent", "MonetaryAmt", "TimePeriod")
        cols: list[Any] = [benefit.BenefitNum, *self._cols(t.BENEFIT, *names)]
        cols += self._cols(
            t.BENEFIT, "QuantityQualifier", "Quantity", "CodeNum", "CoverageLevel", "CodeGroupNum"
        )
        source: sa.FromClause = t.BENEFIT
        if self._schema.has(t.COVCAT):
            cat, other = t.COVCAT, t.COVCAT.alias("other")
            source = source.outerjoin(cat, cat.c.CovCatNum == benefit.CovCatNum)
            # CovCats.GetFindIndex: the place in the cache, ordered by CovOrder.
            before = (
                sa.select(sa.func.count())
                .where(
                    sa.or_(
                        other.c.CovOrder < cat.c.CovOrder,
                        sa.and_(other.c.CovOrder == cat.c.CovOrder, other.c.CovCatNum < cat.c.CovCatNum),
                    )
                )
                .scalar_subquery()
            )
            cols += [
                cat.c.CovCatNum.label("FoundCat"),
                cat.c.Description.label("CatDescription"),
                *(c.label("Cat" + c.name) for c in self._cols(cat, "IsHidden", "EbenefitCat")),
                before.label("CatIndex"),
            ]
        if self._schema.has(t.PROCEDURECODE):
            code = t.PROCEDURECODE
            source = source.outerjoin(code, code.c.CodeNum == benefit.CodeNum)
            cols.append(code.c.ProcCode)
        plans = (
            sa.select(inssub.PlanNum)
            .select_from(t.PATPLAN.join(t.INSSUB, inssub.InsSubNum == patplan.InsSubNum))
            .where(patplan.PatNum == pat_num)
        )
        pat_plans = sa.select(patplan.PatPlanNum).where(patplan.PatNum == pat_num)
        return Read(
            sa.select(*cols)
            .select_from(source)
            .where(sa.or_(benefit.PlanNum.in_(plans), benefit.PatPlanNum.in_(pat_plans)))
            .order_by(benefit.BenefitNum)
        )

    def _claims_read(self) -> Read:
        claim, patplan = t.CLAIMPROC.c, t.PATPLAN.c
        pat_num: sa.BindParameter[int] = sa.bindparam("pat_num")
        since: sa.BindParameter[date] = sa.bindparam("since", type_=claim.ProcDate.type)
        names = ("PatNum", "InsSubNum", "Status", "ProcDate", "InsPayEst", "InsPayAmt", "DedApplied")
        cols: list[Any] = self._cols(t.CLAIMPROC, *names)
        source: sa.FromClause = t.CLAIMPROC
        if self._schema.has(t.PROCEDURELOG):
            proc = t.PROCEDURELOG
            source = source.outerjoin(proc, proc.c.ProcNum == claim.ProcNum)
            cols.append(proc.c.CodeNum)
            if self._schema.has(t.PROCEDURECODE):
                code = t.PROCEDURECODE
                source = source.outerjoin(code, code.c.CodeNum == proc.c.CodeNum)
                cols.append(code.c.ProcCode)
        return Read(
            sa.select(*cols)
            .select_from(source)
            .where(
                claim.InsSubNum.in_(sa.select(patplan.InsSubNum).where(patplan.PatNum == pat_num)),
                claim.PatNum == pat_num,
                # Written into the SQL: an expanding IN would need every parameter when compiled.
                claim.Status.in_([sa.literal_column(str(s)) for s in _HISTORY_STATUSES]),
                claim.ProcDate >= since,
            )
            .order_by(claim.ClaimProcNum)
        )

    async def benefits(self, session: Session, pat_num: int) -> tuple[Benefit, ...] | None:
        """The benefits of the patient's plans and overrides; None where the database has none."""
        if BENEFITS not in self._reads:
            return None
        return tuple(_benefit(r) for r in await self._reads[BENEFITS].all(session, pat_num=pat_num))

    async def claims(self, session: Session, pat_num: int, today: date) -> tuple[ClaimHistory, ...] | None:
        """The claim history of the patient's benefit years around today; None where there is none."""
        if CLAIMS not in self._reads:
            return None
        # Every benefit year that contains today starts on or after January 1st of last year.
        rows = await self._reads[CLAIMS].all(session, pat_num=pat_num, since=date(today.year - 1, 1, 1))
        return tuple(
            ClaimHistory(
                pat_num=r["PatNum"],
                ins_sub_num=r["InsSubNum"],
                status=r["Status"],
                date=r["ProcDate"],
                amount=float((r["InsPayEst"] if r["Status"] == 0 else r["InsPayAmt"]) or 0.0),
                deduct=float(r["DedApplied"] or 0.0),
                code_num=r.get("CodeNum") or 0,
                code=r.get("ProcCode") or "",
            )
            for r in rows
        )

    async def spans(self, session: Session) -> tuple[CodeSpan, ...] | None:
        """Every coverage category's code spans; None where the database has none."""
        if SPANS not in self._reads:
            return None
        rows = await self._reads[SPANS].all(session)
        return tuple(CodeSpan(r["CovCatNum"], r["FromCode"] or "", r["ToCode"] or "") for r in rows)


def _benefit(r: Mapping[str, Any]) -> Benefit:
    found = r.get("FoundCat") is not None
    return Benefit(
        num=r["BenefitNum"],
        plan_num=r["PlanNum"],
        pat_plan_num=r["PatPlanNum"],
        cov_cat_num=r["CovCatNum"],
        benefit_type=r["BenefitType"],
        percent=r["Percent"],
        amount=float(r["MonetaryAmt"]),
        time_period=r["TimePeriod"],
        quantity_qualifier=r["QuantityQualifier"],
        quantity=r["Quantity"],
        code_num=r["CodeNum"],
        coverage_level=r["CoverageLevel"],
        code_group_num=r["CodeGroupNum"],
        category=(r["CatDescription"] or "") if found else "",
        # CovCats.GetEbenCat looks among the visible categories only: a hidden one is None.
        ebenefit_category=(r["CatEbenefitCat"] if found and not r["CatIsHidden"] else 0),
        category_index=int(r["CatIndex"]) if found else -1,
        code=r.get("ProcCode") or "",
    )

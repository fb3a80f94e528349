"""Insurance benefit tokens from Open Dental's benefit and claim tables, on SQLite, MariaDB and PostgreSQL.

One family's plans, benefits and claims, with the values Open Dental's display helpers give for them
worked out by hand; the create's clock is NOW (2026-11-29).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.filling.tokens_insurance import renew_date
from service.storage import fill_tables
from tests.filling.test_fill_history import _code, _insert, _patient, _text, od

t = fill_tables
__all__ = ["od"]

TOKENS = (
    *("AnnualMax", "Deductible", "DeductibleUsed", "Pending", "Used", "Remaining", "Percentages"),
    *("FreqBW", "FreqExams", "FreqPanoFMX"),
)


@pytest.mark.parametrize(
    ("today", "month", "expected"),
    [
        (date(2026, 11, 29), 0, date(2026, 1, 1)),
        (date(2026, 11, 29), 11, date(2026, 11, 1)),
        (date(2026, 11, 29), 7, date(2026, 7, 1)),
        (date(2026, 3, 5), 7, date(2025, 7, 1)),
    ],
)
def test_the_benefit_year_renews_on_the_first_of_the_plans_month(
    today: date, month: int, expected: date
) -> None:
    assert renew_date(today, month) == expected


async def _plan(engine: AsyncEngine, pat: int, ordinal: int, **plan: Any) -> tuple[int, int, int]:
    """An insplan, the patient's subscription and patplan: (PlanNum, InsSubNum, PatPlanNum)."""
    row = {"GroupName": "", "GroupNum": "", "PlanNote": "", "PlanType": "", "CarrierNum": 0, "EmployerNum": 0}
    row |= {"FeeSched": 0, "IsMedical": 0, "MonthRenew": 0} | plan
    plan_num = await _insert(engine, t.INSPLAN, **row)
    sub = await _insert(engine, t.INSSUB, PlanNum=plan_num, Subscriber=pat, SubscriberID="", SubscNote="")
    pat_plan = await _insert(engine, t.PATPLAN, PatNum=pat, Ordinal=ordinal, Relationship=0, InsSubNum=sub)
    return plan_num, sub, pat_plan


async def _benefit(engine: AsyncEngine, **values: Any) -> None:
    row = {
        "PlanNum": 0,
        "PatPlanNum": 0,
        "CovCatNum": 0,
        "BenefitType": 5,
        "Percent": -1,
        "MonetaryAmt": -1.0,
        "TimePeriod": 2,
        "QuantityQualifier": 0,
        "Quantity": 0,
        "CodeNum": 0,
        "CoverageLevel": 1,
        "CodeGroupNum": 0,
    } | values
    await _insert(engine, t.BENEFIT, **row)


async def _claim(engine: AsyncEngine, pat: int, sub: int, status: int, when: date, **values: Any) -> None:
    row = {"ProcNum": 0, "InsPayEst": 0.0, "DedApplied": 0.0, "InsPayAmt": 0.0, "PlanNum": 0} | values
    await _insert(engine, t.CLAIMPROC, PatNum=pat, InsSubNum=sub, Status=status, ProcDate=when, **row)


async def _category(engine: AsyncEngine, name: str, order: int, kind: int, hidden: int = 0) -> int:
    return await _insert(
        engine, t.COVCAT, Description=name, CovOrder=order, IsHidden=hidden, EbenefitCat=kind
    )


async def test_primary_and_secondary_benefits_as_open_dental_prints_them(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    spouse = await _patient(engine, pat, FName="Bo")
    fees = await _insert(engine, t.FEESCHED, Description="Delta PPO", IsHidden=0)
    # A medical plan first by Ordinal: the primary is still the first dental plan.
    await _plan(engine, pat, 1, IsMedical=1)
    plan_a, sub_a, pat_plan_a = await _plan(engine, pat, 2, MonthRenew=7, FeeSched=fees)
    plan_b, sub_b, _ = await _plan(engine, pat, 3)
    _, _, other_pat_plan = await _plan(engine, spouse, 1)
    general = await _category(engine, "General", 0, 1)
    diagnostic = await _category(engine, "Diagnostic", 1, 2)
    restorative = await _category(engine, "Restorative", 3, 4)
    preventive = await _category(engine, "Preventive", 2, 12)
    exam, ortho, bitewings = (
        await _code(engine, "D0120"),
        await _code(engine, "D8080"),
        await _code(engine, "D0274"),
    )
    bw_group = await _insert(
        engine,
        t.CODEGROUP,
        GroupName="BW",
        ProcCodes="D0272,D0274",
        ItemOrder=0,
        CodeGroupFixed=1,
        IsHidden=0,
        ShowInAgeLimit=1,
    )
    for fixed, codes in ((3, "D0120,D0150"), (2, "D0210,D0330")):
        await _insert(
            engine,
            t.CODEGROUP,
            GroupName=str(fixed),
            ProcCodes=codes,
            ItemOrder=fixed,
            CodeGroupFixed=fixed,
            IsHidden=0,
            ShowInAgeLimit=1,
        )
    # Annual max: the one without a category wins over a lower general one; family and another
    # patient's override are not the individual max.
    await _benefit(engine, PlanNum=plan_a, MonetaryAmt=1500.0)
    await _benefit(engine, PlanNum=plan_a, MonetaryAmt=1000.0, CovCatNum=general)
    await _benefit(engine, PlanNum=plan_a, MonetaryAmt=3000.0, CoverageLevel=2)
    await _benefit(engine, PatPlanNum=other_pat_plan, MonetaryAmt=500.0)
    # Deductible: the general individual one; one on a code group is not.
    await _benefit(engine, PlanNum=plan_a, BenefitType=2, MonetaryAmt=50.0)
    await _benefit(engine, PlanNum=plan_a, BenefitType=2, MonetaryAmt=75.0, CodeGroupNum=bw_group)
    await _benefit(engine, PlanNum=plan_a, BenefitType=2, MonetaryAmt=150.0, CoverageLevel=2)
    # Percentages in CovOrder; an override for this patplan is not listed.
    for category, percent in ((restorative, 80), (diagnostic, 100), (preventive, 100)):
        await _benefit(engine, PlanNum=plan_a, BenefitType=1, Percent=percent, CovCatNum=category)
    await _benefit(engine, PatPlanNum=pat_plan_a, BenefitType=1, Percent=50, CovCatNum=restorative)
    # Frequencies: by the BW group, by a code in the Exam group, by the Pano group.
    await _benefit(
        engine, PlanNum=plan_a, CodeGroupNum=bw_group, QuantityQualifier=1, Quantity=1, CoverageLevel=0
    )
    await _benefit(
        engine, PlanNum=plan_a, CodeNum=exam, QuantityQualifier=5, Quantity=6, TimePeriod=0, CoverageLevel=0
    )
    await _benefit(
        engine,
        PlanNum=plan_a,
        CodeNum=bitewings,
        QuantityQualifier=4,
        Quantity=5,
        TimePeriod=0,
        CoverageLevel=1,
    )
    # An ortho lifetime maximum on its code: ortho claims do not count toward the annual max.
    await _benefit(engine, PlanNum=plan_a, CodeNum=ortho, MonetaryAmt=2000.0, TimePeriod=3)
    ortho_proc = await _insert(
        engine,
        t.PROCEDURELOG,
        PatNum=pat,
        AptNum=0,
        ProcDate=date(2026, 10, 1),
        ProcFee=0.0,
        Surf="",
        ToothNum="",
        Priority=0,
        ProcStatus=2,
        CodeNum=ortho,
    )
    # An ortho category with a lifetime maximum: claims for codes in its span do not count either.
    ortho_category = await _category(engine, "Orthodontics", 4, 9)
    await _insert(engine, t.COVSPAN, CovCatNum=ortho_category, FromCode="D8000", ToCode="D8999")
    await _benefit(engine, PlanNum=plan_a, CovCatNum=ortho_category, MonetaryAmt=1500.0, TimePeriod=3)
    visit = await _code(engine, "D8670")
    visit_proc = await _insert(
        engine,
        t.PROCEDURELOG,
        PatNum=pat,
        AptNum=0,
        ProcDate=date(2026, 10, 2),
        ProcFee=0.0,
        Surf="",
        ToothNum="",
        Priority=0,
        ProcStatus=2,
        CodeNum=visit,
    )
    await _claim(engine, pat, sub_a, 1, date(2026, 10, 2), InsPayAmt=500.0, ProcNum=visit_proc)
    # The benefit year of plan A runs from 2026-07-01.
    await _claim(engine, pat, sub_a, 1, date(2026, 8, 1), InsPayAmt=200.0, DedApplied=50.0)
    await _claim(engine, pat, sub_a, 4, date(2026, 9, 1), InsPayAmt=25.0)
    await _claim(engine, pat, sub_a, 3, date(2026, 9, 2), InsPayAmt=10.0)
    await _claim(engine, pat, sub_a, 0, date(2026, 10, 10), InsPayEst=120.0)
    await _claim(engine, pat, sub_a, 0, date(2026, 10, 1), InsPayEst=300.0, ProcNum=ortho_proc)
    await _claim(engine, pat, sub_a, 1, date(2026, 6, 15), InsPayAmt=400.0, DedApplied=25.0)  # last year
    await _claim(engine, pat, sub_a, 9, date(2026, 8, 2), InsPayAmt=99.0, DedApplied=20.0)  # history
    await _claim(engine, pat, sub_a, 6, date(2026, 8, 3), InsPayEst=1000.0, DedApplied=5.0)  # estimate
    await _claim(engine, pat, sub_a, 2, date(2026, 8, 4), InsPayAmt=1000.0)  # preauth
    await _claim(engine, spouse, sub_a, 1, date(2026, 8, 5), InsPayAmt=1000.0, DedApplied=5.0)
    # Plan B (calendar year): more paid than its maximum.
    await _benefit(engine, PlanNum=plan_b, MonetaryAmt=1000.0)
    await _claim(engine, pat, sub_b, 1, date(2026, 2, 1), InsPayAmt=1200.0)
    template = (
        "|".join(f"[ins{prefix}{name}]" for prefix in ("", "2") for name in TOKENS) + "|[insFeeSchedule]"
    )
    values = dict(
        zip(
            [f"ins{prefix}{name}" for prefix in ("", "2") for name in TOKENS] + ["insFeeSchedule"],
            (await _text(engine, template, pat)).split("|"),
            strict=True,
        )
    )
    assert values == {
        "insAnnualMax": "$1,500.00",
        "insDeductible": "$50.00",
        "insDeductibleUsed": "$70.00",
        "insPending": "$120.00",
        "insUsed": "$235.00",
        "insRemaining": "$1,145.00",
        "insPercentages": "Diagnostic 100%,  Preventive 100%,  Restorative 80%",
        "insFreqBW": "Once per year.",
        "insFreqExams": "Once every 6 months.",
        # No benefit names the Pano/FMX group or its codes (the one on a BW code, individual, is none).
        "insFreqPanoFMX": "",
        "ins2AnnualMax": "$1,000.00",
        "ins2Deductible": "",
        "ins2DeductibleUsed": "$0.00",
        "ins2Pending": "$0.00",
        "ins2Used": "$1,200.00",
        "ins2Remaining": "($200.00)",
        "ins2Percentages": "",
        "ins2FreqBW": "",
        "ins2FreqExams": "",
        "ins2FreqPanoFMX": "",
        "insFeeSchedule": "Delta PPO",
    }


async def test_without_a_plan_every_benefit_token_is_blank(od: AsyncEngine) -> None:
    pat = await _patient(od, FName="Ann")
    template = "|".join(f"[ins{name}]" for name in TOKENS) + "|[insFeeSchedule]"
    assert await _text(od, template, pat) == "|" * len(TOKENS)


async def test_a_plan_without_benefits_prints_zero_amounts_and_a_hidden_fee_schedule_says_so(
    od: AsyncEngine,
) -> None:
    fees = await _insert(od, t.FEESCHED, Description="Old fees", IsHidden=1)
    pat = await _patient(od, FName="Ann")
    await _plan(od, pat, 1, FeeSched=fees)
    text = await _text(
        od, "[insAnnualMax]|[insDeductibleUsed]|[insPending]|[insUsed]|[insRemaining]|[insFeeSchedule]", pat
    )
    assert text == "|$0.00|$0.00|$0.00||Old fees (hidden)"

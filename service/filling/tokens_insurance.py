"""The insurance benefit tokens as Open Dental fills them (SheetFiller, Benefits, InsPlans,
BenefitLogic): annual max, deductible, deductible used, pending, used, remaining,
percentages, frequencies and the fee schedule, for the primary and secondary plan.

The primary plan is the first dental one by Ordinal, else the first medical one;
the secondary the second dental one (PatPlans.GetOrdinal). Amounts add up the
claim history of the plan's benefit year around today (ComputeRenewDate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import cmp_to_key

from service.filling.benefits import Benefit, ClaimHistory, CodeSpan
from service.filling.data import Coverage
from service.filling.history import CodeGroup
from service.vocab import Culture

# InsBenefitType.
_COINSURANCE, _DEDUCTIBLE, _LIMITATIONS = 1, 2, 5
# BenefitTimePeriod.
_NO_PERIOD, _SERVICE_YEAR, _CALENDAR_YEAR, _LIFETIME, _LAST_12_MONTHS = 0, 1, 2, 3, 5
_YEARLY = (_SERVICE_YEAR, _CALENDAR_YEAR)
# BenefitQuantity.
_NO_QUANTITY, _SERVICES, _YEARS, _MONTHS = 0, 1, 4, 5
# BenefitCoverageLevel.
_NO_LEVEL, _INDIVIDUAL = 0, 1
# EbenefitCategory None and General.
_GENERAL_CATEGORIES = (0, 1)
# ClaimProcStatus.
_NOT_RECEIVED = 0
_PAID = (1, 3, 4)  # Received, Adjustment, Supplemental (InsHist rows are not "used")
# The frequency tokens and the code group (CodeGroupFixed) each reads.
FREQUENCY_GROUPS = {"FreqBW": 1, "FreqPanoFMX": 2, "FreqExams": 3}
NAMES = (
    *("AnnualMax", "Deductible", "DeductibleUsed", "Pending", "Used", "Remaining", "Percentages"),
    *FREQUENCY_GROUPS,
)


def renew_date(today: date, month_renew: int) -> date:
    """BenefitLogic.ComputeRenewDate: the first day of the benefit year containing today."""
    if month_renew == 0:
        return date(today.year, 1, 1)
    if month_renew <= today.month:
        return date(today.year, month_renew, 1)
    return date(today.year - 1, month_renew, 1)


def choose_plans(coverage: Sequence[Coverage]) -> tuple[Coverage | None, Coverage | None]:
    """PatPlans.GetOrdinal: the primary (first dental, else first medical) and the second dental plan."""
    ordered = sorted(coverage, key=lambda c: c.ordinal)
    dental = [c for c in ordered if not c.is_medical]
    medical = [c for c in ordered if c.is_medical]
    primary = dental[0] if dental else (medical[0] if medical else None)
    return primary, (dental[1] if len(dental) > 1 else None)


def _for_plan(b: Benefit, plan_num: int, pat_plan_num: int) -> bool:
    # A plan override (PlanNum 0) counts for its patplan only; a plan benefit for its plan only.
    if b.plan_num == 0 and b.pat_plan_num != pat_plan_num:
        return False
    return not (b.pat_plan_num == 0 and b.plan_num != plan_num)


def _general(b: Benefit) -> bool:
    return b.cov_cat_num == 0 or b.ebenefit_category in _GENERAL_CATEGORIES


def annual_max(benefits: Sequence[Benefit], plan_num: int, pat_plan_num: int) -> float | None:
    """Benefits.GetAnnualMaxDisplay (individual): the lowest, those without a category first."""
    found = [
        b
        for b in benefits
        if _for_plan(b, plan_num, pat_plan_num)
        and b.benefit_type == _LIMITATIONS
        and b.quantity_qualifier == _NO_QUANTITY
        and b.time_period in _YEARLY
        and b.coverage_level == _INDIVIDUAL
        and b.code_num == 0
        and _general(b)
    ]
    return min(found, key=lambda b: (b.cov_cat_num != 0, b.amount)).amount if found else None


def deductible(benefits: Sequence[Benefit], plan_num: int, pat_plan_num: int) -> float | None:
    """Benefits.GetDeductGeneralDisplay (individual): the largest general deductible."""
    found = [
        b.amount
        for b in benefits
        if _for_plan(b, plan_num, pat_plan_num)
        and b.benefit_type == _DEDUCTIBLE
        and b.quantity_qualifier == _NO_QUANTITY
        and b.time_period in _YEARLY
        and b.coverage_level == _INDIVIDUAL
        and b.code_num == 0
        and b.code_group_num == 0
        and _general(b)
    ]
    return max(found) if found else None


def _limited_apart(
    benefits: Sequence[Benefit],
    spans: Sequence[CodeSpan],
    plan_num: int,
    pat_plan_num: int,
    claim: ClaimHistory,
) -> bool:
    # Benefits.LimitationExistsNotGeneral: a dollar limitation on the procedure's code, or on a
    # category (not general) whose code spans hold it, e.g. an ortho lifetime maximum.
    for b in benefits:
        if not _for_plan(b, plan_num, pat_plan_num):
            continue
        if b.benefit_type != _LIMITATIONS or b.quantity_qualifier != _NO_QUANTITY:
            continue
        if b.time_period not in (*_YEARLY, _LIFETIME):
            continue
        if b.code_num != 0 and b.code_num == claim.code_num:
            return True
        # CovSpans.IsCodeInSpans compares the codes as strings.
        spanned = any(s.cov_cat_num == b.cov_cat_num and s.first <= claim.code <= s.last for s in spans)
        if b.cov_cat_num != 0 and not _general(b) and spanned:
            return True
    return False


def sort_benefits(benefits: Sequence[Benefit], group_orders: Mapping[int, int]) -> list[Benefit]:
    """Benefit.CompareTo: coverage level, type, category order, code group order, code, period, quantity."""

    def compare(a: Benefit, b: Benefit) -> int:
        def cmp(x: int | str, y: int | str) -> int:
            return -1 if x < y else int(x > y)  # type: ignore[operator]

        if a.coverage_level != b.coverage_level:
            return cmp(a.coverage_level, b.coverage_level)
        if a.benefit_type != b.benefit_type:
            return cmp(a.benefit_type, b.benefit_type)
        if a.cov_cat_num and b.cov_cat_num and a.cov_cat_num != b.cov_cat_num:
            return cmp(a.category_index, b.category_index)
        if a.code_group_num or b.code_group_num:
            order_a, order_b = group_orders.get(a.code_group_num, -1), group_orders.get(b.code_group_num, -1)
            if order_a != order_b:
                return cmp(order_a, order_b)
        if a.code_num != b.code_num:
            return cmp(a.code, b.code)
        yearly_a, yearly_b = a.time_period in _YEARLY, b.time_period in _YEARLY
        if (not yearly_a and not yearly_b and a.time_period != b.time_period) or yearly_a != yearly_b:
            return cmp(a.time_period, b.time_period)
        if a.quantity_qualifier != b.quantity_qualifier:
            return cmp(a.quantity_qualifier, b.quantity_qualifier)
        if a.pat_plan_num == 0 and b.pat_plan_num != 0:
            return 1
        if a.plan_num == 0 and b.plan_num != 0:
            return -1
        return 0

    # .NET's List.Sort is not stable; ties keep the rows' order here.
    return sorted(benefits, key=cmp_to_key(compare))


def _is_frequency(b: Benefit, group: CodeGroup | None) -> bool:
    # Benefits.IsFrequencyLimitationForCodeGroupFixed (patplan 0, quantity not required).
    if group is None:
        return False
    if b.code_group_num != group.num and not (b.code_num and b.code in group.codes):
        return False
    if b.pat_plan_num > 0:
        return False
    if b.benefit_type != _LIMITATIONS or b.amount != -1 or b.percent != -1:
        return False
    if b.quantity_qualifier in (_MONTHS, _YEARS):
        if b.time_period != _NO_PERIOD:
            return False
    elif b.quantity_qualifier == _SERVICES:
        if b.time_period not in (*_YEARLY, _LAST_12_MONTHS):
            return False
    else:
        return False
    return b.coverage_level == _NO_LEVEL


def frequency_text(b: Benefit) -> str:
    """Benefits.GetFrequencyString, without its trailing line break (SheetFiller trims it)."""
    n = b.quantity
    if b.quantity_qualifier == _MONTHS:
        return "Once every month." if n == 1 else f"Once every {n} months."
    if b.quantity_qualifier == _YEARS:
        return "Once every year." if n == 1 else f"Once every {n} years."
    if b.quantity_qualifier == _SERVICES and b.time_period == _LAST_12_MONTHS:
        return "Once in the last 12 months." if n == 1 else f"{n} times in the last 12 months."
    return "Once per year." if n == 1 else f"{n} times per year."


def insurance_values(
    *,
    coverage: Sequence[Coverage],
    benefits: Sequence[Benefit],
    claims: Sequence[ClaimHistory],
    spans: Sequence[CodeSpan],
    code_groups: Mapping[int, CodeGroup],
    group_orders: Mapping[int, int],
    pat_num: int,
    today: date,
    culture: Culture,
) -> dict[str, str]:
    """The benefit tokens of the primary (`ins…`) and secondary (`ins2…`) plan, and `insFeeSchedule`."""
    money = culture.money
    values = {f"ins{prefix}{name}": "" for prefix in ("", "2") for name in NAMES} | {"insFeeSchedule": ""}
    ordered = sort_benefits(benefits, group_orders)
    plan_of_sub = {c.ins_sub_num: c.plan_num for c in coverage}
    primary, secondary = choose_plans(coverage)
    if primary is not None:
        values["insFeeSchedule"] = primary.fee_schedule
    for prefix, plan in (("", primary), ("2", secondary)):
        if plan is None:
            continue
        plan_num, pat_plan_num = plan.plan_num, plan.pat_plan_num
        start = renew_date(today, plan.month_renew)
        stop = date(start.year + 1, start.month, start.day)
        year = [c for c in claims if start <= c.date < stop and c.pat_num == pat_num]
        # InsPlans.GetDedUsedDisplay: any status of the history, on any subscription to this plan.
        used_deductible = sum(c.deduct for c in year if plan_of_sub.get(c.ins_sub_num) == plan_num)
        mine = [
            c
            for c in year
            if c.ins_sub_num == plan.ins_sub_num
            and plan_of_sub.get(c.ins_sub_num) == plan_num
            and not _limited_apart(benefits, spans, plan_num, pat_plan_num, c)
        ]
        pending = sum(c.amount for c in mine if c.status == _NOT_RECEIVED)
        used = sum(c.amount for c in mine if c.status in _PAID)
        maximum = annual_max(benefits, plan_num, pat_plan_num)
        general = deductible(benefits, plan_num, pat_plan_num)
        values |= {
            f"ins{prefix}AnnualMax": money(maximum) if maximum is not None else "",
            f"ins{prefix}Deductible": money(general) if general is not None else "",
            f"ins{prefix}DeductibleUsed": money(used_deductible),
            f"ins{prefix}Pending": money(pending),
            f"ins{prefix}Used": money(used),
            # Not clamped at zero: more paid than the maximum prints a negative amount.
            f"ins{prefix}Remaining": money(maximum - pending - used) if maximum is not None else "",
            # Plan benefits only (overrides are left out), every category, hidden ones too.
            f"ins{prefix}Percentages": ",  ".join(
                f"{b.category} {b.percent}%"
                for b in ordered
                if b.plan_num == plan_num and b.benefit_type == _COINSURANCE
            ),
        }
        for name, fixed in FREQUENCY_GROUPS.items():
            group = code_groups.get(fixed)
            found = next((b for b in ordered if b.plan_num == plan_num and _is_frequency(b, group)), None)
            values[f"ins{prefix}{name}"] = frequency_text(found) if found else ""
    return values

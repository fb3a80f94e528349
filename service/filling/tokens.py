"""StaticText tokens: Open Dental's 149 `[name]`s (its `StaticTextField` enum) and their values.

Every name Open Dental knows is replaced: by its value where the tables this
service reads hold it, else by what Open Dental prints for a patient without
such data ("" or "No"). The history tokens (appointments, procedures, the
treatment plan, recalls…) are `service.filling.tokens_history`. `BLANK` lists the
names not filled; a name outside `TOKEN_NAMES` is not a token and stays as
written. `patientPortalCredentials` is never filled: Open Dental creates portal
credentials (a write) to fill it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from service.filling import data as d
from service.filling import history as h
from service.filling.benefits import BENEFITS, CLAIMS, SPANS
from service.filling.data import Coverage, FillData
from service.filling.tokens_history import DATE_LAST_GROUPS, HistoryTokens
from service.filling.tokens_insurance import FREQUENCY_GROUPS, choose_plans, insurance_values
from service.vocab import Culture

TOKEN_NAMES = (
    *("activeAllergies", "activeProblems", "address", "age", "apptsAllFuture", "apptDateMonthSpelled"),
    *("apptModNote", "apptProcs", "apptProvNameFormal", "balTotal", "bal_0_30", "bal_31_60", "bal_61_90"),
    *("balOver90", "balInsEst", "balTotalMinusInsEst", "BillingType", "Birthdate", "carrierName"),
    *("carrier2Name", "carrierAddress", "carrier2Address", "carrierCityStZip", "carrier2CityStZip"),
    *("ChartNumber", "cityStateZip", "clinicDescription", "clinicAddress", "clinicCityStZip", "clinicPhone"),
    *("clinicPatDescription", "clinicPatAddress", "clinicPatCityStZip", "clinicPatPhone"),
    *("clinicCurDescription", "clinicCurAddress", "clinicCurCityStZip", "clinicCurPhone"),
    *("currentMedications", "DateFirstVisit", "dateLastAppt", "dateLastBW", "dateLastExam"),
    *("dateLastPanoFMX", "dateLastPerio", "dateLastProphy", "dateLastSrp", "dateOfLastSavedTP"),
    *("dateRecallDue", "dateTimeLastAppt", "dateTodayLong", "dateToday", "dueForBWYN", "dueForPanoYN"),
    *("Email", "famFinNote", "famFinUrgNote", "famPopups", "famRecallDue", "gender", "genderHeShe"),
    *("genderheshe", "genderHimHer", "genderhimher", "genderHimselfHerself", "genderhimselfherself"),
    *("genderHisHer", "genderhisher", "genderHisHers", "genderhishers", "guarantorHmPhone"),
    *("guarantorNameF", "guarantorNameFL", "guarantorNameL", "guarantorNamePref", "guarantorNameLF"),
    *("guarantorWirelessPhone", "guarantorWkPhone", "HmPhone", "insAnnualMax", "insDeductible"),
    *("insDeductibleUsed", "insEmployer", "insFeeSchedule", "insFreqBW", "insFreqExams", "insFreqPanoFMX"),
    *("insPending", "insPercentages", "insPlanGroupName", "insPlanGroupNumber", "insPlanNote"),
    *("insRemaining", "insSubBirthDate", "insSubNote", "insType", "insUsed", "ins2AnnualMax"),
    *("ins2Deductible", "ins2DeductibleUsed", "ins2Employer", "ins2FreqBW", "ins2FreqExams"),
    *("ins2FreqPanoFMX", "ins2Pending", "ins2Percentages", "ins2PlanGroupName", "ins2PlanGroupNumber"),
    *("ins2Remaining", "ins2Used", "medicalSummary", "MedUrgNote", "nameF", "nameFL", "nameFLFormal"),
    *("nameL", "nameLF", "nameMI", "namePref", "namePreferredOrFirst", "nextSchedApptDate"),
    *("nextSchedApptDateT", "nextSchedApptsFam", "patientPortalCredentials", "PatNum"),
    *("plannedAppointmentInfo", "practiceTitle", "premedicateYN", "priProvNameFormal", "recallInterval"),
    *("recallScheduledYN", "referredFrom", "referredTo", "salutation", "serviceNote", "siteDescription"),
    *("SSN", "subscriberID", "subscriberNameFL", "subscriber2NameFL", "timeNow", "tpResponsPartyAddress"),
    *("tpResponsPartyCityStZip", "tpResponsPartyNameFL", "treatmentNote", "treatmentPlanProcs"),
    *("treatmentPlanProcsPriority", "WirelessPhone", "WkPhone"),
)

# Known names never filled, with what Open Dental prints without their data.
# `patientPortalCredentials` stays blank: Open Dental writes portal credentials
# (userweb, ehrmeasureevent) to fill it, and the service never writes Open Dental's tables.
BLANK: dict[str, str] = {"patientPortalCredentials": ""}

# Which reads (service.filling.data) the tokens need; tokens not listed need only the patient and clock.
_CLINIC = ("clinicDescription", "clinicAddress", "clinicCityStZip", "clinicPhone")
_INSURANCE = (
    *("carrierName", "carrier2Name", "carrierAddress", "carrier2Address", "carrierCityStZip"),
    *("carrier2CityStZip", "insEmployer", "insPlanGroupName", "insPlanGroupNumber", "insPlanNote"),
    *("insSubNote", "insType", "ins2Employer", "ins2PlanGroupName", "ins2PlanGroupNumber", "subscriberID"),
)
NEEDS: dict[str, frozenset[str]] = {
    "activeAllergies": frozenset({d.ALLERGIES}),
    "activeProblems": frozenset({d.PROBLEMS}),
    "currentMedications": frozenset({d.MEDICATIONS}),
    "priProvNameFormal": frozenset({d.PROVIDER, d.PREFERENCES}),
    "practiceTitle": frozenset({d.PREFERENCES}),
    **{
        name: frozenset({d.NOTE}) for name in ("famFinNote", "medicalSummary", "serviceNote", "treatmentNote")
    },
    **{
        n: frozenset({d.CLINIC, d.PREFERENCES}) for n in _CLINIC + tuple("clinicPat" + n[6:] for n in _CLINIC)
    },
    **{"clinicCur" + n[6:]: frozenset({d.PREFERENCES}) for n in _CLINIC},
    **{name: frozenset({d.REFERRALS}) for name in ("referredFrom", "referredTo")},
    **{name: frozenset({d.INSURANCE}) for name in _INSURANCE},
    **{
        name: frozenset({d.INSURANCE})
        for name in ("subscriberNameFL", "subscriber2NameFL", "insSubBirthDate")
    },
    **{
        name: frozenset({d.FAMILY})
        for name in TOKEN_NAMES
        if name.startswith(("bal", "guarantor")) or name == "famFinUrgNote"
    },
    **{
        name: frozenset({h.APPOINTMENTS})
        for name in (
            *("dateLastAppt", "dateTimeLastAppt", "nextSchedApptDate", "nextSchedApptDateT"),
            *("apptsAllFuture", "plannedAppointmentInfo", "apptDateMonthSpelled", "apptProvNameFormal"),
        )
    },
    "nextSchedApptsFam": frozenset({h.APPOINTMENTS, d.FAMILY}),
    "apptProcs": frozenset({h.APPOINTMENTS, h.PROCEDURES}),
    **{name: frozenset({h.PROCEDURES, h.CODE_GROUPS}) for name in DATE_LAST_GROUPS},
    **{
        name: frozenset({h.PROCEDURES, h.DEFINITIONS, d.PREFERENCES})
        for name in ("treatmentPlanProcs", "treatmentPlanProcsPriority")
    },
    **{
        name: frozenset({h.TREAT_PLAN})
        for name in (
            "dateOfLastSavedTP",
            "tpResponsPartyAddress",
            "tpResponsPartyCityStZip",
            "tpResponsPartyNameFL",
        )
    },
    **{
        name: frozenset({h.RECALLS, d.PREFERENCES, d.FAMILY})
        for name in ("dateRecallDue", "dueForBWYN", "dueForPanoYN", "famRecallDue", "recallInterval")
    },
    "recallScheduledYN": frozenset({h.RECALLS, d.PREFERENCES, d.FAMILY}),
    "BillingType": frozenset({h.DEFINITIONS}),
    "siteDescription": frozenset({h.SITE}),
    "famPopups": frozenset({h.POPUPS}),
    "insFeeSchedule": frozenset({d.INSURANCE}),
    **{
        f"ins{prefix}{name}": frozenset({d.INSURANCE, BENEFITS})
        for prefix in ("", "2")
        for name in ("AnnualMax", "Deductible", "Percentages")
    },
    **{
        f"ins{prefix}{name}": frozenset({d.INSURANCE, BENEFITS, h.CODE_GROUPS})
        for prefix in ("", "2")
        for name in FREQUENCY_GROUPS
    },
    **{f"ins{prefix}DeductibleUsed": frozenset({d.INSURANCE, CLAIMS}) for prefix in ("", "2")},
    **{
        f"ins{prefix}{name}": frozenset({d.INSURANCE, BENEFITS, CLAIMS, SPANS})
        for prefix in ("", "2")
        for name in ("Pending", "Used", "Remaining")
    },
}

_PRONOUNS = {
    0: ("He", "Him", "Himself", "His", "His"),
    1: ("She", "Her", "Herself", "Her", "Hers"),
    2: ("The patient", "The patient", "The patient", "The patient's", "The patient's"),
}
_PLAN_TYPES = {
    "p": "PPO Percentage",
    "f": "Medicaid or Flat Copay",
    "c": "Capitation",
    "": "Category Percentage",
}


def needs_of(names: Iterable[str]) -> set[str]:
    """The reads the given token names need."""
    wanted: set[str] = set()
    for name in names:
        wanted |= NEEDS.get(name, frozenset())
    return wanted


def _with_second_line(first: str, second: str) -> str:
    return f"{first}, {second}" if second else first


def _city_st_zip(city: str, state: str, zip_code: str) -> str:
    # Open Dental keeps the separators whatever is missing.
    return f"{city}, {state}  {zip_code}"


def name_fl_formal(p: Mapping[str, Any]) -> str:
    """[nameFLFormal]: title, first, middle initial and last name."""
    return " ".join(x for x in (p["Title"], p["FName"], p["MiddleI"], p["LName"]) if x.strip())


def salutation(p: Mapping[str, Any]) -> str:
    """[salutation]: the patient's salutation, else the preferred name, else the first name."""
    return str(p["Salutation"] or p["Preferred"] or p["FName"])


def name_fl(p: Mapping[str, Any]) -> str:
    """[nameFL]: first, 'preferred', middle initial and last name."""
    return _name_fl(p)


def _name_fl(p: Mapping[str, Any]) -> str:
    preferred = p["Preferred"].strip()
    return " ".join(
        x
        for x in (
            p["FName"].strip(),
            f"'{preferred}'" if preferred else "",
            p["MiddleI"].strip(),
            p["LName"].strip(),
        )
        if x
    )


def _name_lf(p: Mapping[str, Any]) -> str:
    preferred = p["Preferred"].strip()
    given = " ".join(
        x for x in (f"'{preferred}'" if preferred else "", p["FName"].strip(), p["MiddleI"].strip()) if x
    )
    last = p["LName"].strip()
    return f"{last}, {given}" if last and given else last or given


class TokenContext:
    """What the token values are built from (also used by the per-type field names)."""

    def __init__(
        self,
        patient: Mapping[str, Any],
        data: FillData,
        practice: Any,
        now: datetime,
        culture: Culture,
        phone: Callable[[str], str],
        real_date: Callable[[Any], date | None],
        apt_num: int = 0,
    ) -> None:
        self.patient, self.data, self.practice, self.now, self.culture = patient, data, practice, now, culture
        self.phone, self.real_date, self.apt_num = phone, real_date, apt_num

    def family_member(self, pat_num: int) -> Mapping[str, Any] | None:
        if pat_num == self.patient["PatNum"]:
            return self.patient
        return next((m for m in self.data.family if m["PatNum"] == pat_num), None)

    def coverage(self, ordinal: int) -> Coverage | None:
        """The primary (0) or secondary (1) plan, as Open Dental chooses them (PatPlans.GetOrdinal)."""
        return choose_plans(self.data.coverage)[ordinal]

    def short_date(self, value: Any) -> str:
        real = self.real_date(value)
        return self.culture.short_date(real) if real else ""


def token_values(ctx: TokenContext, age: str) -> dict[str, str]:
    """The value of every known token for one patient, sheet and moment."""
    p, data, practice, culture = ctx.patient, ctx.data, ctx.practice, ctx.culture
    today = ctx.now.date()
    guarantor = data.family[0] if data.family else None
    money = culture.money
    values: dict[str, str] = dict(BLANK)
    values |= HistoryTokens(
        p, data.family, data.history, data.preferences, ctx.now, culture, _name_fl, ctx.apt_num
    ).values()
    values |= insurance_values(
        coverage=data.coverage,
        benefits=data.benefits,
        claims=data.claims,
        spans=data.spans,
        code_groups=data.history.code_groups,
        group_orders=data.history.code_group_orders,
        pat_num=p["PatNum"],
        today=today,
        culture=culture,
    )
    pronouns = _PRONOUNS.get(p["Gender"])
    for n, stem in enumerate(("HeShe", "HimHer", "HimselfHerself", "HisHer", "HisHers")):
        values["gender" + stem] = pronouns[n] if pronouns else ""
        values["gender" + stem.lower()] = pronouns[n].lower() if pronouns else ""
    practice_address = _with_second_line(practice.address, practice.address2)
    practice_csz = _city_st_zip(practice.city, practice.state, practice.zip)
    clinic = data.clinic
    clinic_values = (
        (
            clinic.description,
            _with_second_line(clinic.address, clinic.address2),
            _city_st_zip(clinic.city, clinic.state, clinic.zip),
            ctx.phone(clinic.phone),
        )
        if clinic
        else (practice.title, practice_address, practice_csz, ctx.phone(practice.phone))
    )
    practice_values = (practice.title, practice_address, practice_csz, ctx.phone(practice.phone))
    for n, part in enumerate(("Description", "Address", "CityStZip", "Phone")):
        values["clinic" + part] = values["clinicPat" + part] = clinic_values[n]
        # No clinic is "current" for an API call: Open Dental's headquarters, the practice.
        values["clinicCur" + part] = practice_values[n]
    for prefix, ordinal in (("", 0), ("2", 1)):
        plan = ctx.coverage(ordinal)
        if plan is None:
            for name in ("Name", "Address", "CityStZip"):
                values[f"carrier{prefix}{name}"] = ""
            values[f"ins{prefix}Employer"] = values[f"ins{prefix}PlanGroupName"] = ""
            values[f"ins{prefix}PlanGroupNumber"] = values[f"subscriber{prefix}NameFL"] = ""
            continue
        subscriber = plan.subscriber_row or ctx.family_member(plan.subscriber)
        values[f"carrier{prefix}Name"] = plan.carrier_name
        values[f"carrier{prefix}Address"] = _with_second_line(plan.carrier_address, plan.carrier_address2)
        values[f"carrier{prefix}CityStZip"] = _city_st_zip(
            plan.carrier_city, plan.carrier_state, plan.carrier_zip
        )
        values[f"ins{prefix}Employer"] = plan.employer
        values[f"ins{prefix}PlanGroupName"] = plan.group_name
        values[f"ins{prefix}PlanGroupNumber"] = plan.group_num
        values[f"subscriber{prefix}NameFL"] = _name_fl(subscriber) if subscriber else ""
    primary = ctx.coverage(0)
    primary_subscriber = (
        (primary.subscriber_row or ctx.family_member(primary.subscriber)) if primary else None
    )
    values |= {
        "insPlanNote": primary.plan_note if primary else "",
        "insSubNote": primary.subscriber_note if primary else "",
        "insType": _PLAN_TYPES.get(primary.plan_type, "") if primary else "",
        "subscriberID": primary.subscriber_id if primary else "",
        "insSubBirthDate": ctx.short_date(primary_subscriber["Birthdate"]) if primary_subscriber else "",
    }
    values |= {
        "activeAllergies": ", ".join(a.name for a in data.allergies if a.active),
        "activeProblems": ", ".join(c.name for c in data.problems if c.active),
        "address": _with_second_line(p["Address"], p["Address2"]),
        "age": age,
        "apptModNote": p["ApptModNote"],
        "Birthdate": ctx.short_date(p["Birthdate"]),
        "ChartNumber": p["ChartNumber"],
        "cityStateZip": _city_st_zip(p["City"], p["State"], p["Zip"]),
        "currentMedications": ", ".join(data.medications),
        "DateFirstVisit": ctx.short_date(p["DateFirstVisit"]),
        "dateToday": culture.short_date(today),
        "dateTodayLong": culture.long_date(today),
        "Email": p["Email"],
        "famFinNote": data.note.family_financial,
        "gender": _enum_name(("Male", "Female", "Unknown", "Other"), p["Gender"]),
        "HmPhone": p["HmPhone"],
        "medicalSummary": data.note.medical,
        "MedUrgNote": p["MedUrgNote"],
        "nameF": p["FName"],
        "nameFL": _name_fl(p),
        "nameFLFormal": name_fl_formal(p),
        "nameL": p["LName"],
        "nameLF": _name_lf(p),
        "nameMI": p["MiddleI"],
        "namePref": p["Preferred"],
        "namePreferredOrFirst": p["Preferred"] if p["Preferred"].strip() else p["FName"],
        "PatNum": str(p["PatNum"]),
        "practiceTitle": practice.title,
        "premedicateYN": "Yes" if p["Premed"] else "No",
        # The provider's own GetFormalName, with the middle initial (the letter's field has none).
        "priProvNameFormal": data.provider.formal_name_with_initial if data.provider else "",
        "referredFrom": _referred_from(data.referred_from),
        "referredTo": "\r\n".join(
            " ".join(
                x
                for x in (r.first, r.last, f"{r.title} : " if r.is_doctor else "", ctx.short_date(r.date))
                if x
            )
            for r in data.referred_to
        ),
        "salutation": salutation(p),
        "serviceNote": data.note.service,
        "SSN": p["SSN"],
        "timeNow": culture.short_time(ctx.now),
        "treatmentNote": data.note.treatment,
        "WirelessPhone": p["WirelessPhone"],
        "WkPhone": p["WkPhone"],
    }
    g = guarantor or {}
    values |= {
        "guarantorNameF": g.get("FName", ""),
        "guarantorNameFL": _name_fl(g) if g else "",
        "guarantorNameL": g.get("LName", ""),
        "guarantorNameLF": _name_lf(g) if g else "",
        "guarantorNamePref": g.get("Preferred", ""),
        "guarantorHmPhone": g.get("HmPhone", ""),
        "guarantorWkPhone": g.get("WkPhone", ""),
        "guarantorWirelessPhone": g.get("WirelessPhone", ""),
        "famFinUrgNote": g.get("FamFinUrgNote", ""),
        "balTotal": money(g.get("BalTotal", 0.0)),
        "bal_0_30": money(g.get("Bal_0_30", 0.0)),
        "bal_31_60": money(g.get("Bal_31_60", 0.0)),
        "bal_61_90": money(g.get("Bal_61_90", 0.0)),
        "balOver90": money(g.get("BalOver90", 0.0)),
        "balInsEst": money(g.get("InsEst", 0.0)),
        "balTotalMinusInsEst": money(g.get("BalTotal", 0.0) - g.get("InsEst", 0.0)),
    }
    return values


def _referred_from(referral: d.Referral | None) -> str:
    if referral is None:
        return ""
    if referral.is_doctor:
        # Open Dental adds the specialty's name (a definition this service does not read).
        return f"{referral.first} {referral.last} {referral.title} : "
    return f"{referral.first} {referral.last}"


def _enum_name(names: tuple[str, ...], value: int) -> str:
    # .NET prints an undefined enum value as its number.
    return names[value] if 0 <= value < len(names) else str(value)

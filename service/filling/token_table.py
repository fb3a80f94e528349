"""What each StaticText token is filled from, row by row: the README's token table is generated from
this (`make token-table`), and a test checks that every token of `TOKEN_NAMES` is in exactly one row."""

from __future__ import annotations

from service.filling.tokens import TOKEN_NAMES

# (tokens, what fills them), in the README's order.
ROWS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "nameF",
            "nameL",
            "nameMI",
            "namePref",
            "nameFL",
            "nameLF",
            "nameFLFormal",
            "namePreferredOrFirst",
            "salutation",
            "PatNum",
            "ChartNumber",
            "Birthdate",
            "age",
            "gender",
            "genderHeShe",
            "genderheshe",
            "genderHimHer",
            "genderhimher",
            "genderHimselfHerself",
            "genderhimselfherself",
            "genderHisHer",
            "genderhisher",
            "genderHisHers",
            "genderhishers",
            "SSN",
            "address",
            "cityStateZip",
            "HmPhone",
            "WkPhone",
            "WirelessPhone",
            "Email",
            "MedUrgNote",
            "apptModNote",
            "DateFirstVisit",
            "premedicateYN",
        ),
        "the patient row",
    ),
    (
        (
            "guarantorNameF",
            "guarantorNameFL",
            "guarantorNameL",
            "guarantorNameLF",
            "guarantorNamePref",
            "guarantorHmPhone",
            "guarantorWkPhone",
            "guarantorWirelessPhone",
            "famFinUrgNote",
            "balTotal",
            "bal_0_30",
            "bal_31_60",
            "bal_61_90",
            "balOver90",
            "balInsEst",
            "balTotalMinusInsEst",
        ),
        "the guarantor's patient row",
    ),
    (
        ("priProvNameFormal",),
        (
            "`provider` (Provider.GetFormalName: with the middle initial, `Jane A. Doe, DDS`; the letter "
            "field `patient.priProvNameFL` has none)"
        ),
    ),
    (
        (
            "practiceTitle",
            "clinicCurDescription",
            "clinicCurAddress",
            "clinicCurCityStZip",
            "clinicCurPhone",
        ),
        '`preference` (an API call has no "current" clinic: the practice)',
    ),
    (
        (
            "clinicDescription",
            "clinicAddress",
            "clinicCityStZip",
            "clinicPhone",
            "clinicPatDescription",
            "clinicPatAddress",
            "clinicPatCityStZip",
            "clinicPatPhone",
        ),
        "`clinic`, else the practice",
    ),
    (
        (
            "medicalSummary",
            "serviceNote",
            "treatmentNote",
            "famFinNote",
        ),
        "`patientnote`",
    ),
    (
        (
            "activeAllergies",
            "activeProblems",
            "currentMedications",
        ),
        "`allergy`, `disease`, `medicationpat`",
    ),
    (
        (
            "referredFrom",
            "referredTo",
        ),
        "`refattach`/`referral`",
    ),
    (
        (
            "carrierName",
            "carrierAddress",
            "carrierCityStZip",
            "carrier2Name",
            "carrier2Address",
            "carrier2CityStZip",
            "insPlanGroupName",
            "insPlanGroupNumber",
            "insPlanNote",
            "insSubNote",
            "insType",
            "insEmployer",
            "insSubBirthDate",
            "subscriberID",
            "subscriberNameFL",
            "subscriber2NameFL",
            "ins2PlanGroupName",
            "ins2PlanGroupNumber",
            "ins2Employer",
        ),
        "`patplan`/`inssub`/`insplan`/`carrier`/`employer`",
    ),
    (
        (
            "dateToday",
            "dateTodayLong",
            "timeNow",
        ),
        "the clock, in `SHEETS_CULTURE`",
    ),
    (
        (
            "dateLastAppt",
            "dateTimeLastAppt",
            "nextSchedApptDate",
            "nextSchedApptDateT",
            "apptsAllFuture",
            "nextSchedApptsFam",
            "plannedAppointmentInfo",
        ),
        (
            "`appointment` (the family's; last/next: Scheduled, Complete or None; all future: Scheduled "
            "after now)"
        ),
    ),
    (
        (
            "apptDateMonthSpelled",
            "apptProcs",
            "apptProvNameFormal",
        ),
        (
            "the appointment of the request's `AptNum` (`appointment`, its `procedurelog` rows, its "
            "`provider`); blank without one"
        ),
    ),
    (
        (
            "dateLastBW",
            "dateLastExam",
            "dateLastPanoFMX",
            "dateLastPerio",
            "dateLastProphy",
            "dateLastSrp",
        ),
        "`procedurelog` (C, EC, EO) whose code is in the database's first visible `codegroup` of that kind",
    ),
    (
        (
            "treatmentPlanProcs",
            "treatmentPlanProcsPriority",
        ),
        "`procedurelog` TP rows and `procedurecode`, by `definition` TxPriorities then tooth",
    ),
    (
        (
            "dateOfLastSavedTP",
            "tpResponsPartyNameFL",
            "tpResponsPartyAddress",
            "tpResponsPartyCityStZip",
        ),
        "the last saved `treatplan` and its responsible party",
    ),
    (
        (
            "dateRecallDue",
            "recallInterval",
            "recallScheduledYN",
            "dueForBWYN",
            "dueForPanoYN",
            "famRecallDue",
        ),
        (
            '`recall`/`recalltype` (prophy and perio types from `preference`; "No" for the YN ones '
            "without data)"
        ),
    ),
    (
        (
            "BillingType",
            "siteDescription",
            "famPopups",
        ),
        "`definition`, `site`, `popup` (the family's and super family's)",
    ),
    (
        (
            "insAnnualMax",
            "insDeductible",
            "insDeductibleUsed",
            "insPending",
            "insRemaining",
            "insUsed",
            "insPercentages",
            "insFreqBW",
            "insFreqExams",
            "insFreqPanoFMX",
            "insFeeSchedule",
            "ins2AnnualMax",
            "ins2Deductible",
            "ins2DeductibleUsed",
            "ins2Pending",
            "ins2Remaining",
            "ins2Used",
            "ins2Percentages",
            "ins2FreqBW",
            "ins2FreqExams",
            "ins2FreqPanoFMX",
        ),
        (
            "`benefit`/`covcat` (individual annual max and general deductible, plan overrides honoured; "
            "percentages and frequencies of the plan, in Open Dental's benefit order, frequencies by the "
            "database's code groups), `claimproc` over the plan's benefit year (`insplan.MonthRenew`: "
            "deductible used, pending, used, leaving out codes with a dollar limitation of their own or "
            "in a non-general category's `covspan`; remaining = max \N{MINUS SIGN} pending "
            "\N{MINUS SIGN} used, not clamped), "
            "`feesched`; primary = the first dental plan by Ordinal (else the first medical one), "
            "secondary = the second dental one"
        ),
    ),
    (
        ("patientPortalCredentials",),
        (
            "blank, always: Open Dental creates portal credentials to fill it (it writes `userweb` and "
            "`ehrmeasureevent`), and this service never writes Open Dental's tables"
        ),
    ),
)


def token_table_markdown() -> str:
    """The README's token table, in Markdown."""
    lines = ["| tokens | value |", "|---|---|"]
    lines += [f"| `{' '.join(tokens)}` | {value} |" for tokens, value in ROWS]
    return "\n".join(lines) + "\n"


def unlisted() -> tuple[list[str], list[str]]:
    """Tokens in no row, and those in more than one or unknown (both empty when the table is whole)."""
    listed = [name for tokens, _ in ROWS for name in tokens]
    missing = [name for name in TOKEN_NAMES if name not in listed]
    extra = [name for name in listed if listed.count(name) > 1 or name not in TOKEN_NAMES]
    return missing, extra

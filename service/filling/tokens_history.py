"""The tokens Open Dental fills from a patient's history (SheetFiller.GetStaticTextReplacements):
appointments, "date last …" procedures, the treatment plan, recalls, the billing type,
the site and the family's popups.

Each follows Open Dental's loop, filters and separators, quirks included (each
named where it is kept); the rows come from `service.filling.history`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from service.filling.history import (
    BILLING_TYPES,
    TX_PRIORITIES,
    Appointment,
    History,
    Procedure,
    Recall,
)
from service.vocab import FIRST_REAL_YEAR, NO_DATETIME, Culture

# ApptStatus.
_NONE, _SCHEDULED, _COMPLETE, _UNSCHEDULED, _PLANNED = 0, 1, 2, 3, 6
# ProcStat.
_TP, _C, _EC, _EO = 1, 2, 3, 4
# TreatmentArea.
_SURF, _TOOTH, _QUAD, _SEXTANT, _ARCH = 1, 2, 4, 5, 6
# The "date last …" tokens and the code group (CodeGroupFixed) each reads.
DATE_LAST_GROUPS = {
    "dateLastBW": 1,
    "dateLastPanoFMX": 2,
    "dateLastExam": 3,
    "dateLastPerio": 4,
    "dateLastProphy": 5,
    "dateLastSrp": 6,
}
# dueForBWYN and dueForPanoYN look for these codes in the recall type's procedures:
# hard-coded in Open Dental (not its code groups).
_BW_CODES = {"D0210", "D0270", "D0272", "D0273", "D0274", "D0277"}
_PANO_CODES = {"D0210", "D0330"}
# RecallTypes.ProphyType / PerioType when the database has no such preference.
_DEFAULT_PROPHY_TYPE, _DEFAULT_PERIO_TYPE = 1, 3


def race_name(hierarchical_codes: Sequence[str]) -> str:
    """PatientRaces.GetPatientRaceOldFromPatientRaces: the old race enum name of CDC hierarchical codes."""

    def has(code: str, *, exact: bool = False) -> bool:
        return any(c == code or (not exact and c.startswith(code + ".")) for c in hierarchical_codes)

    hispanic = has("E1")
    if has("R5"):
        return "HispanicLatino" if hispanic else "White"
    if has("R3"):
        return "BlackHispanic" if hispanic else "AfricanAmerican"
    # R4 exactly is "Aboriginal" (CDC 2076-8, Native Hawaiian or Other Pacific Islander, is R4).
    if has("R4", exact=True):
        return "Aboriginal"
    if has("R1"):
        return "AmericanIndian"
    if has("R2"):
        return "Asian"
    if has("R4"):
        return "HawaiiOrPacIsland"
    if has("R9", exact=True):
        return "Other"
    return "Unknown"


def interval_text(value: int) -> str:
    """Open Dental's Interval.ToString: an int packed as years|months|weeks|days bytes, as `1y6m1d`."""
    days, weeks, months, years = (value >> shift & 0xFF for shift in (0, 8, 16, 24))
    return "".join(
        f"{n}{unit}" for n, unit in ((years, "y"), (months, "m"), (weeks, "w"), (days, "d")) if n > 0
    )


def tooth_number(tooth: str) -> int:
    """Tooth.ToInt: a tooth's number (a primary or supernumerary one as its permanent one), else -1."""
    if not tooth:
        return -1
    if len(tooth) == 1 and "A" <= tooth <= "T":
        offset = ord(tooth) - ord("A")
        return 4 + offset if offset < 10 else 10 + offset
    if tooth.isdigit() and not tooth.startswith("0"):
        number = int(tooth)
        if 51 <= number <= 82:
            return number - 50
        return number
    return -1


def _tooth_and_surface(proc: Procedure, *, with_tooth: bool, canadian: bool) -> str:
    # Procedures.GetToothAndSurfForCodeNum (American tooth numbers).
    if proc.treat_area == _SURF:
        surf = proc.surf
        if canadian:
            # Tooth.SurfTidyFromDbToDisplay: class V is 5 and facial is vestibular in Canada.
            surf = surf.replace("V", "5").replace("F", "V")
        return (f"#{proc.tooth}-" if with_tooth else "") + surf
    if proc.treat_area == _TOOTH:
        return f"#{proc.tooth}-" if with_tooth else ""
    if proc.treat_area in (_QUAD, _ARCH):
        return proc.surf + "-"
    if proc.treat_area == _SEXTANT:
        return f"S{proc.surf}-"
    return ""


def procedure_for_letter(proc: Procedure, *, canadian: bool = False) -> str:
    """Procedures.GetDescriptionForLetter: the layman's term (else the description) and "#30-MO"."""
    text = proc.layman or proc.descript
    where = _tooth_and_surface(proc, with_tooth=True, canadian=canadian).rstrip("-")
    return f"{text} {where}" if where.strip() else text


def procedure_description(proc: Procedure, *, canadian: bool = False) -> str:
    """Procedures.GetDescription: the tooth and surface prefix, a space and the abbreviation
    (a mouth procedure starts with the space)."""
    return _tooth_and_surface(proc, with_tooth=True, canadian=canadian) + " " + proc.abbr


class HistoryTokens:
    """The history tokens' values for one patient, sheet and moment."""

    def __init__(
        self,
        patient: Mapping[str, Any],
        family: Sequence[Mapping[str, Any]],
        history: History,
        preferences: Mapping[str, str],
        now: datetime,
        culture: Culture,
        name_fl: Callable[[Mapping[str, Any]], str],
        apt_num: int = 0,
    ) -> None:
        self.patient, self.family, self.history, self.name_fl = patient, family, history, name_fl
        self.preferences, self.now, self.culture, self.apt_num = preferences, now, culture, apt_num
        self.canadian = culture.name.endswith("CA")

    def _date(self, value: date) -> str:
        return self.culture.short_date(value)

    def _date_time(self, value: datetime, separator: str) -> str:
        return self.culture.short_date(value) + separator + self.culture.short_time(value)

    def values(self) -> dict[str, str]:
        return (
            self._appointments() | self._date_last() | self._treatment_plan() | self._recalls() | self._misc()
        )

    # Appointments ------------------------------------------------------------------------------

    def _patient_appointments(self) -> list[Appointment]:
        # Appointments.GetPatientData: all but a dateless one on the unscheduled list, by AptDateTime.
        pat_num = self.patient["PatNum"]
        return [
            a
            for a in self.history.appointments
            if a.pat_num == pat_num and not (a.when.year < FIRST_REAL_YEAR and a.status == _UNSCHEDULED)
        ]

    def _future_scheduled(self, pat_num: int) -> list[Appointment]:
        # Appointments.GetFutureSchedApts: Scheduled and strictly after now.
        return [
            a
            for a in self.history.appointments
            if a.pat_num == pat_num and a.status == _SCHEDULED and a.when > self.now
        ]

    def _appointments(self) -> dict[str, str]:
        values = dict.fromkeys(
            (
                *("dateLastAppt", "dateTimeLastAppt", "nextSchedApptDate", "nextSchedApptDateT"),
                *("apptsAllFuture", "nextSchedApptsFam", "plannedAppointmentInfo", "apptDateMonthSpelled"),
                *("apptProcs", "apptProvNameFormal"),
            ),
            "",
        )
        mine = self._patient_appointments()
        for apt in mine:
            if apt.status not in (_SCHEDULED, _COMPLETE, _NONE):
                continue
            if apt.when < self.now:
                # Every earlier one is overwritten: the last past one wins, a still "Scheduled"
                # one earlier today included.
                values["dateLastAppt"] = self._date(apt.when)
                values["dateTimeLastAppt"] = self._date_time(apt.when, "  ")
            else:
                # The first at or after now, a future Complete or None one included.
                values["nextSchedApptDate"] = self._date(apt.when)
                values["nextSchedApptDateT"] = self._date_time(apt.when, "  ")
                break
        values["apptsAllFuture"] = "".join(
            f"{self._date_time(a.when, ' ')} : {a.proc_descript}\r\n"
            for a in self._future_scheduled(self.patient["PatNum"])
        ).rstrip()
        family_lines = []
        for member in self.family:
            future = self._future_scheduled(member["PatNum"])
            if future:
                a = future[0]
                family_lines.append(
                    f"{member['FName']}: {self._date_time(a.when, ' ')} : {a.proc_descript}\r\n"
                )
        values["nextSchedApptsFam"] = "".join(family_lines).rstrip()
        values["plannedAppointmentInfo"] = self._planned(mine)
        if self.apt_num > 0:
            chosen = next((a for a in mine if a.apt_num == self.apt_num), None)
            if chosen is not None:
                if chosen.when.year > FIRST_REAL_YEAR:
                    values["apptDateMonthSpelled"] = self.culture.custom(chosen.when, "MMMM dd, yyyy")
                values["apptProcs"] = "\r\n".join(
                    procedure_for_letter(p, canadian=self.canadian)
                    for p in self.history.procedures
                    if p.apt_num == chosen.apt_num
                )
                values["apptProvNameFormal"] = chosen.provider or ""
        return values

    def _planned(self, mine: list[Appointment]) -> str:
        # Appointments.GetOneOrderedByItemOrder: the planned appointment first by ItemOrderPlanned,
        # unless every appointment made from it (NextAptNum) is Complete.
        def open_plan(plan: Appointment) -> bool:
            made = [a for a in self.history.appointments if a.next_apt_num == plan.apt_num]
            return not made or any(a.status != _COMPLETE for a in made)

        plans = sorted(
            (
                a
                for a in self.history.appointments
                if a.pat_num == self.patient["PatNum"] and a.status == _PLANNED
            ),
            key=lambda a: (a.item_order_planned, a.apt_num),
        )
        plan = next((a for a in plans if open_plan(a)), None)
        if plan is None or plan not in mine:
            return ""
        minutes = len(plan.pattern) * 5
        hours, minutes = divmod(minutes, 60)
        # "hours" whatever the number; the text ends with a line break (not trimmed).
        length = (f"{hours} hours, " if hours > 0 else "") + f"{minutes} min"
        return f"Procedures: {plan.proc_descript}\r\nAppt Length: {length}\r\n"

    # Procedures ------------------------------------------------------------------------------

    def _date_last(self) -> dict[str, str]:
        values = dict.fromkeys(DATE_LAST_GROUPS, "")
        groups = self.history.code_groups
        done = [p for p in self.history.procedures if p.status in (_C, _EC, _EO)]
        for name, fixed in DATE_LAST_GROUPS.items():
            group = groups.get(fixed)
            if group is None:
                continue
            dates = [p.date for p in done if p.code in group.codes]
            # Newer than DateTime.MinValue only: a dateless procedure never counts.
            latest = max((d for d in dates if d > date(1, 1, 1)), default=None)
            if latest is not None:
                values[name] = self._date(latest)
        return values

    def _treatment_plan(self) -> dict[str, str]:
        history = self.history
        priorities = [
            (num, d) for (category, num), d in history.definitions.items() if category == TX_PRIORITIES
        ]
        visible = [num for num, d in sorted(priorities, key=lambda x: (x[1].order, x[0])) if not d.hidden]
        by_tooth = self.preferences.get("TreatPlanSortByTooth", "1").strip() not in ("0", "")

        def order(p: Procedure) -> tuple[bool, int, int, date, int]:
            # Procedures.SortListByTreatPlanPriority.
            index = visible.index(p.priority) if p.priority in visible else -1
            tooth = tooth_number(p.tooth) if by_tooth else 0
            return (index == -1, index, tooth, p.date, p.proc_num)

        planned = sorted((p for p in history.procedures if p.status == _TP), key=order)
        lines, with_priority = [], []
        for p in planned:
            line = (
                f"{p.code}, {procedure_description(p, canadian=self.canadian)}, {self.culture.money(p.fee)}"
            )
            # Defs.GetName: a hidden priority still prints its name.
            found = history.definitions.get((TX_PRIORITIES, p.priority))
            priority = found.name if found and found.name else "No priority"
            lines.append(line)
            with_priority.append(f"{priority}, {line}")
        values = {
            "treatmentPlanProcs": "\r\n".join(lines),
            "treatmentPlanProcsPriority": "\r\n".join(with_priority),
            "dateOfLastSavedTP": "",
            "tpResponsPartyNameFL": "",
            "tpResponsPartyAddress": "",
            "tpResponsPartyCityStZip": "",
        }
        plan = history.treat_plan
        if plan is not None:
            values["dateOfLastSavedTP"] = self._date(plan.date)
            r = plan.responsible
            if r is not None:
                values["tpResponsPartyNameFL"] = self.name_fl(r)
                values["tpResponsPartyAddress"] = r["Address"] + (
                    f", {r['Address2']}" if r["Address2"] else ""
                )
                values["tpResponsPartyCityStZip"] = f"{r['City']}, {r['State']}  {r['Zip']}"
        return values

    # Recalls -----------------------------------------------------------------------------------

    def _special_types(self) -> tuple[int, int]:
        def pref(name: str, default: int) -> int:
            value = self.preferences.get(name, "").strip()
            return int(value) if value.isdigit() else default

        return (
            pref("RecallTypeSpecialProphy", _DEFAULT_PROPHY_TYPE),
            pref("RecallTypeSpecialPerio", _DEFAULT_PERIO_TYPE),
        )

    def _prophy_or_perio(self, pat_num: int, *, unscheduled: bool) -> Recall | None:
        # Recalls.GetRecallProphyOrPerio: the patient's first recall of either type (not ChildProphy).
        types = self._special_types()
        return next(
            (
                r
                for r in self.history.recalls
                if r.pat_num == pat_num
                and r.type_num in types
                and (not unscheduled or r.scheduled.year < FIRST_REAL_YEAR)
            ),
            None,
        )

    def _recalls(self) -> dict[str, str]:
        today = self.now.date()
        values = {
            "dueForBWYN": "No",
            "dueForPanoYN": "No",
            "dateRecallDue": "",
            "recallInterval": "",
            "recallScheduledYN": "No",
            "famRecallDue": "",
        }
        guarantor = self.family[0] if self.family else {}
        balance = float(guarantor.get("BalTotal", 0.0)) - float(guarantor.get("InsEst", 0.0))
        for r in self.history.recalls:
            if r.pat_num != self.patient["PatNum"]:
                continue
            # A recall due today counts as due here (famRecallDue leaves it out).
            if r.due > today or r.due.year < FIRST_REAL_YEAR or r.disabled or r.until_date > today:
                continue
            if 0 < r.until_balance < balance:
                continue
            # RecallTypes.GetProcs: split on commas, not trimmed.
            codes = set(r.type_procedures.split(","))
            if codes & _BW_CODES:
                values["dueForBWYN"] = "Yes"
            if codes & _PANO_CODES:
                values["dueForPanoYN"] = "Yes"
        recall = self._prophy_or_perio(self.patient["PatNum"], unscheduled=False)
        if recall is not None and not recall.disabled:
            if recall.due.year > FIRST_REAL_YEAR:
                values["dateRecallDue"] = self._date(recall.due)
            values["recallInterval"] = interval_text(recall.interval)
            if recall.scheduled >= today:
                values["recallScheduledYN"] = "Yes"
        lines = []
        for member in self.family:
            recall = self._prophy_or_perio(member["PatNum"], unscheduled=True)
            # Strictly overdue only: a recall due today is left out.
            if recall is None or recall.disabled or recall.due == date(1, 1, 1) or recall.due >= today:
                continue
            lines.append(f"{member['FName']}, {self._date(recall.due)} {recall.type_description}")
        values["famRecallDue"] = "\r\n".join(lines)
        return values

    # Billing type, site, popups ------------------------------------------------------------

    def _misc(self) -> dict[str, str]:
        history = self.history
        billing = history.definitions.get((BILLING_TYPES, self.patient["BillingType"]))
        popups = [
            p.description
            for p in history.popups
            # Disabled: a DateTimeDisabled set and past (the deprecated IsDisabled is ignored).
            if not (p.disabled_at != NO_DATETIME and p.disabled_at < self.now)
        ]
        return {
            # A hidden billing type still prints its name, without "(hidden)".
            "BillingType": billing.name if billing else "",
            "siteDescription": history.site,
            "famPopups": ", ".join(popups),
        }

"""History tokens filled from Open Dental's own tables, on SQLite, MariaDB and PostgreSQL: appointments,
"date last …" procedures by code group, the treatment plan, recalls, billing type, site and popups.

Each test writes its own Open Dental rows (the fill tables as Open Dental's database has them) and
expects the values Open Dental's SheetFiller prints for them; the create's clock is NOW
(Sunday 2026-11-29 15:24:05).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service.contract.errors import InvalidArgument
from service.filling.create import create_sheet
from service.filling.tokens import BLANK, TOKEN_NAMES
from service.filling.tokens_history import interval_text, tooth_number
from service.storage import db, fill_tables, models
from service.storage.models import SheetDef, SheetFieldDef
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_create import _add_def, _create, _fields, _statements
from tests.filling.test_fill import NOW, PRACTICE

t = fill_tables
NO_DATE = date(1, 1, 1)


@pytest.fixture
async def od(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: fill_tables.METADATA.create_all(sync))
    return engine


async def _insert(engine: AsyncEngine, table: sa.Table, **values: Any) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(sa.insert(table).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


async def _patient(engine: AsyncEngine, guarantor: int = 0, **values: Any) -> int:
    pat_num = await _insert(engine, models.PATIENT, **db.row(models.Patient(LName="Smith", **values)))
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(models.PATIENT)
            .where(models.PATIENT.c.PatNum == pat_num)
            .values(Guarantor=guarantor or pat_num)
        )
    return pat_num


async def _text(engine: AsyncEngine, template: str, pat_num: int) -> str:
    letter = await _add_def(
        engine,
        SheetDef(Description="Letter", SheetType=int(SheetType.PatientLetter)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue=template)],
    )
    (field,) = await _fields(engine, await _create(engine, letter, pat_num))
    return str(field["FieldValue"])


async def _appointment(engine: AsyncEngine, pat_num: int, when: datetime, status: int, **values: Any) -> int:
    row = {"Pattern": "", "ProvNum": 0, "NextAptNum": 0, "ProcDescript": "", "ItemOrderPlanned": 0}
    row |= values
    return await _insert(engine, t.APPOINTMENT, PatNum=pat_num, AptDateTime=when, AptStatus=status, **row)


def test_an_interval_prints_its_nonzero_parts_as_open_dental_does() -> None:
    assert [interval_text(v) for v in (393217, 262144, 16777216, 0, 0x01020304)] == [
        "6m1d",
        "4m",
        "1y",
        "",
        "1y2m3w4d",
    ]


def test_a_tooth_sorts_as_its_permanent_number() -> None:
    assert [tooth_number(x) for x in ("", "3", "A", "J", "K", "T", "51", "82", "AS", "0x")] == [
        -1,
        3,
        4,
        13,
        20,
        29,
        1,
        32,
        -1,
        -1,
    ]


async def test_last_and_next_appointments_follow_open_dentals_statuses_and_clock(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    await _appointment(engine, pat, datetime(2026, 6, 2, 9, 0), 2)  # complete
    await _appointment(engine, pat, datetime(2026, 11, 29, 8, 30), 1)  # scheduled earlier today: "last"
    await _appointment(engine, pat, datetime(2026, 11, 1), 5)  # broken: never counts
    await _appointment(engine, pat, datetime(2026, 12, 1, 10, 0), 6)  # planned: never counts
    await _appointment(engine, pat, datetime(2026, 12, 3, 14, 5), 2, ProcDescript="Pro")  # future complete
    await _appointment(engine, pat, datetime(2027, 1, 5, 9, 0), 1, ProcDescript="Ex, Pro")
    await _appointment(engine, pat, datetime(2027, 2, 7, 13, 15), 1, ProcDescript="Crn")
    text = await _text(
        engine,
        "[dateLastAppt]|[dateTimeLastAppt]|[nextSchedApptDate]|[nextSchedApptDateT]|[apptsAllFuture]",
        pat,
    )
    assert text.split("|") == [
        "11/29/2026",
        "11/29/2026  8:30 AM",
        # A future Complete appointment is "next" too.
        "12/03/2026",
        "12/03/2026  2:05 PM",
        "01/05/2027 9:00 AM : Ex, Pro\r\n02/07/2027 1:15 PM : Crn",
    ]


async def test_without_appointments_the_appointment_tokens_are_blank(od: AsyncEngine) -> None:
    pat = await _patient(od, FName="Ann")
    text = await _text(
        od, "[dateLastAppt]|[nextSchedApptDateT]|[apptsAllFuture]|[plannedAppointmentInfo]", pat
    )
    assert text == "|||"


async def test_the_familys_next_appointments_list_the_guarantor_then_by_birthdate(od: AsyncEngine) -> None:
    engine = od
    guarantor = await _patient(engine, FName="Gus", Birthdate=date(1970, 1, 1))
    young = await _patient(engine, guarantor, FName="Young", Birthdate=date(2015, 5, 5))
    old = await _patient(engine, guarantor, FName="Old", Birthdate=date(1990, 5, 5))
    await _patient(engine, guarantor, FName="None")
    await _appointment(engine, young, datetime(2026, 12, 1, 9, 0), 1, ProcDescript="Sealants")
    await _appointment(engine, old, datetime(2026, 12, 9, 9, 0), 1, ProcDescript="Later")
    await _appointment(engine, old, datetime(2026, 12, 2, 11, 0), 1, ProcDescript="Pro")
    await _appointment(engine, guarantor, datetime(2026, 12, 3, 16, 0), 1, ProcDescript="Crn")
    await _appointment(engine, guarantor, datetime(2026, 12, 1, 16, 0), 5, ProcDescript="Broken")
    assert await _text(engine, "[nextSchedApptsFam]", young) == (
        "Gus: 12/03/2026 4:00 PM : Crn\r\n"
        "Old: 12/02/2026 11:00 AM : Pro\r\n"
        "Young: 12/01/2026 9:00 AM : Sealants"
    )


async def test_planned_appointment_info_skips_a_plan_already_completed(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    done = await _appointment(
        engine, pat, NO_DATE_TIME, 6, ItemOrderPlanned=1, ProcDescript="Done", Pattern="X" * 12
    )
    await _appointment(engine, pat, datetime(2026, 10, 1), 2, NextAptNum=done)
    await _appointment(
        engine, pat, NO_DATE_TIME, 6, ItemOrderPlanned=3, ProcDescript="Later", Pattern="X" * 4
    )
    await _appointment(
        engine, pat, NO_DATE_TIME, 6, ItemOrderPlanned=2, ProcDescript="Crn, Bu", Pattern="X" * 15
    )
    assert await _text(engine, "[plannedAppointmentInfo]", pat) == (
        "Procedures: Crn, Bu\r\nAppt Length: 1 hours, 15 min\r\n"
    )


NO_DATE_TIME = datetime(1, 1, 1)


async def _code(engine: AsyncEngine, code: str, abbr: str = "", **values: Any) -> int:
    row = {"Descript": f"{code} description", "TreatArea": 3, "LaymanTerm": ""} | values
    return await _insert(engine, t.PROCEDURECODE, ProcCode=code, AbbrDesc=abbr or code, **row)


async def _proc(engine: AsyncEngine, pat: int, code: int, when: date, status: int, **values: Any) -> int:
    row = {"AptNum": 0, "ProcFee": 0.0, "Surf": "", "ToothNum": "", "Priority": 0} | values
    return await _insert(
        engine, t.PROCEDURELOG, PatNum=pat, CodeNum=code, ProcDate=when, ProcStatus=status, **row
    )


async def _group(
    engine: AsyncEngine, fixed: int, codes: str, order: int, hidden: int = 0, age: int = 0
) -> None:
    await _insert(
        engine,
        t.CODEGROUP,
        GroupName=f"group {fixed}",
        ProcCodes=codes,
        ItemOrder=order,
        CodeGroupFixed=fixed,
        IsHidden=hidden,
        ShowInAgeLimit=age,
    )


async def test_date_last_tokens_read_the_databases_code_groups(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    bw, exam, pano, pro, perio, custom = [
        await _code(engine, c) for c in ("D0274", "D0120", "D0330", "D1110", "D4910", "X999")
    ]
    # BW: a hidden group is skipped, the next visible one used; its codes are trimmed and matched exactly.
    await _group(engine, 1, "X999", 0, hidden=1)
    await _group(engine, 1, " D0274 , D0272", 1)
    # Exam: hidden but shown in age limits counts as visible.
    await _group(engine, 3, "X999", 0, hidden=1, age=1)
    await _group(engine, 3, "D0120", 1)
    await _group(engine, 2, "D033", 0)  # not a prefix match
    await _group(engine, 5, "D1110", 0)
    await _group(engine, 4, "D4910", 0)
    await _proc(engine, pat, bw, date(2025, 3, 1), 2)
    await _proc(engine, pat, bw, date(2026, 3, 1), 4)  # existing other: counts
    await _proc(engine, pat, bw, date(2026, 9, 1), 1)  # treatment planned: does not
    await _proc(engine, pat, exam, date(2026, 5, 1), 2)
    await _proc(engine, pat, custom, date(2026, 7, 4), 3)  # existing current, in the first Exam group
    await _proc(engine, pat, pano, date(2026, 1, 1), 2)
    await _proc(engine, pat, pro, date(2026, 8, 8), 6)  # deleted: never read
    await _proc(engine, pat, pro, date(2026, 2, 2), 5)  # referred: does not count
    await _proc(engine, pat, perio, date(2026, 4, 4), 2)
    text = await _text(
        engine,
        "[dateLastBW]|[dateLastExam]|[dateLastPanoFMX]|[dateLastProphy]|[dateLastPerio]|[dateLastSrp]",
        pat,
    )
    assert text.split("|") == ["03/01/2026", "07/04/2026", "", "", "04/04/2026", ""]


async def test_the_treatment_plan_lists_tp_procedures_by_priority_then_tooth(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    urgent = await _insert(engine, t.DEFINITION, Category=20, ItemOrder=0, ItemName="Urgent", IsHidden=0)
    soon = await _insert(engine, t.DEFINITION, Category=20, ItemOrder=1, ItemName="Soon", IsHidden=0)
    old = await _insert(engine, t.DEFINITION, Category=20, ItemOrder=2, ItemName="Old", IsHidden=1)
    filling = await _code(engine, "D2392", "C2", TreatArea=1)
    crown = await _code(engine, "D2740", "CrnPorc", TreatArea=2)
    prophy = await _code(engine, "D1110", "Pro", TreatArea=3)
    quad = await _code(engine, "D4341", "SRP", TreatArea=4)
    day = date(2026, 11, 1)
    await _proc(engine, pat, prophy, day, 1, ProcFee=95.0)
    await _proc(engine, pat, crown, day, 1, ProcFee=1200.0, ToothNum="30", Priority=soon)
    await _proc(engine, pat, filling, day, 1, ProcFee=185.0, ToothNum="14", Surf="MO", Priority=urgent)
    await _proc(engine, pat, crown, day, 1, ProcFee=1100.0, ToothNum="3", Priority=soon)
    await _proc(engine, pat, quad, day, 1, ProcFee=250.5, Surf="UR", Priority=old)
    await _proc(engine, pat, crown, day, 2, ProcFee=1.0, ToothNum="4")  # complete: not planned
    await _proc(engine, pat, crown, day, 8, ProcFee=1.0, ToothNum="5")  # TPi: left out
    text = await _text(engine, "[treatmentPlanProcs]~[treatmentPlanProcsPriority]", pat)
    plain, prioritised = text.split("~")
    assert plain.split("\r\n") == [
        "D2392, #14-MO C2, $185.00",
        "D2740, #3- CrnPorc, $1,100.00",
        "D2740, #30- CrnPorc, $1,200.00",
        # No priority (or a hidden one) sorts last; a mouth procedure starts its description with a space.
        "D1110,  Pro, $95.00",
        "D4341, UR- SRP, $250.50",
    ]
    assert [line.split(", ")[0] for line in prioritised.split("\r\n")] == [
        "Urgent",
        "Soon",
        "Soon",
        "No priority",
        "Old",  # a hidden priority still prints its name
    ]


async def test_the_last_saved_treatment_plan_and_its_responsible_party(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    payer = await _patient(
        engine,
        FName="John",
        Preferred="Jack",
        MiddleI="Q",
        Address="1 Oak St",
        Address2="Apt 2",
        City="Salem",
        State="OR",
        Zip="97301",
    )
    for when, status, party in (
        (date(2026, 1, 5), 0, 0),
        (date(2026, 3, 7), 0, 0),
        (date(2026, 9, 9), 1, 0),  # active: not a saved plan
        (date(2026, 10, 10), 2, 0),  # inactive
        (date(2026, 3, 7), 0, payer),  # the same day: the one written last wins
    ):
        await _insert(
            engine, t.TREATPLAN, PatNum=pat, DateTP=when, Heading="", ResponsParty=party, TPStatus=status
        )
    text = await _text(
        engine,
        "[dateOfLastSavedTP]|[tpResponsPartyNameFL]|[tpResponsPartyAddress]|[tpResponsPartyCityStZip]",
        pat,
    )
    assert text == "03/07/2026|John 'Jack' Q Smith|1 Oak St, Apt 2|Salem, OR  97301"


async def _recall(engine: AsyncEngine, pat: int, kind: int, due: date, **values: Any) -> int:
    row = {
        "RecallInterval": 393217,
        "IsDisabled": 0,
        "DisableUntilBalance": 0.0,
        "DisableUntilDate": NO_DATE,
        "DateScheduled": NO_DATE,
    } | values
    return await _insert(engine, t.RECALL, PatNum=pat, RecallTypeNum=kind, DateDue=due, **row)


async def test_recall_tokens_and_the_familys_overdue_recalls(od: AsyncEngine) -> None:
    engine = od
    prophy = await _insert(
        engine, t.RECALLTYPE, Description="Prophy", DefaultInterval=393216, Procedures="D1110"
    )
    bitewings = await _insert(
        engine, t.RECALLTYPE, Description="BWs", DefaultInterval=0, Procedures="D0274,D0330"
    )
    perio = await _insert(engine, t.RECALLTYPE, Description="Perio", DefaultInterval=0, Procedures="D4910")
    await _insert(engine, t.PREFERENCE, PrefName="RecallTypeSpecialProphy", ValueString=str(prophy))
    await _insert(engine, t.PREFERENCE, PrefName="RecallTypeSpecialPerio", ValueString=str(perio))
    guarantor = await _patient(engine, FName="Gus", Birthdate=date(1970, 1, 1))
    kid = await _patient(engine, guarantor, FName="Kid", Birthdate=date(2015, 1, 1))
    today = date(2026, 11, 29)
    await _recall(engine, guarantor, prophy, date(2026, 11, 1), DateScheduled=date(2026, 12, 4))
    await _recall(engine, guarantor, bitewings, today)  # due today: due for BW and pano
    await _recall(engine, kid, perio, date(2026, 10, 2))
    text = await _text(
        engine,
        "[dateRecallDue]|[recallInterval]|[recallScheduledYN]|[dueForBWYN]|[dueForPanoYN]|[famRecallDue]",
        guarantor,
    )
    # The guarantor's scheduled prophy recall is left out of famRecallDue.
    assert text.split("|") == ["11/01/2026", "6m1d", "Yes", "Yes", "Yes", "Kid, 10/02/2026 Perio"]
    assert await _text(engine, "[dateRecallDue]|[recallScheduledYN]|[dueForBWYN]", kid) == "10/02/2026|No|No"


async def test_a_disabled_or_future_recall_is_not_due(od: AsyncEngine) -> None:
    engine = od
    kind = await _insert(engine, t.RECALLTYPE, Description="Prophy", DefaultInterval=0, Procedures="D0274")
    pat = await _patient(engine, FName="Ann", BalTotal=100.0)
    await _recall(engine, pat, kind, date(2026, 11, 1), IsDisabled=1)
    await _recall(engine, pat, kind, date(2026, 12, 1))
    await _recall(engine, pat, kind, date(2026, 11, 2), DisableUntilDate=date(2026, 12, 31))
    await _recall(engine, pat, kind, date(2026, 11, 3), DisableUntilBalance=50.0)
    # The first prophy recall (RecallTypeSpecialProphy defaults to 1) is disabled: no due date.
    assert await _text(engine, "[dueForBWYN]|[dateRecallDue]|[recallInterval]", pat) == "No||"


async def test_billing_type_site_and_the_familys_popups(od: AsyncEngine) -> None:
    engine = od
    billing = await _insert(engine, t.DEFINITION, Category=4, ItemOrder=0, ItemName="Standard", IsHidden=1)
    site = await _insert(engine, t.SITE, Description="Lincoln Elementary")
    pat = await _patient(engine, FName="Ann", BillingType=billing, SiteNum=site, SuperFamily=0)
    sibling = await _patient(engine, pat, FName="Bo")
    cousin = await _patient(engine, FName="Cy", SuperFamily=pat)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(models.PATIENT).where(models.PATIENT.c.PatNum == pat).values(SuperFamily=pat)
        )

    async def popup(pat_num: int, text: str, level: int, **values: Any) -> None:
        row = {"IsArchived": 0, "DateTimeDisabled": NO_DATE_TIME} | values
        await _insert(engine, t.POPUP, PatNum=pat_num, Description=text, PopupLevel=level, **row)

    await popup(pat, "Own", 0)
    await popup(sibling, "Sibling's own", 0)
    await popup(pat, "Family", 1)
    await popup(cousin, "Super family", 2)
    await popup(pat, "Archived", 2, IsArchived=1)
    await popup(pat, "Disabled", 2, DateTimeDisabled=datetime(2026, 11, 1))
    await popup(pat, "Until later", 1, DateTimeDisabled=datetime(2027, 1, 1))
    assert await _text(engine, "[BillingType]|[siteDescription]|[famPopups]", pat) == (
        "Standard|Lincoln Elementary|Super family, Family, Until later, Own, Sibling's own"
    )
    assert await _text(engine, "[BillingType]|[siteDescription]", sibling) == "|"


async def test_a_letter_reads_only_the_groups_its_tokens_need(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    letter = await _add_def(
        engine,
        SheetDef(Description="Recall card", SheetType=int(SheetType.Consent)),
        [SheetFieldDef(FieldType=int(SheetFieldType.StaticText), FieldValue="[dateLastAppt] [famPopups]")],
    )
    await _create(engine, letter, pat)
    with _statements(engine) as statements:
        await _create(engine, letter, pat)
    # Definition and patient, field definitions, appointment, popup; two inserts.
    assert statements == ["SELECT"] * 4 + ["INSERT", "INSERT"]


async def _letter_for_appointment(engine: AsyncEngine, pat_num: int, apt_num: int) -> str:
    letter = await _add_def(
        engine,
        SheetDef(Description="Appointment letter", SheetType=int(SheetType.PatientLetter)),
        [
            SheetFieldDef(
                FieldType=int(SheetFieldType.StaticText),
                FieldValue="[apptDateMonthSpelled]|[apptProcs]|[apptProvNameFormal]",
            )
        ],
    )
    sheet_num = await create_sheet(
        engine,
        sheet_def_num=letter,
        pat_num=pat_num,
        internal_note="",
        practice=PRACTICE,
        now=NOW,
        apt_num=apt_num,
    )
    (field,) = await _fields(engine, sheet_num)
    return str(field["FieldValue"])


async def test_the_requests_appointment_fills_its_date_procedures_and_provider(od: AsyncEngine) -> None:
    engine = od
    pat = await _patient(engine, FName="Ann")
    doctor = await _insert(
        engine, t.PROVIDER, Abbr="D", ItemOrder=0, LName="Doe", FName="Jane", MI="A", Suffix="DDS", IsHidden=0
    )
    apt = await _appointment(engine, pat, datetime(2027, 1, 5, 9, 0), 1, ProvNum=doctor)
    other = await _appointment(engine, pat, datetime(2027, 2, 5, 9, 0), 1, ProvNum=doctor + 100)
    crown = await _code(engine, "D2740", "CrnPorc", TreatArea=2, Descript="Crown", LaymanTerm="Cap")
    filling = await _code(engine, "D2392", "C2", TreatArea=1, Descript="Resin, two surfaces")
    exam = await _code(engine, "D0120", TreatArea=3, Descript="Periodic exam")
    await _proc(engine, pat, crown, date(2027, 1, 5), 1, AptNum=apt, ToothNum="30")
    await _proc(engine, pat, filling, date(2027, 1, 5), 1, AptNum=apt, ToothNum="14", Surf="MO")
    await _proc(engine, pat, exam, date(2027, 1, 5), 1, AptNum=apt)
    await _proc(engine, pat, exam, date(2027, 1, 5), 6, AptNum=apt)  # deleted
    await _proc(engine, pat, exam, date(2027, 2, 5), 1, AptNum=other)
    assert await _letter_for_appointment(engine, pat, apt) == (
        "January 05, 2027|Cap #30\r\nResin, two surfaces #14-MO\r\nPeriodic exam|Jane A. Doe, DDS"
    )
    # A provider that is gone prints nothing.
    assert await _letter_for_appointment(engine, pat, other) == "February 05, 2027|Periodic exam|"
    # Without an appointment the three are blank, as in Open Dental's API.
    assert await _letter_for_appointment(engine, pat, 0) == "||"


async def test_an_appointment_of_another_patient_is_refused_and_nothing_is_written(od: AsyncEngine) -> None:
    engine = od
    pat, stranger = await _patient(engine, FName="Ann"), await _patient(engine, FName="Bo")
    theirs = await _appointment(engine, stranger, datetime(2027, 1, 5, 9, 0), 1)
    for apt_num in (theirs, theirs + 1000):
        with pytest.raises(InvalidArgument, match=r"AptNum is not an appointment of this patient\."):
            await _letter_for_appointment(engine, pat, apt_num)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(models.SHEET))).scalar_one() == 0


async def test_without_open_dentals_tables_every_token_reads_as_no_data(engine: AsyncEngine) -> None:
    # The embedded database has the fill tables (init-db); drop them to see a database without them.
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: fill_tables.METADATA.drop_all(sync, checkfirst=True))
    pat = await _patient(engine, FName="Ann")
    template = "|".join(f"[{name}]" for name in TOKEN_NAMES if name not in NOT_HISTORY)
    values = (await _text(engine, template, pat)).split("|")
    assert set(values) == {"", "No"}


# Tokens with a value without Open Dental's other tables (the patient row, the clock, the practice).
NOT_HISTORY = {
    *("age", "dateToday", "dateTodayLong", "timeNow", "PatNum", "nameF", "nameFL", "nameL", "nameLF"),
    *("namePreferredOrFirst", "salutation", "nameFLFormal", "gender", "cityStateZip", "premedicateYN"),
    *("practiceTitle", "balTotal", "bal_0_30", "bal_31_60", "bal_61_90", "balOver90", "balInsEst"),
    *("balTotalMinusInsEst", "guarantorNameF", "guarantorNameFL", "guarantorNameL", "guarantorNameLF"),
    *("clinicDescription", "clinicAddress", "clinicCityStZip", "clinicPhone", "clinicPatDescription"),
    *("clinicPatAddress", "clinicPatCityStZip", "clinicPatPhone", "clinicCurDescription", "clinicCurAddress"),
    *("clinicCurCityStZip", "clinicCurPhone"),
    *(name for name in TOKEN_NAMES if name.startswith("gender")),
}


def test_only_the_portal_credentials_are_blank_by_construction() -> None:
    assert BLANK == {"patientPortalCredentials": ""}

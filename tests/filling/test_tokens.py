"""Open Dental's StaticText tokens: each known one filled or blank, unknown ones kept."""

from __future__ import annotations

import re
from datetime import date

import pytest

from service.filling import data as d
from service.filling.data import Clinic, Condition, Coverage, FillData, Note, Provider, Referral
from service.filling.filler import needs
from service.filling.tokens import BLANK, TOKEN_NAMES
from service.vocab.enums import SheetType
from tests.filling.test_fill import PRACTICE, SMITH, patient, text
from tests.support import ROOT

GUARANTOR = patient(
    PatNum=40,
    FName="Alice",
    LName="Smith",
    Preferred="Al",
    HmPhone="555-0100",
    WkPhone="555-0101",
    WirelessPhone="555-0102",
    FamFinUrgNote="Pays monthly",
    BalTotal=150.25,
    Bal_0_30=100.0,
    Bal_31_60=50.25,
    InsEst=20.0,
)
DATA = FillData(
    provider=Provider("Jane", "Doe", "DDS", "A"),
    clinic=Clinic("Downtown", "200 Center St", "Floor 2", "Eugene", "OR", "97401", "5415550123"),
    note=Note("Mary Smith", "555-0177", "Takes aspirin", "Needs a ride", "Crown on 3", "Pays by card"),
    family=(GUARANTOR,),
    allergies=(Condition("Penicillin", True), Condition("Latex", False), Condition("Sulfa", True)),
    problems=(Condition("Asthma", True), Condition("Diabetes", False)),
    medications=("Lisinopril", "Lipitor (Atorvastatin)"),
    referred_from=Referral("Greg", "", "House", "MD", False),
    referred_to=(Referral("Lisa", "", "Cuddy", "DDS", True, date(2026, 5, 1)),),
    coverage=(
        Coverage(
            relationship=0,
            subscriber=40,
            subscriber_id="XYZ123",
            subscriber_note="Card on file",
            group_name="Acme Corp",
            group_num="G-77",
            plan_note="Waiting period",
            plan_type="p",
            carrier_name="Delta Dental",
            carrier_address="PO Box 1",
            carrier_city="Sacramento",
            carrier_state="CA",
            carrier_zip="95899",
            employer="Acme",
        ),
        Coverage(
            subscriber=42, carrier_name="MetLife", group_name="Second", group_num="S-1", employer="Self"
        ),
    ),
)


def test_every_token_name_is_one_open_dental_finds_in_brackets() -> None:
    # SheetFiller collects `\[(\w+)\]`: a name with any other character would never be filled.
    assert all(re.fullmatch(r"\w+", name) for name in TOKEN_NAMES)
    assert len(TOKEN_NAMES) == len(set(TOKEN_NAMES))
    assert set(BLANK) <= set(TOKEN_NAMES)


@pytest.mark.parametrize("name", TOKEN_NAMES)
def test_every_known_token_is_replaced_even_without_any_data(name: str) -> None:
    assert text(f"<[{name}]>") != f"<[{name}]>"
    assert "[" not in text(f"[{name}]", **SMITH)


def _readme_token_rows() -> list[tuple[list[str], str]]:
    """The README's token table: (tokens, what fills them) per row."""
    _, _, rest = (ROOT / "README.md").read_text().partition("<!-- token-table -->\n")
    table, _, _ = rest.partition("<!-- /token-table -->")
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", table, re.MULTILINE)
    return [(tokens.split(), value) for tokens, value in rows]


def test_the_tokens_never_filled_are_those_the_readme_says_are_always_blank() -> None:
    always_blank = {
        name for tokens, value in _readme_token_rows() if value.startswith("blank, always") for name in tokens
    }

    assert always_blank, "the README's token table has no row that is always blank"
    assert set(BLANK) == always_blank
    # Even when every table the service reads has data for the patient.
    assert {name: text(f"[{name}]", data=DATA, **SMITH) for name in always_blank} == dict.fromkeys(
        always_blank, ""
    )


def test_patient_portal_credentials_are_never_filled() -> None:
    assert text("[patientPortalCredentials]", data=DATA, **SMITH) == ""


def test_yes_no_tokens_without_data_say_no() -> None:
    assert text("[dueForBWYN]|[dueForPanoYN]|[recallScheduledYN]|[premedicateYN]") == "No|No|No|No"


@pytest.mark.parametrize(
    ("gender", "expected"),
    [
        (0, "He he Him him Himself himself His his His his"),
        (1, "She she Her her Herself herself Her her Hers hers"),
        (
            2,
            "The patient the patient The patient the patient The patient the patient "
            "The patient's the patient's The patient's the patient's",
        ),
        (3, "         "),
    ],
)
def test_pronouns_follow_the_gender(gender: int, expected: str) -> None:
    template = " ".join(
        f"[gender{stem}] [gender{stem.lower()}]"
        for stem in ("HeShe", "HimHer", "HimselfHerself", "HisHer", "HisHers")
    )
    assert text(template, Gender=gender) == expected


def test_provider_clinic_and_notes_come_from_their_tables() -> None:
    assert text("[priProvNameFormal]", data=DATA) == "Jane A. Doe, DDS"
    assert text("[clinicDescription]|[clinicAddress]|[clinicCityStZip]|[clinicPhone]", data=DATA) == (
        "Downtown|200 Center St, Floor 2|Eugene, OR  97401|(541)555-0123"
    )
    assert text("[clinicPatDescription]|[clinicCurDescription]", data=DATA) == "Downtown|Springfield Dental"
    assert text("[medicalSummary]|[serviceNote]|[treatmentNote]|[famFinNote]", data=DATA) == (
        "Takes aspirin|Needs a ride|Crown on 3|Pays by card"
    )


def test_without_a_provider_or_clinic_row_the_provider_is_blank_and_the_clinic_is_the_practice() -> None:
    assert text("[priProvNameFormal]") == ""
    assert text("[clinicDescription]|[clinicCityStZip]") == f"{PRACTICE.title}|Springfield, OR  97477"


def test_active_allergies_and_problems_and_current_medications_are_listed() -> None:
    assert text("[activeAllergies]|[activeProblems]|[currentMedications]", data=DATA) == (
        "Penicillin, Sulfa|Asthma|Lisinopril, Lipitor (Atorvastatin)"
    )


def test_guarantor_and_family_balance_tokens_come_from_the_guarantor() -> None:
    template = "[guarantorNameF]|[guarantorNameFL]|[guarantorNameLF]|[guarantorNamePref]|[guarantorHmPhone]"
    assert text(template, data=DATA) == "Alice|Alice 'Al' Smith|Smith, 'Al' Alice|Al|555-0100"
    assert text(
        "[famFinUrgNote]|[balTotal]|[bal_0_30]|[bal_31_60]|[balInsEst]|[balTotalMinusInsEst]", data=DATA
    ) == ("Pays monthly|$150.25|$100.00|$50.25|$20.00|$130.25")


def test_referral_tokens() -> None:
    assert text("[referredFrom]", data=DATA) == "Greg House"
    assert text("[referredTo]", data=DATA) == "Lisa Cuddy DDS :  05/01/2026"


def test_insurance_tokens_come_from_the_primary_and_secondary_plans() -> None:
    template = "[carrierName]|[carrierAddress]|[carrierCityStZip]|[insPlanGroupName]|[insPlanGroupNumber]"
    assert text(template, data=DATA) == "Delta Dental|PO Box 1|Sacramento, CA  95899|Acme Corp|G-77"
    assert text("[insEmployer]|[insType]|[insPlanNote]|[insSubNote]|[subscriberID]", data=DATA) == (
        "Acme|PPO Percentage|Waiting period|Card on file|XYZ123"
    )
    assert text("[subscriberNameFL]|[subscriber2NameFL]", data=DATA, **SMITH) == (
        "Alice 'Al' Smith|Robert 'Bob' J Smith"
    )
    assert text("[carrier2Name]|[ins2PlanGroupName]|[ins2PlanGroupNumber]|[ins2Employer]", data=DATA) == (
        "MetLife|Second|S-1|Self"
    )
    assert text("[carrierName][insType][subscriberID]") == ""


def test_a_sheet_reads_only_the_tables_its_type_and_tokens_need() -> None:
    assert needs(SheetType.Consent, ["[nameFL] on [dateToday]"]) == set()
    assert needs(SheetType.Consent, ["[activeAllergies]", "[balTotal]"]) == {d.ALLERGIES, d.FAMILY}
    assert needs(SheetType.PatientLetter, []) == {d.PREFERENCES, d.PROVIDER}
    assert needs(SheetType.MedicalHistory, []) == {d.NOTE, d.ALLERGIES, d.PROBLEMS, d.MEDICATIONS}
    assert needs(SheetType.Consent, ["[clinicPhone]"]) == {d.CLINIC, d.PREFERENCES}

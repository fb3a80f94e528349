"""What each creatable type fills from Open Dental's other tables, without a database."""

from __future__ import annotations

from typing import Any

from service.filling.data import Condition, Coverage, FillData, Note, Provider, Referral
from service.filling.filler import Practice
from service.vocab.enums import SheetFieldType, SheetType
from tests.filling.test_fill import PRACTICE, SMITH, filler, patient

MED = SheetType.MedicalHistory
FORM = SheetType.PatientForm
MEDICAL = FillData(
    note=Note(ice_name="Mary Smith", ice_phone="555-0177"),
    allergies=(Condition("Penicillin", True), Condition("Latex", False), Condition("Penicillin", False)),
    problems=(Condition("Asthma", True), Condition("Diabetes", False)),
    medications=("Lisinopril", "Lipitor (Atorvastatin)", "Fish oil"),
)


def field(
    kind: SheetFieldType, name: str, value: str = "", radio: str = "", required: bool = False
) -> dict[str, Any]:
    return {
        "FieldType": int(kind),
        "FieldName": name,
        "FieldValue": value,
        "RadioButtonValue": radio,
        "IsRequired": required,
    }


def check(name: str, radio: str) -> dict[str, Any]:
    return field(SheetFieldType.CheckBox, name, radio=radio)


def test_allergy_boxes_check_y_for_an_active_allergy_and_n_for_an_inactive_one() -> None:
    fields = [check(f"allergy:{n}", yn) for n in ("Penicillin", "Latex", "Codeine") for yn in ("Y", "N")]
    filler(sheet_type=MED, data=MEDICAL).fill(fields)
    # The first Penicillin (active) decides; Codeine is not the patient's: both boxes stay as defined.
    assert [f["FieldValue"] for f in fields] == ["X", "", "", "X", "", ""]


def test_problem_boxes_check_y_when_active_and_n_otherwise() -> None:
    fields = [check(f"problem:{n}", yn) for n in ("Asthma", "Diabetes", "Cancer") for yn in ("Y", "N")]
    filler(sheet_type=MED, data=MEDICAL).fill(fields)
    assert [f["FieldValue"] for f in fields] == ["X", "", "", "X", "", ""]


def test_allergy_and_problem_boxes_are_filled_on_a_medical_history_only() -> None:
    fields = [check("allergy:Penicillin", "Y"), check("problem:Asthma", "Y")]
    filler(sheet_type=FORM, data=MEDICAL).fill(fields)
    assert [f["FieldValue"] for f in fields] == ["", ""]


def test_medications_fill_input_med_fields_required_first_then_by_number_and_become_output_text() -> None:
    fields = [
        field(SheetFieldType.InputField, "inputMed10"),
        field(SheetFieldType.InputField, "inputMed2"),
        field(SheetFieldType.InputField, "inputMed1"),
        field(SheetFieldType.InputField, "inputMed3", required=True),
        field(SheetFieldType.InputField, "misc"),
    ]
    filler(sheet_type=MED, data=MEDICAL).fill(fields)
    by_name = {f["FieldName"]: (f["FieldType"], f["FieldValue"]) for f in fields}
    output, text_input = int(SheetFieldType.OutputText), int(SheetFieldType.InputField)
    assert by_name == {
        "inputMed3": (output, "Lisinopril"),
        "inputMed1": (output, "Lipitor (Atorvastatin)"),
        "inputMed2": (output, "Fish oil"),
        "inputMed10": (text_input, ""),
        "misc": (text_input, ""),
    }


def test_surplus_medications_are_dropped_and_without_medications_fields_stay_as_defined() -> None:
    fields = [field(SheetFieldType.InputField, "inputMed1", "as defined")]
    filler(sheet_type=MED, data=MEDICAL).fill(fields)
    assert fields[0]["FieldValue"] == "Lisinopril"
    empty = [field(SheetFieldType.InputField, "inputMed1", "as defined")]
    filler(sheet_type=MED).fill(empty)
    assert (empty[0]["FieldType"], empty[0]["FieldValue"]) == (int(SheetFieldType.InputField), "as defined")


def test_a_medical_history_fills_names_and_the_emergency_contact() -> None:
    fill = filler(sheet_type=MED, data=MEDICAL, **SMITH)
    values = {
        n: fill.value(SheetFieldType.InputField, n, "as defined", "") for n in ("FName", "LName", "Birthdate")
    }
    assert values == {"FName": "Robert", "LName": "Smith", "Birthdate": "11/02/1961"}
    assert fill.value(SheetFieldType.InputField, "ICEName", "", "") == "Mary Smith"
    assert fill.value(SheetFieldType.InputField, "ICEPhone", "", "") == "555-0177"
    assert fill.value(SheetFieldType.InputField, "Email", "as defined", "") == "as defined"


def test_a_letter_and_an_exam_sheet_name_the_primary_provider() -> None:
    data = FillData(provider=Provider("Jane", "Doe", "DDS"))
    for sheet_type in (SheetType.PatientLetter, SheetType.ExamSheet):
        fill = filler(sheet_type=sheet_type, data=data)
        assert fill.value(SheetFieldType.OutputText, "patient.priProvNameFL", "", "") == "Jane Doe, DDS"
    no_suffix = filler(sheet_type=SheetType.PatientLetter, data=FillData(provider=Provider("Jane", "Doe")))
    assert no_suffix.value(SheetFieldType.OutputText, "patient.priProvNameFL", "", "") == "Jane Doe"
    assert (
        filler(sheet_type=SheetType.PatientLetter).value(
            SheetFieldType.OutputText, "patient.priProvNameFL", "x", ""
        )
        == ""
    )


def test_the_practice_from_open_dentals_preferences_wins_over_the_settings() -> None:
    preferences = {"PracticeTitle": "Real Dental", "PracticeCity": "Salem", "PracticeDefaultProv": "3"}
    assert PRACTICE.with_preferences(preferences) == Practice("Real Dental", "", "", "Salem", "", "", "")
    assert PRACTICE.with_preferences({}) is PRACTICE


FAMILY_MEMBER = patient(
    PatNum=43, Guarantor=40, FName="Ann", HmPhone="(541) 555-0142", Address="400 Oak Avenue"
)
FORM_DATA = FillData(
    note=Note(ice_name="Mary Smith", ice_phone="555-0177"),
    referred_from=Referral("Greg", "M", "House", "MD", True),
    coverage=(
        Coverage(
            relationship=1,
            subscriber=43,
            subscriber_id="XYZ123",
            group_name="Acme Corp",
            group_num="G-77",
            carrier_name="Delta Dental",
            carrier_phone="800-555-0100",
            employer="Acme",
        ),
    ),
    family=(FAMILY_MEMBER,),
)


def test_a_patient_form_fills_insurance_referral_and_ice() -> None:
    fill = filler(sheet_type=FORM, data=FORM_DATA, **SMITH)
    names = {
        "ins1CarrierName": "Delta Dental",
        "ins1CarrierPhone": "800-555-0100",
        "ins1EmployerName": "Acme",
        "ins1GroupName": "Acme Corp",
        "ins1GroupNum": "G-77",
        "ins1SubscriberID": "XYZ123",
        "ins1SubscriberNameF": "Ann",
        "ins2CarrierName": "as defined",
        "referredFrom": "Greg M House",
        "ICEName": "Mary Smith",
        "wirelessCarrier": "",
    }
    assert {n: fill.value(SheetFieldType.InputField, n, "as defined", "") for n in names} == names
    assert fill.value(SheetFieldType.CheckBox, "ins1Relat", "", "Spouse") == "X"
    assert fill.value(SheetFieldType.CheckBox, "ins1Relat", "", "Self") == ""
    assert fill.value(SheetFieldType.CheckBox, "ins2Relat", "", "Self") == ""


def test_the_family_box_is_checked_when_everyone_shares_address_and_home_phone() -> None:
    same = {k: SMITH[k] for k in ("HmPhone", "Address", "Address2", "City", "State", "Zip")}
    together = FillData(family=(patient(PatNum=43, **same),))
    apart = FillData(family=(patient(PatNum=43, **(same | {"Zip": "97401"})),))
    name = "addressAndHmPhoneIsSameEntireFamily"
    assert filler(sheet_type=FORM, data=together, **SMITH).value(SheetFieldType.CheckBox, name, "", "") == "X"
    assert filler(sheet_type=FORM, data=apart, **SMITH).value(SheetFieldType.CheckBox, name, "", "") == ""

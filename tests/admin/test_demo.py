"""The demo data: patients that exercise names and languages, one definition per creatable type."""

from __future__ import annotations

from service.admin.demo import builtin_sheetdefs, demo_patients
from service.vocab.enums import CREATABLE_SHEET_TYPES, SheetFieldType


def test_builtin_definitions_cover_every_creatable_type() -> None:
    assert sorted(d.SheetType for d, _ in builtin_sheetdefs()) == sorted(CREATABLE_SHEET_TYPES)


def test_builtin_fields_lie_on_the_page() -> None:
    for sheet_def, fields in builtin_sheetdefs():
        assert fields, sheet_def.Description
        for f in fields:
            assert min(f.XPos, f.YPos) >= 0, (sheet_def.Description, f)
            assert f.XPos + f.Width <= sheet_def.Width, (sheet_def.Description, f)
            assert f.YPos + f.Height <= sheet_def.Height, (sheet_def.Description, f)


def test_demo_patients_include_accents_non_latin_language_and_titles() -> None:
    patients = demo_patients()
    assert any("ö" in p.LName or "ë" in p.FName for p in patients)
    assert any(all(ord(c) > 0x2E80 for c in p.LName) for p in patients)
    assert any(p.Language for p in patients)
    assert any(p.Preferred and p.MiddleI and p.Title for p in patients)


def test_consent_has_a_translation_for_the_spanish_speaking_patient() -> None:
    consent = next(fields for d, fields in builtin_sheetdefs() if d.Description == "Demo Consent")
    languages = {f.Language for f in consent if f.FieldType == SheetFieldType.StaticText}
    assert languages == {"", "spa"}
    assert "spa" in {p.Language for p in demo_patients()}

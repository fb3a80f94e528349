"""Open Dental's documented examples (apisheets.html), as their page prints them."""

from __future__ import annotations

# The example response of GET /sheets?PatNum=123.
OPEN_DENTAL_SHEETS_EXAMPLE = """[
 {
  "SheetNum": 45,
  "SheetType": "PatientLetter",
  "PatNum": 123,
  "DateTimeSheet": "2021-11-16 02:45:38",
  "InternalNote": "",
  "Description": "Custom Patient Letter",
  "IsWebForm": "false",
  "SheetDefNum": 25,
  "DocNum": 0,
  "ClinicNum": 0,
  "DateTSheetEdited": "2022-01-23 08:33:02"
 },
 {
  "SheetNum": 47,
  "SheetType": "MedicalHistory",
  "PatNum": 123,
  "DateTimeSheet": "2021-11-16 12:21:03",
  "InternalNote": "",
  "Description": "Medical History Simple",
  "IsWebForm": "false",
  "SheetDefNum": 24,
  "DocNum": 0,
  "ClinicNum": 0,
  "DateTSheetEdited": "2022-11-23 04:20:12"
 },
 {
  "SheetNum": 50,
  "SheetType": "ExamSheet",
  "PatNum": 123,
  "DateTimeSheet": "2022-03-07 10:25:00",
  "InternalNote": "",
  "Description": "Exam",
  "IsWebForm": "false",
  "SheetDefNum": 20,
  "DocNum": 0,
  "ClinicNum": 0,
  "DateTSheetEdited": "2022-03-07 10:25:22"
 }
]"""

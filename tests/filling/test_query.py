"""A fill read selects the columns the database has; one an older Open Dental lacks reads as the
value Open Dental gives a fresh row."""

from __future__ import annotations

from datetime import date

from service.filling.query import columns
from service.storage import Schema, fill_tables


def test_a_column_the_database_lacks_reads_as_the_value_of_a_fresh_row() -> None:
    table = fill_tables.MEDICATIONPAT
    schema = Schema({table.name: [{"name": "MedicationPatNum"}, {"name": "PatNum"}]})

    read = columns(schema, table, "PatNum", "DateStart", "MedDescript", "MedicationNum")

    assert read[0] is table.c.PatNum
    assert [(c.name, c.element.value) for c in read[1:]] == [
        ("DateStart", date(1, 1, 1)),
        ("MedDescript", ""),
        ("MedicationNum", 0),
    ]

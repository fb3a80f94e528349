"""The code explains itself: no references to a document outside the repository, no measurements
(they go stale; `make bench` writes them to docs/benchmarks.json)."""

from __future__ import annotations

import re

from tests.support import ROOT

PACKAGES = ("service", "gateway", "sheets", "telemetry")
MEASUREMENT = re.compile(r"\b\d+(\.\d+)? ?(us|µs|ms)\b|~\d|\b\d+x (slower|faster)\b")


def _lines() -> list[tuple[str, int, str]]:
    return [
        (str(path.relative_to(ROOT)), number, line)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
    ]


def test_no_code_refers_to_sections_of_a_spec() -> None:
    assert [(path, n) for path, n, line in _lines() if "SPEC §" in line] == []


def test_no_code_quotes_a_measurement() -> None:
    assert [(path, n, line) for path, n, line in _lines() if MEASUREMENT.search(line)] == []


def test_a_measurement_is_recognised() -> None:
    assert MEASUREMENT.search("(a 20-row ListSheets: ~210 us a call)")
    assert MEASUREMENT.search("about 1 ms instead of 4")
    assert not MEASUREMENT.search("SQLITE_BUSY_TIMEOUT_MS = 5000")

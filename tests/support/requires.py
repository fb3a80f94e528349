"""What a test needs from outside the repository, and what happens where it is missing.

A fresh clone has none of it: such a test skips, saying what is missing. CI sets
`SHEETS_TEST_REQUIRE_SERVICES`, and then a missing piece fails the test instead.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest

from tests.support import ROOT

REQUIRE_ENV = "SHEETS_TEST_REQUIRE_SERVICES"
# Open Dental's API page, schema documentation and sheet definitions, beside the repository (never copied in).
OPEN_DENTAL = ROOT.parent / "shared" / "opendental"
SHEETDEFS = OPEN_DENTAL / "sheetdefs"
SHEETDEF_FILES = sorted(SHEETDEFS.glob("*.xml"))
# The marker of a test that reads OPEN_DENTAL.
open_dental_files = pytest.mark.open_dental_files


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it where CI makes everything mandatory."""
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason}, and {REQUIRE_ENV} makes it mandatory")
    pytest.skip(reason)


# Set by .ci/run when it finds no ../shared beside the clone: Open Dental's files are test data a checkout
# may lack, not a service CI installs, so their tests skip (saying so) rather than fail there.
SHARED_OPTIONAL_ENV = "SHEETS_TEST_OPEN_DENTAL_OPTIONAL"


def require_open_dental_files() -> None:
    if not SHEETDEFS.is_dir():
        reason = f"{OPEN_DENTAL} is absent: no Open Dental schema or sheet definitions beside the clone"
        if os.environ.get(SHARED_OPTIONAL_ENV):
            pytest.skip(reason)
        unavailable(reason)


def sheetdef_params() -> list[Any]:
    """Each sheet definition file as a test parameter; where absent, a placeholder the marker skips."""
    if SHEETDEF_FILES:
        return [pytest.param(path, id=path.stem) for path in SHEETDEF_FILES]
    return [pytest.param(SHEETDEFS / "absent.xml", id="absent")]

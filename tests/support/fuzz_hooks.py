"""Schemathesis hooks for tests/system/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

One check replaces schemathesis' `positive_data_acceptance`: a request the
OpenAPI document calls valid must not be refused, except by the business rules
(a SheetDef type that cannot be created; an AptNum that is not one of the
patient's appointments; a field that cannot be updated, or not to that value,
or, among the values given on create, that the definition does not have under
that name), by the SFTP peer an export names (the fuzzer's addresses are
refused by the allowlist or by no server listening), by a subscription's rules
(an endpoint URL events may go to, the one table watched, the polling range, a
stop after the start, the subscriptions a key may have) and by the calendar (a
date-time such as 0000-00-00 fits the pattern, not a calendar).
"""

from __future__ import annotations

from typing import Any

import schemathesis

BUSINESS_RULES = (
    "is not supported. Only ",
    "Only OutputText, InputField and CheckBox fields can be updated.",
    'FieldValue of a CheckBox must be "X" or blank.',
    "SheetFields '",
    "AptNum is not an appointment of this patient.",
    "EndPointUrl is invalid",
    "EndPointUrl host ",
    'WatchTable is invalid. The service watches "Sheet" only.',
    "PollingSeconds is invalid. It must be from 1 to ",
    "UiEventType is invalid: the service sends database events only",
    "DateTimeStop is invalid: it is before DateTimeStart.",
    "subscriptions, the most allowed.",
    'must be a date and time as "yyyy-MM-dd HH:mm:ss".',
)
REFUSED_STATUSES = frozenset((400, 413, 422))
PEER_DEPENDENT = frozenset(("ExportSheetSftp",))


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:200]
    return body if isinstance(body, str) else repr(body)[:200]


@schemathesis.check
def valid_requests_refused_only_by_business_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in REFUSED_STATUSES:
        return None
    if case.operation.definition.raw.get("operationId") in PEER_DEPENDENT:
        return None
    message = _message(response)
    if any(rule in message for rule in BUSINESS_RULES):
        return None
    raise AssertionError(f"A schema-valid request was refused with {response.status_code}: {message}")

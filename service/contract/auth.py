"""The API keys (`SHEETS_API_KEYS`) and one auth check for both surfaces:
`ODFHIR DeveloperKey/CustomerKey`. The one place that header is read."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from service.contract.descriptors import is_header_text
from service.contract.errors import PermissionDenied, Unauthenticated

SCHEME = "ODFHIR"
MISSING = f"Authorization header is missing. Use: {SCHEME} DeveloperKey/CustomerKey."
INVALID = f"Invalid Authorization header. Use: {SCHEME} DeveloperKey/CustomerKey."


def header_value(developer_key: str, customer_key: str) -> str:
    """The Authorization value of a key pair."""
    return f"{SCHEME} {developer_key}/{customer_key}"


def refuse_unreadable(authorization: str | None) -> None:
    """Raise Unauthenticated for a value that cannot be a header's text (given at all)."""
    if authorization is not None and not is_header_text(authorization):
        raise Unauthenticated(INVALID)


def customer_key(authorization: str | None) -> str:
    """The customer key of an `ODFHIR Dev/Cust` value ('' when none): what Open Dental throttles by."""
    if not authorization:
        return ""
    _, _, pair = authorization.strip().partition(" ")
    return pair.partition("/")[2]


class Permission(StrEnum):
    READ = "read"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One `DeveloperKey/CustomerKey` pair and what it may do."""

    developer_key: str
    customer_key: str
    permission: Permission

    @property
    def header_value(self) -> str:
        return header_value(self.developer_key, self.customer_key)


def parse_api_keys(text: str) -> tuple[ApiKey, ...]:
    """Parse `Dev/Cust[=read|=all],…`; raises ValueError without echoing a key."""
    keys = []
    for n, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        pair, _, perm = item.partition("=")
        developer, sep, customer = pair.partition("/")
        if not sep or not developer.strip() or not customer.strip() or "/" in customer:
            raise ValueError(f"SHEETS_API_KEYS entry {n} is not DeveloperKey/CustomerKey[=read|=all].")
        try:
            permission = Permission(perm.strip().lower() or "all")
        except ValueError:
            raise ValueError(f"SHEETS_API_KEYS entry {n} has a permission other than read or all.") from None
        keys.append(ApiKey(developer.strip(), customer.strip(), permission))
    return tuple(keys)


class Authenticator:
    """Checks an Authorization value against the configured keys.

    With no keys, auth is off (the settings refuse that on non-loopback
    listeners). Every key is compared, in constant time, so the time taken says
    nothing about which key or how much of it matched.
    """

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = [(key.header_value.encode(), key.permission) for key in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None, *, write: bool) -> None:
        """Raise Unauthenticated (no or wrong key) or PermissionDenied (read key, write call)."""
        if not self._keys:
            return
        if not authorization:
            raise Unauthenticated(MISSING)
        refuse_unreadable(authorization)
        given = authorization.strip().encode()
        permission: Permission | None = None
        for expected, key_permission in self._keys:
            if hmac.compare_digest(given, expected):
                permission = key_permission
        if permission is None:
            raise Unauthenticated(INVALID)
        if write and permission is not Permission.ALL:
            raise PermissionDenied("This API key has read-only permission and cannot make changes.")

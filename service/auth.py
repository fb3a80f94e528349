"""One auth check for both surfaces: `ODFHIR DeveloperKey/CustomerKey`."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from service.contract import is_header_text
from service.errors import PermissionDenied, Unauthenticated
from service.settings import ApiKey, Permission


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
            raise Unauthenticated("Authorization header is missing. Use: ODFHIR DeveloperKey/CustomerKey.")
        if not is_header_text(authorization):
            raise Unauthenticated("Invalid Authorization header. Use: ODFHIR DeveloperKey/CustomerKey.")
        given = authorization.strip().encode()
        permission: Permission | None = None
        for expected, key_permission in self._keys:
            if hmac.compare_digest(given, expected):
                permission = key_permission
        if permission is None:
            raise Unauthenticated("Invalid Authorization header. Use: ODFHIR DeveloperKey/CustomerKey.")
        if write and permission is not Permission.ALL:
            raise PermissionDenied("This API key has read-only permission and cannot make changes.")

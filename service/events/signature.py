"""What each event call carries beyond Open Dental's headers: an id a receiver can
deduplicate by, and an HMAC-SHA256 of the body keyed by the subscription's secret."""

from __future__ import annotations

import hashlib
import hmac

EVENT_ID_HEADER = "Sheets-Event-Id"
SIGNATURE_HEADER = "Sheets-Signature"


def event_id(subscription_num: int, body: bytes) -> str:
    """The same call repeated (after a failure, or by the replica that took over) has the same id."""
    digest = hashlib.sha256(b"%d:" % subscription_num + body).hexdigest()
    return digest[:32]


def sign(secret: str, body: bytes) -> str:
    """The `Sheets-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does (the README shows it): compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)

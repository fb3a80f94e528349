"""What a log line knows about the request it belongs to.

The request id and the keys a request names (PatNum, SheetNum) are bound in
structlog's contextvars by each edge when a request starts, so every line
logged while it runs carries them, whichever logger wrote it.
"""

from __future__ import annotations

import re
import uuid
from functools import cache
from typing import Any

import structlog
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

REQUEST_ID_HEADER = "x-request-id"
# What a caller's id may look like: it is echoed into headers and log lines.
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_KEY_FIELDS = {"pat_num": "PatNum", "sheet_num": "SheetNum"}
_MAX_DEVELOPER_KEY = 64


def request_id(given: str | bytes | None) -> str:
    """The caller's id when it is a sane one, else a new one."""
    if isinstance(given, bytes):
        given = given.decode("ascii", "replace")
    if given and _VALID_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def developer_key(authorization: str | bytes | None) -> str | None:
    """The developer half of `ODFHIR Developer/Customer`; never the customer key.

    Only a well-formed value gives one: anything else might be a secret typed
    in the wrong place.
    """
    if isinstance(authorization, bytes):
        authorization = authorization.decode("ascii", "replace")
    if not authorization:
        return None
    scheme, _, pair = authorization.strip().partition(" ")
    developer, sep, customer = pair.strip().partition("/")
    if scheme != "ODFHIR" or not sep or not developer or not customer or len(developer) > _MAX_DEVELOPER_KEY:
        return None
    return developer if developer.isascii() and developer.isprintable() else None


def start_request(request_id_value: str, **fields: Any) -> None:
    """Bind a new request's fields, dropping whatever an earlier request on this task left."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        request_id=request_id_value, **{k: v for k, v in fields.items() if v is not None}
    )


def end_request() -> None:
    structlog.contextvars.clear_contextvars()


def note_keys(**fields: Any) -> None:
    """Add keys the request names (PatNum=…, SheetNum=…) to its log lines."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v})


@cache
def _key_fields(descriptor: Descriptor) -> tuple[tuple[str, str], ...]:
    return tuple((field, key) for field, key in _KEY_FIELDS.items() if field in descriptor.fields_by_name)


def note_message(message: Message) -> None:
    """Note the PatNum / SheetNum a request message names."""
    named = {}
    for field, key in _key_fields(message.DESCRIPTOR):
        value = getattr(message, field)
        if isinstance(value, int) and value > 0:
            named[key] = value
    if named:
        note_keys(**named)

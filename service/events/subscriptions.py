"""Open Dental's Subscriptions methods for the `sheet` table, each caller seeing
and changing only the subscriptions of its own customer key."""

from __future__ import annotations

import ipaddress
import secrets
import unicodedata
import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.type import datetime_pb2

from opendental.sheets.v1 import resources_pb2
from opendental.sheets.v1 import sheet_service_pb2 as pb
from service.contract import InvalidArgument
from service.events.store import EventStore, as_datetime
from service.storage import NO_DATETIME, now_seconds

WATCH_TABLE = "Sheet"
MAX_POLLING_SECONDS = 86_400
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback_host(host: str) -> bool:
    if host.lower().rstrip(".") in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, *, allowed_hosts: Sequence[str] = (), allow_http: bool = False) -> str:
    """The endpoint events may be sent to, or InvalidArgument saying why not."""
    invalid = "EndPointUrl is invalid"
    if any(unicodedata.category(char).startswith(("C", "Z")) for char in url):
        raise InvalidArgument(f"{invalid}: it contains spaces or control characters.", field="EndPointUrl")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise InvalidArgument(f"{invalid}: it is not a URL.", field="EndPointUrl") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidArgument(f"{invalid}: it must start with https:// or http://.", field="EndPointUrl")
    host = parts.hostname
    if not host:
        raise InvalidArgument(f"{invalid}: it names no host.", field="EndPointUrl")
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(f"{invalid}: it must not carry a user name or password.", field="EndPointUrl")
    if scheme == "http" and not allow_http and not is_loopback_host(host):
        raise InvalidArgument(
            f"{invalid}: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https.",
            field="EndPointUrl",
        )
    if allowed_hosts and host.lower() not in {h.lower() for h in allowed_hosts}:
        raise InvalidArgument(
            f"EndPointUrl host {host} is not allowed: "
            "it is not among the hosts this service may send events to.",
            field="EndPointUrl",
        )
    return url


def _datetime(value: datetime_pb2.DateTime, name: str) -> datetime:
    try:
        return datetime(value.year, value.month, value.day, value.hours, value.minutes, value.seconds)
    except ValueError:
        raise InvalidArgument(f"{name} is invalid.", field=name) from None


def _proto_datetime(value: Any) -> datetime_pb2.DateTime:
    when = as_datetime(value)
    return datetime_pb2.DateTime(
        year=when.year,
        month=when.month,
        day=when.day,
        hours=when.hour,
        minutes=when.minute,
        seconds=when.second,
    )


def _polling_seconds(value: int) -> int:
    if not 1 <= value <= MAX_POLLING_SECONDS:
        raise InvalidArgument(
            f"PollingSeconds is invalid. It must be from 1 to {MAX_POLLING_SECONDS}.", field="PollingSeconds"
        )
    return value


def subscription(row: Any, *, secret: bool = False) -> resources_pb2.Subscription:
    """A stored subscription as the API's resource (its secret only when asked: the create's answer)."""
    m = row._mapping
    return resources_pb2.Subscription(
        subscription_num=m["SubscriptionNum"],
        end_point_url=m["EndPointUrl"],
        workstation=m["Workstation"],
        customer_key=m["CustomerKey"],
        watch_table=m["WatchTable"],
        polling_seconds=m["PollingSeconds"],
        ui_event_type=m["UiEventType"],
        date_time_start=_proto_datetime(m["DateTimeStart"]),
        date_time_stop=_proto_datetime(m["DateTimeStop"]),
        note=m["Note"],
        secret=m["Secret"] if secret else "",
        date_time_last_delivery=_proto_datetime(m["DateTimeLastDelivery"]),
        last_error=m["LastError"],
        lag_seconds=float(m["LagSeconds"]),
    )


class SubscriptionsApi:
    """CreateSubscription, ListSubscriptions, UpdateSubscription, DeleteSubscription; each takes the request
    and the caller's customer key (the owner)."""

    def __init__(
        self,
        store: EventStore,
        *,
        max_per_key: int,
        allowed_hosts: Sequence[str] = (),
        allow_http: bool = False,
    ) -> None:
        self._store = store
        self._max_per_key = max_per_key
        self._allowed_hosts = tuple(allowed_hosts)
        self._allow_http = allow_http

    def _endpoint(self, url: str) -> str:
        return check_endpoint(url, allowed_hosts=self._allowed_hosts, allow_http=self._allow_http)

    async def create_subscription(
        self, request: pb.CreateSubscriptionRequest, owner: str
    ) -> pb.CreateSubscriptionResponse:
        endpoint = self._endpoint(request.end_point_url)
        if request.watch_table != WATCH_TABLE:
            raise InvalidArgument(
                f'WatchTable is invalid. The service watches "{WATCH_TABLE}" only.', field="WatchTable"
            )
        if request.ui_event_type:
            raise InvalidArgument(
                "UiEventType is invalid: the service sends database events only; leave it blank.",
                field="UiEventType",
            )
        polling = _polling_seconds(request.polling_seconds)
        start = (
            _datetime(request.date_time_start, "DateTimeStart")
            if request.HasField("date_time_start")
            else now_seconds()
        )
        stop = (
            _datetime(request.date_time_stop, "DateTimeStop")
            if request.HasField("date_time_stop")
            else NO_DATETIME
        )
        if stop != NO_DATETIME and stop < start:
            raise InvalidArgument(
                "DateTimeStop is invalid: it is before DateTimeStart.", field="DateTimeStop"
            )
        created = await self._store.create(
            values={
                "CustomerKey": owner,
                "EndPointUrl": endpoint,
                "Workstation": request.workstation,
                "WatchTable": WATCH_TABLE,
                "PollingSeconds": polling,
                "UiEventType": "",
                "DateTimeStart": start,
                "DateTimeStop": stop,
                "Note": request.note,
                "Secret": secrets.token_hex(32),
            },
            per_key_limit=self._max_per_key,
        )
        if created is None:
            raise InvalidArgument(
                f"This customer key already has {self._max_per_key} subscriptions, the most allowed. "
                "Delete one first."
            )
        row = await self._store.get(owner=owner, subscription_num=created[0])
        return pb.CreateSubscriptionResponse(subscription=subscription(row, secret=True))

    async def list_subscriptions(
        self, request: pb.ListSubscriptionsRequest, owner: str
    ) -> pb.ListSubscriptionsResponse:
        rows = await self._store.owned(owner=owner)
        return pb.ListSubscriptionsResponse(subscriptions=[subscription(row) for row in rows])

    async def update_subscription(
        self, request: pb.UpdateSubscriptionRequest, owner: str
    ) -> pb.UpdateSubscriptionResponse:
        values: dict[str, Any] = {}
        if request.HasField("end_point_url"):
            values["EndPointUrl"] = self._endpoint(request.end_point_url)
        if request.HasField("workstation"):
            values["Workstation"] = request.workstation
        if request.HasField("polling_seconds"):
            values["PollingSeconds"] = _polling_seconds(request.polling_seconds)
        if request.HasField("date_time_start"):
            # A new watermark: everything changed from then on is sent (again).
            values["DateTimeStart"] = _datetime(request.date_time_start, "DateTimeStart")
            values["SentAtStart"] = ""
        if request.HasField("date_time_stop"):
            values["DateTimeStop"] = _datetime(request.date_time_stop, "DateTimeStop")
        if request.HasField("note"):
            values["Note"] = request.note
        current = await self._store.get(owner=owner, subscription_num=request.subscription_num)
        start = values.get("DateTimeStart", as_datetime(current._mapping["DateTimeStart"]))
        stop = values.get("DateTimeStop", as_datetime(current._mapping["DateTimeStop"]))
        if stop != NO_DATETIME and stop < start:
            raise InvalidArgument(
                "DateTimeStop is invalid: it is before DateTimeStart.", field="DateTimeStop"
            )
        if values:
            # Whatever changed, the next look is now, without the backoff of earlier failures.
            values |= {"NextPollMs": 0, "Attempts": 0}
        row = await self._store.update(owner=owner, subscription_num=request.subscription_num, values=values)
        return pb.UpdateSubscriptionResponse(subscription=subscription(row))

    async def delete_subscription(
        self, request: pb.DeleteSubscriptionRequest, owner: str
    ) -> pb.DeleteSubscriptionResponse:
        await self._store.delete(owner=owner, subscription_num=request.subscription_num)
        return pb.DeleteSubscriptionResponse()

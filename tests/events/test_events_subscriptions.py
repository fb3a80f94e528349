"""Subscriptions in Open Dental's shape, owned by the customer key that made them,
on both surfaces and on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from opendental.sheets.v1 import sheet_service_pb2 as pb
from opendental.sheets.v1.sheet_service_pb2_grpc import SheetServiceStub
from service.contract.errors import InvalidArgument, NotFound
from service.events import SUBSCRIPTION, EventStore, SubscriptionsApi, check_endpoint
from service.render.pool import PdfRenderer
from tests.support.stack import ALL_KEY, API_KEYS, READ_KEY, Rest, Stack, running_stack

OTHER_KEY = "ODFHIR otherdev/othercust"
SUBSCRIPTION_KEYS = [
    "SubscriptionNum",
    "EndPointUrl",
    "Workstation",
    "CustomerKey",
    "WatchTable",
    "PollingSeconds",
    "UiEventType",
    "DateTimeStart",
    "DateTimeStop",
    "Note",
    "Secret",
    "DateTimeLastDelivery",
    "LastError",
    "LagSeconds",
]
BODY = {"EndPointUrl": "http://127.0.0.1:9/events", "WatchTable": "Sheet", "PollingSeconds": 5}


@pytest.fixture
async def stack(tmp_path: Path, renderer: PdfRenderer) -> AsyncIterator[Stack]:
    """The service with a second all-permission key, and no delivery (these tests look at the table)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
    keys = API_KEYS + ",otherdev/othercust=all"
    async with running_stack(url, tmp_path, renderer, api_keys=keys, events=False) as running:
        yield running


async def _create(rest: Rest, body: dict[str, Any] | None = None, auth: str = ALL_KEY) -> Any:
    status, created, _ = await rest.request("POST", "/api/v1/subscriptions", json=body or BODY, auth=auth)
    assert status == 201, created
    return created


async def test_create_answers_201_with_the_subscription_its_location_and_its_secret(rest: Rest) -> None:
    status, created, response = await rest.request(
        "POST", "/api/v1/subscriptions", json=BODY | {"Note": "medical histories", "Workstation": "FRONT"}
    )
    assert status == 201
    assert list(created) == SUBSCRIPTION_KEYS
    assert response.headers["Location"] == f"/api/v1/subscriptions/{created['SubscriptionNum']}"
    assert created["WatchTable"] == "Sheet"
    assert created["CustomerKey"] == "custkey"
    assert created["Workstation"] == "FRONT"
    assert created["Note"] == "medical histories"
    assert re.fullmatch(r"[0-9a-f]{64}", created["Secret"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", created["DateTimeStart"])
    assert created["DateTimeStop"] == "0001-01-01 00:00:00"
    # The secret is given once: a list never shows it again.
    status, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
    assert status == 200
    assert [s["SubscriptionNum"] for s in listed] == [created["SubscriptionNum"]]
    assert listed[0]["Secret"] == ""


async def test_a_subscription_is_seen_and_changed_only_with_the_key_that_made_it(rest: Rest) -> None:
    mine = await _create(rest)
    theirs = await _create(rest, auth=OTHER_KEY)
    _, listed, _ = await rest.request("GET", "/api/v1/subscriptions", auth=OTHER_KEY)
    assert [s["SubscriptionNum"] for s in listed] == [theirs["SubscriptionNum"]]
    path = f"/api/v1/subscriptions/{mine['SubscriptionNum']}"
    status, body, _ = await rest.request("PUT", path, json={"Note": "taken"}, auth=OTHER_KEY)
    assert (status, body) == (404, "Subscription not found.")
    status, body, _ = await rest.request("DELETE", path, auth=OTHER_KEY)
    assert (status, body) == (404, "Subscription not found.")
    _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
    assert [(s["SubscriptionNum"], s["Note"]) for s in listed] == [(mine["SubscriptionNum"], "")]
    # A read-only key lists its own (none) and cannot create.
    status, listed, _ = await rest.request("GET", "/api/v1/subscriptions", auth=READ_KEY)
    assert (status, listed) == (200, [])
    status, body, _ = await rest.request("POST", "/api/v1/subscriptions", json=BODY, auth=READ_KEY)
    assert status == 401
    assert "read-only" in body


async def test_update_changes_only_the_fields_given_and_delete_removes(rest: Rest) -> None:
    created = await _create(rest, BODY | {"Note": "keep"})
    path = f"/api/v1/subscriptions/{created['SubscriptionNum']}"
    status, updated, _ = await rest.request(
        "PUT", path, json={"PollingSeconds": 30, "DateTimeStop": "2099-01-01 00:00:00"}
    )
    assert status == 200, updated
    assert updated["PollingSeconds"] == 30
    assert updated["DateTimeStop"] == "2099-01-01 00:00:00"
    assert updated["Note"] == "keep"
    assert updated["EndPointUrl"] == BODY["EndPointUrl"]
    assert updated["Secret"] == ""
    status, body, _ = await rest.request("DELETE", path)
    assert status == 200
    status, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
    assert listed == []
    status, body, _ = await rest.request("DELETE", path)
    assert (status, body) == (404, "Subscription not found.")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"EndPointUrl": "ftp://127.0.0.1/x"},
            "EndPointUrl is invalid: it must start with https:// or http://.",
        ),
        (
            {"EndPointUrl": "http://receiver.example/x"},
            "EndPointUrl is invalid: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); "
            "use https.",
        ),
        (
            {"EndPointUrl": "https://user:pw@receiver.example/"},
            "EndPointUrl is invalid: it must not carry a user name or password.",
        ),
        ({"EndPointUrl": "https:///nohost"}, "EndPointUrl is invalid: it names no host."),
        ({"WatchTable": "Appointment"}, 'WatchTable is invalid. The service watches "Sheet" only.'),
        ({"WatchTable": None}, "WatchTable is required."),
        ({"PollingSeconds": 0}, "PollingSeconds is invalid."),
        ({"PollingSeconds": 86_401}, "PollingSeconds is invalid. It must be from 1 to 86400."),
        (
            {"UiEventType": "PatientSelected"},
            "UiEventType is invalid: the service sends database events only; leave it blank.",
        ),
        (
            {"DateTimeStart": "2026-02-01 00:00:00", "DateTimeStop": "2026-01-01 00:00:00"},
            "DateTimeStop is invalid: it is before DateTimeStart.",
        ),
    ],
)
async def test_a_bad_subscription_is_refused_with_the_reason_and_nothing_is_stored(
    rest: Rest, stack: Stack, change: dict[str, Any], message: str
) -> None:
    body = {key: value for key, value in (BODY | change).items() if value is not None}
    status, answer, _ = await rest.request("POST", "/api/v1/subscriptions", json=body)
    assert (status, answer) == (400, message)
    async with stack.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(SUBSCRIPTION))).scalar_one() == 0


async def test_subscriptions_per_key_are_limited(tmp_path: Path, renderer: PdfRenderer) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sheets.db'}"
    async with (
        running_stack(url, tmp_path, renderer, events=False, events_max_subscriptions=2) as running,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(session, running.rest_urls["in-process"])
        await _create(rest)
        await _create(rest)
        status, body, _ = await rest.request("POST", "/api/v1/subscriptions", json=BODY)
        assert (status, body) == (
            400,
            "This customer key already has 2 subscriptions, the most allowed. Delete one first.",
        )
        _, listed, _ = await rest.request("GET", "/api/v1/subscriptions")
        assert len(listed) == 2


async def test_grpc_subscriptions_answer_as_rest_does(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = SheetServiceStub(channel)
        mine = [("authorization", ALL_KEY)]
        created = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(
                end_point_url="http://[::1]:9/", watch_table="Sheet", polling_seconds=2
            ),
            metadata=mine,
        )
        assert created.subscription.secret
        listed = await stub.ListSubscriptions(pb.ListSubscriptionsRequest(), metadata=mine)
        assert [s.subscription_num for s in listed.subscriptions] == [created.subscription.subscription_num]
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.DeleteSubscription(
                pb.DeleteSubscriptionRequest(subscription_num=created.subscription.subscription_num),
                metadata=[("authorization", OTHER_KEY)],
            )
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.CreateSubscription(
                pb.CreateSubscriptionRequest(
                    end_point_url="http://[::1]:9/", watch_table="Sheet", polling_seconds=2
                ),
                metadata=[("authorization", READ_KEY)],
            )
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_allowed_hosts_and_plain_http_off_loopback_are_settings() -> None:
    assert check_endpoint("https://hooks.example/in", allowed_hosts=("hooks.example",))
    with pytest.raises(InvalidArgument, match=r"host other\.example is not allowed"):
        check_endpoint("https://other.example/in", allowed_hosts=("hooks.example",))
    assert check_endpoint("http://10.0.0.7:8080/in", allow_http=True)
    assert check_endpoint("http://localhost:8080/in")


async def test_the_subscription_table_works_on_every_database(engine: AsyncEngine) -> None:
    api = SubscriptionsApi(EventStore(engine), max_per_key=5)
    request = pb.CreateSubscriptionRequest(
        end_point_url="http://127.0.0.1:9/", watch_table="Sheet", polling_seconds=1, note="é" * 300
    )
    created = (await api.create_subscription(request, "cust-a")).subscription
    assert created.note == "é" * 300
    assert (await api.list_subscriptions(pb.ListSubscriptionsRequest(), "cust-b")).subscriptions == []
    update = pb.UpdateSubscriptionRequest(subscription_num=created.subscription_num, polling_seconds=9)
    with pytest.raises(NotFound):
        await api.update_subscription(update, "cust-b")
    assert (await api.update_subscription(update, "cust-a")).subscription.polling_seconds == 9
    await api.delete_subscription(
        pb.DeleteSubscriptionRequest(subscription_num=created.subscription_num), "cust-a"
    )
    assert (await api.list_subscriptions(pb.ListSubscriptionsRequest(), "cust-a")).subscriptions == []

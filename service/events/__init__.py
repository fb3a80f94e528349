"""Sheet events: Open Dental's API Subscriptions for the `sheet` table, their delivery
to the subscribers' endpoints (one replica at a time, by a lease in the database),
and what the WatchSheets stream reads (its gRPC edge is `service.rpc.watch`). The table of
subscriptions is storage's (`service.storage.subscription_table`)."""

from service.events import report
from service.events.delivery import Delivery, DeliveryLimits
from service.events.signature import EVENT_ID_HEADER, SIGNATURE_HEADER, sign, verify
from service.events.store import Change, EventStore
from service.events.subscriptions import SubscriptionsApi, check_endpoint
from service.events.watermark import Watermark
from service.storage import SUBSCRIPTION

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "SUBSCRIPTION",
    "Change",
    "Delivery",
    "DeliveryLimits",
    "EventStore",
    "SubscriptionsApi",
    "Watermark",
    "check_endpoint",
    "report",
    "sign",
    "verify",
]

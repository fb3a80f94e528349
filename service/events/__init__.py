"""Sheet events: Open Dental's API Subscriptions for the `sheet` table, their delivery
to the subscribers' endpoints (one replica at a time, by a lease in the database),
and the WatchSheets stream for gRPC clients (`service.events.stream`, the subsystem's gRPC
edge, imported by the composition root alone)."""

from service.events.delivery import Delivery, DeliveryLimits
from service.events.signature import EVENT_ID_HEADER, SIGNATURE_HEADER, sign, verify
from service.events.store import Change, EventStore
from service.events.subscriptions import SubscriptionsApi, check_endpoint
from service.events.table import SUBSCRIPTION
from service.events.watermark import Watermark

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
    "sign",
    "verify",
]

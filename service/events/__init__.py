"""Sheet events: Open Dental's API Subscriptions for the `sheet` table, their delivery
to the subscribers' endpoints (one replica at a time, by a lease in the database),
and the WatchSheets stream for gRPC clients."""

from service.events.store import Change, EventStore
from service.events.subscriptions import SubscriptionsApi, check_endpoint
from service.events.table import SUBSCRIPTION
from service.events.watermark import Watermark

__all__ = ["SUBSCRIPTION", "Change", "EventStore", "SubscriptionsApi", "Watermark", "check_endpoint"]

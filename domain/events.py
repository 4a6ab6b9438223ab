"""Events delivered to an order workflow (by signal-with-start from the inbox)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from domain.freight import TrackingEvent
from domain.money import Money
from domain.orders import Channel, Frozen, Order


class EventKind(StrEnum):
    ORDER_PLACED = "order_placed"  # full order in the event (own store)
    ORDER_NOTIFIED = "order_notified"  # resource path only, fetch it (marketplace)
    ORDER_CANCELLED = "order_cancelled"
    PAYMENT_CONFIRMED = "payment_confirmed"
    TRACKING = "tracking"


class OrderEvent(Frozen):
    event_id: str = Field(min_length=1, max_length=200)
    kind: EventKind
    channel: Channel
    external_id: str
    received_at: datetime
    order: Order | None = None
    resource: str | None = None
    payment_id: str | None = None
    amount: Money | None = None
    tracking: TrackingEvent | None = None
    reason: str = ""

"""What we tell a sales channel about its order."""

from __future__ import annotations

from pydantic import Field

from domain.freight import CarrierKind
from domain.orders import Channel, Frozen


class FetchOrderRequest(Frozen):
    channel: Channel
    external_id: str
    resource: str | None = None


class ShippedNotice(Frozen):
    order_id: str
    idempotency_key: str
    channel: Channel
    external_id: str
    tracking_code: str
    carrier: str
    invoice_key: str
    kind: CarrierKind = CarrierKind.API  # marketplace: its own logistics, it knows the parcel


class CancelledNotice(Frozen):
    order_id: str
    idempotency_key: str
    channel: Channel
    external_id: str
    reason: str = Field(default="", max_length=500)

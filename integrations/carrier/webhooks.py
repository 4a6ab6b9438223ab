"""The carrier's tracking webhooks: `{"id", "event": "order.<status>", "data": {"id",
"status", "tracking", "tags": [{"tag": "order:<channel>:<external id>", "url"}],
"updated_at"}}` (older payloads carried a single `tag`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.events import EventKind, OrderEvent
from domain.freight import TrackingEvent, TrackingStatus
from domain.ids import parse_order_workflow_id
from domain.incidents import split_reference
from integrations.webhooks import WebhookPayloadError, parse_payload

STATUSES = {
    "posted": TrackingStatus.POSTED,
    "in_transit": TrackingStatus.IN_TRANSIT,
    "out_for_delivery": TrackingStatus.OUT_FOR_DELIVERY,
    "delivered": TrackingStatus.DELIVERED,
    "undelivered": TrackingStatus.FAILED,
    "lost": TrackingStatus.LOST,
    "damaged": TrackingStatus.DAMAGED,
    "returned": TrackingStatus.RETURNED,
}


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class TagData(_In):
    tag: str = Field(max_length=80)


class ShipmentData(_In):
    id: str = Field(min_length=1, max_length=100)
    status: str = Field(max_length=30)
    tracking: str | None = Field(default=None, max_length=60)
    tags: list[TagData] = Field(default_factory=list, max_length=10)
    tag: str = Field(default="", max_length=80)  # older payloads: a single tag
    updated_at: datetime

    @property
    def order_tag(self) -> str:
        return next((t.tag for t in self.tags if t.tag.startswith("order:")), self.tag)


class CarrierWebhook(_In):
    id: str = Field(min_length=1, max_length=100)
    event: str = Field(max_length=60)
    data: ShipmentData


def parse_carrier_webhook(body: bytes, received_at: datetime) -> OrderEvent | None:
    """A tracking state (posted, in transit, out for delivery, delivered, undelivered) ->
    TRACKING for the order named by the shipment's tag; other events -> None (ignored)."""
    what = "carrier webhook"
    hook = parse_payload(CarrierWebhook, body, what=what)
    status = STATUSES.get(hook.data.status)
    if status is None:
        return None
    try:
        # a replacement's tag names its order and the shipment's number: <order>#2
        channel, external_id = parse_order_workflow_id(split_reference(hook.data.order_tag)[0])
    except ValueError as exc:
        raise WebhookPayloadError(
            f"malformed {what} at data.tags: expected a tag 'order:<channel>:<order id>', "
            f"got {hook.data.order_tag!r}",
            field="data.tags",
        ) from exc
    if not hook.data.tracking:
        raise WebhookPayloadError(
            f"malformed {what} at data.tracking: a {hook.data.status} event needs the code",
            field="data.tracking",
        )
    event_id = f"carrier:{hook.id}"
    return OrderEvent(
        event_id=event_id,
        kind=EventKind.TRACKING,
        channel=channel,
        external_id=external_id,
        received_at=received_at,
        tracking=TrackingEvent(
            event_id=event_id,
            shipment_id=hook.data.id,
            tracking_code=hook.data.tracking,
            status=status,
            at=hook.data.updated_at,
            description=hook.event,
        ),
    )

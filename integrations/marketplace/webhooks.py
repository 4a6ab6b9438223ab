"""The marketplace's notifications are thin: a topic and a resource path to fetch."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.events import EventKind, OrderEvent
from domain.orders import Channel
from integrations.webhooks import WebhookPayloadError, parse_payload

ORDER_RESOURCE = re.compile(r"^/orders/(?P<id>[A-Za-z0-9_.-]{1,60})$")


class Notification(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(alias="_id", min_length=1, max_length=100)
    resource: str = Field(max_length=200)
    topic: str = Field(max_length=60)
    user_id: str | None = Field(default=None, max_length=60)
    attempts: int = 1


def parse_marketplace_notification(body: bytes, received_at: datetime) -> OrderEvent | None:
    """`orders_v2` with resource `/orders/<id>` -> ORDER_NOTIFIED (the order is fetched
    later through the API). Other topics -> None (ignored)."""
    what = "marketplace notification"
    note = parse_payload(Notification, body, what=what)
    if note.topic != "orders_v2":
        return None
    match = ORDER_RESOURCE.match(note.resource)
    if match is None:
        raise WebhookPayloadError(
            f"malformed {what} at resource: expected '/orders/<id>' (id: up to 60 "
            f"letters, digits, _ . -), got {note.resource!r}",
            field="resource",
        )
    return OrderEvent(
        event_id=f"marketplace:{note.id}",
        kind=EventKind.ORDER_NOTIFIED,
        channel=Channel.MARKETPLACE,
        external_id=match["id"],
        received_at=received_at,
        resource=note.resource,
    )

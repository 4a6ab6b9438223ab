"""The marketplace's notifications are thin: a topic and a resource path to fetch."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.events import EventKind, OrderEvent
from domain.orders import Channel
from integrations.webhooks import WebhookPayloadError, parse_payload

ORDER_RESOURCE = re.compile(r"^/orders/(?P<id>[A-Za-z0-9_.-]+)$")


class Notification(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(alias="_id", min_length=1)
    resource: str
    topic: str
    user_id: str | None = None
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
            f"malformed {what} at resource: expected '/orders/<id>', got {note.resource!r}",
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

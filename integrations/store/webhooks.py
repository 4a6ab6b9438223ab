"""The store's webhooks carry the full order: `{"id", "type", "created_at", "data": order}`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.events import EventKind, OrderEvent
from domain.orders import Channel
from integrations.store.client import translate_store_order
from integrations.webhooks import WebhookPayloadError, parse_payload

REASON_MAX = 500
KINDS = {"order.created": EventKind.ORDER_PLACED, "order.cancelled": EventKind.ORDER_CANCELLED}


class StoreWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=60)
    data: dict[str, Any]


def parse_store_webhook(body: bytes, received_at: datetime) -> OrderEvent | None:
    """`order.created` -> ORDER_PLACED with the full Order; `order.cancelled` ->
    ORDER_CANCELLED (with the order as the store now shows it). Other types -> None
    (ignored). Raises WebhookPayloadError naming the bad field, e.g. `data.customer.cpf`."""
    what = "store webhook"
    hook = parse_payload(StoreWebhook, body, what=what)
    kind = KINDS.get(hook.type)
    if kind is None:
        return None
    order = translate_store_order(hook.data, what=what, field_prefix="data")
    reason = str(hook.data.get("cancel_reason") or "")
    if len(reason) > REASON_MAX:
        raise WebhookPayloadError(
            f"malformed {what} at data.cancel_reason: {len(reason)} characters, "
            f"at most {REASON_MAX} are kept",
            field="data.cancel_reason",
        )
    return OrderEvent(
        event_id=f"store:{hook.id}",
        kind=kind,
        channel=Channel.STORE,
        external_id=order.external_id,
        received_at=received_at,
        order=order,
        reason=reason,
    )

"""The payment gateway's webhooks: `{"type": "payment", "data": {"id", "status",
"external_reference": "<channel>:<external order id>", "transaction_amount"}}`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.events import EventKind, OrderEvent
from domain.orders import Channel
from integrations.webhooks import WebhookPayloadError, parse_payload


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class PaymentData(_In):
    id: str = Field(min_length=1, max_length=100)
    status: str = Field(max_length=30)
    external_reference: str = Field(max_length=80)
    transaction_amount: Decimal = Field(gt=0)


class PaymentWebhook(_In):
    id: str = Field(min_length=1, max_length=100)
    type: str = Field(max_length=60)
    action: str = Field(default="", max_length=60)
    data: PaymentData


def parse_payment_webhook(body: bytes, received_at: datetime) -> OrderEvent | None:
    """An approved payment -> PAYMENT_CONFIRMED for the order named by its external
    reference; other statuses and types -> None (ignored)."""
    what = "payment webhook"
    hook = parse_payload(PaymentWebhook, body, what=what)
    if hook.type != "payment" or hook.data.status != "approved":
        return None
    channel, _, external_id = hook.data.external_reference.partition(":")
    if channel not in set(Channel) or not external_id:
        raise WebhookPayloadError(
            f"malformed {what} at data.external_reference: expected '<channel>:<order id>' "
            f"with channel one of {', '.join(Channel)}, got {hook.data.external_reference!r}",
            field="data.external_reference",
        )
    return OrderEvent(
        event_id=f"payments:{hook.id}",
        kind=EventKind.PAYMENT_CONFIRMED,
        channel=Channel(channel),
        external_id=external_id,
        received_at=received_at,
        payment_id=hook.data.id,
        amount=hook.data.transaction_amount,
    )

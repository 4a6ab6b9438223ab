"""Payment contracts: refunds, and the thin notifications of a Mercado Pago-shaped gateway."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from domain.events import EventKind, OrderEvent
from domain.money import Money
from domain.orders import Channel, Frozen
from domain.steps import OrderPolicy, OrderWorkflowInput, TaskQueues


class RefundRequest(Frozen):
    order_id: str
    idempotency_key: str
    payment_id: str
    amount: Money = Field(gt=Decimal("0"))


class Refund(Frozen):
    refund_id: str
    payment_id: str
    amount: Money
    status: str


# ---------------------------------------------------------------- thin notifications
# A Mercado Pago-shaped gateway notifies only that a payment changed (`data.id`); what
# it is now is read from the gateway (`/v1/payments/{id}`) by an activity, and only
# then does the order it names learn that it was paid.

APPROVED = "approved"
NOTICE_KIND = "payment_notified"  # the inbox kind of a thin payment notification


class PaymentNotice(Frozen):
    """A thin notification: the gateway's notification id and the payment it is about."""

    source: str = Field(default="payments", max_length=40)  # the webhook source
    notice_id: str = Field(min_length=1, max_length=100)
    payment_id: str = Field(min_length=1, max_length=100)
    action: str = Field(default="", max_length=60)
    received_at: datetime


class PaymentNoticeInput(Frozen):
    """What the notice's workflow needs: the notice, and how to start an order workflow
    that does not exist yet (a payment may arrive before its order)."""

    notice: PaymentNotice
    policy: OrderPolicy = OrderPolicy()
    queues: TaskQueues = TaskQueues()


class FetchPaymentRequest(Frozen):
    payment_id: str = Field(min_length=1, max_length=100)


class Payment(Frozen):
    """A payment as the gateway shows it when fetched."""

    payment_id: str
    status: str
    external_reference: str | None = None
    amount: Money
    refunded: Money = Decimal("0")
    method: str | None = None  # payment_method_id: the card brand, "pix", "bolbradesco"
    payment_type: str | None = None  # payment_type_id: credit_card, bank_transfer, ticket


class OrderDelivery(Frozen):
    """Signal (starting it if needed) an order workflow with an event."""

    event: OrderEvent
    start: OrderWorkflowInput


class PaymentNoticeResult(Frozen):
    status: str  # delivered | ignored
    order_id: str | None = None
    detail: str = ""


def payment_notice_workflow_id(notice: PaymentNotice) -> str:
    """One workflow per notification: a duplicate delivery is refused by its id."""
    return f"payment-notice:{notice.source}:{notice.notice_id}"


def payment_order(payment: Payment) -> tuple[Channel, str] | None:
    """The order a payment's `external_reference` (`<channel>:<order id>`) names."""
    channel, _, external_id = (payment.external_reference or "").partition(":")
    if channel not in set(Channel) or not external_id:
        return None
    return Channel(channel), external_id


def payment_event(notice: PaymentNotice, payment: Payment) -> OrderEvent | None:
    """An approved payment -> PAYMENT_CONFIRMED for the order its reference names (the
    event id is the payment's, so every notice of one approval is one event to the
    order); any other status, or a reference naming no order of ours -> None."""
    if payment.status != APPROVED:
        return None
    found = payment_order(payment)
    if found is None:
        return None
    channel, external_id = found
    return OrderEvent(
        event_id=f"payments:{payment.payment_id}:approved",
        kind=EventKind.PAYMENT_CONFIRMED,
        channel=channel,
        external_id=external_id,
        received_at=notice.received_at,
        payment_id=payment.payment_id,
        amount=payment.amount,
    )

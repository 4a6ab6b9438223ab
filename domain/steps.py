"""Inputs and outputs of the order workflow's steps that are not a provider contract of
their own, and the workflow's visible state."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.attention import OpsDecision, StepFailure
from domain.fiscal import Invoice
from domain.freight import Booking, TrackingEvent
from domain.orders import Channel, Frozen, Order, OrderStatus
from domain.saga import Compensation
from domain.warehouse import WarehouseRecord


class OrderPolicy(Frozen):
    """Business durations for one order, fixed when its workflow starts."""

    payment_window_s: float = Field(default=3 * 24 * 3600, gt=0)
    delivery_window_s: float = Field(default=30 * 24 * 3600, gt=0)
    invoice_cancel_window_s: float = Field(default=24 * 3600, gt=0)
    late_payment_grace_s: float = Field(
        default=7 * 24 * 3600, ge=0, description="after cancelling unpaid: refund late payments"
    )
    from_postal_code: str = Field(default="01304001", pattern=r"^\d{8}$")
    max_delivery_days: int | None = None


class OrderWorkflowInput(Frozen):
    channel: Channel
    external_id: str
    policy: OrderPolicy = OrderPolicy()


class RecordOrder(Frozen):
    order_id: str
    order: Order
    at: datetime


class StatusChange(Frozen):
    """A read-model status change, written by a local activity that runs anyway."""

    order_id: str
    status: OrderStatus
    at: datetime
    note: str = ""
    occurred_at: datetime | None = None  # when it happened outside (e.g. the carrier's time)


class PrepareInvoice(Frozen):
    order_id: str
    series: int = 1
    paid_at: datetime
    payment_id: str | None = None


class WarehouseStepRecorded(Frozen):
    order_id: str
    record: WarehouseRecord
    status: OrderStatus


class DispatchRequest(Frozen):
    order_id: str
    idempotency_key: str
    at: datetime


class AttentionChange(Frozen):
    order_id: str
    at: datetime
    failure: StepFailure | None = None
    decision: OpsDecision | None = None


class StatusEntry(Frozen):
    status: OrderStatus
    at: datetime


class OrderState(Frozen):
    """What the `state` query returns: everything ops need to see about one order."""

    order_id: str
    channel: Channel
    external_id: str
    status: OrderStatus
    order: Order | None = None
    paid: bool = False
    payment_id: str | None = None
    invoice: Invoice | None = None
    booking: Booking | None = None
    warehouse: tuple[WarehouseRecord, ...] = ()
    tracking: tuple[TrackingEvent, ...] = ()
    failure: StepFailure | None = None
    can_skip: bool = False  # whether ops may skip the stuck step
    skip_result: str | None = None  # the model a skip must carry (e.g. "Invoice"), if any
    compensations_registered: tuple[Compensation, ...] = ()
    compensations_done: tuple[Compensation, ...] = ()
    cancel_reason: str | None = None
    history: tuple[StatusEntry, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def needs_attention(self) -> bool:
        return self.failure is not None

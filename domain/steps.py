"""Inputs and outputs of the order workflow's steps that are not a provider contract of
their own, and the workflow's visible state."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.attention import OpsDecision, StepFailure
from domain.carriers import ShippingDocuments, ShippingIncident
from domain.fiscal import Invoice
from domain.fiscal_lifecycle import ReturnInvoice
from domain.freight import Booking, FreightChoice, TrackingEvent
from domain.orders import Channel, Frozen, Order, OrderStatus
from domain.saga import Compensation
from domain.warehouse import WarehouseRecord, WarehouseStep


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
    order_arrival_sla_s: float = Field(
        default=3600, gt=0, description="a payment held for an order that has not arrived"
    )
    warehouse_sla_s: float = Field(
        default=24 * 3600, gt=0, description="picked, packed and checked within this"
    )
    tracking_poll_s: float = Field(
        default=6 * 3600, gt=0, description="no tracking news this long: ask the carrier"
    )


class TaskQueues(Frozen):
    """The task queue names of this deployment, per logical queue (workflows/steps.Queue)."""

    orders: str = "orders"
    rpa: str = "rpa"
    finance: str = "finance"

    def name(self, queue: str) -> str:
        names = {"orders": self.orders, "rpa": self.rpa, "finance": self.finance}
        return names[queue]


class OrderWorkflowInput(Frozen):
    channel: Channel
    external_id: str
    policy: OrderPolicy = OrderPolicy()
    queues: TaskQueues = TaskQueues()


class RecordOrder(Frozen):
    order_id: str
    order: Order
    at: datetime


class StatusEntry(Frozen):
    status: OrderStatus
    at: datetime


class StatusChange(Frozen):
    """The order's status as the workflow knows it, stamped with workflow time: the one
    way a status reaches the read model. `reached` lists every status entered since the
    last write (each keeps its first time for the phase figures); `clear_attention`
    says the workflow is not waiting for ops, so a stale needs-attention flag goes."""

    order_id: str
    status: OrderStatus
    at: datetime
    note: str = ""
    occurred_at: datetime | None = None  # when it happened outside (e.g. the carrier's time)
    reached: tuple[StatusEntry, ...] = ()
    clear_attention: bool = False


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
    """The parcel leaves. `warehouse`: the steps the workflow knows were done, so the task
    list is closed with them even if their answers never reached the database."""

    order_id: str
    idempotency_key: str
    at: datetime
    warehouse: tuple[WarehouseRecord, ...] = ()


class AttentionChange(Frozen):
    """A step got stuck (failure only), ops decided (failure and decision), or a wait
    flagged past its SLA ended by itself (failure and `resolved`, saying how)."""

    order_id: str
    at: datetime
    failure: StepFailure | None = None
    decision: OpsDecision | None = None
    resolved: str = ""


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
    return_invoice: ReturnInvoice | None = None
    booking: Booking | None = None
    freight: FreightChoice | None = None  # the carrier chosen and the quotes left aside
    incidents: tuple[ShippingIncident, ...] = ()  # lost, damaged, returned parcels
    documents: ShippingDocuments | None = None  # the label and packing slip kept
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
    next_warehouse_step: WarehouseStep | None = None  # what the warehouse may do next

    @property
    def needs_attention(self) -> bool:
        return self.failure is not None

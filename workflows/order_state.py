"""The order workflow's one state object, and the one place its status changes.

Everything the workflow knows about its order lives in `OrderProgress`; the workflow's
helpers (needs attention, saga, warehouse) read and change it, and `snapshot()` is what
the `state` query returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.carriers import ShippingDocuments, ShippingIncident
    from domain.fiscal import Invoice, InvoiceRequest
    from domain.fiscal_lifecycle import ReturnInvoice
    from domain.freight import Booking, FreightChoice, TrackingEvent
    from domain.orders import Order, OrderStatus, can_cancel
    from domain.saga import Compensation
    from domain.steps import OrderState, OrderWorkflowInput, StatusChange, StatusEntry
    from domain.stock import Reservation
    from domain.warehouse import IN_WAREHOUSE, WarehouseRecord, WarehouseStep, expected_step
    from workflows.search import ORDER_STATUS


class CancelOrder(Exception):
    """Raised inside the workflow to stop processing and compensate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class OrderProgress:
    input: OrderWorkflowInput
    order_id: str
    crash_safe: bool  # the v2 core (patch `crash-safe-core`); False while replaying v1 orders
    fiscal_lifecycle: bool = False  # patch `fiscal-lifecycle`: return NF-e, voiding at SEFAZ
    carriers: bool = False  # patch `shipping-carriers`: every carrier quoted, portal, polling
    incident_paths: bool = False  # patch `shipping-incidents`: claim, reship, back to stock
    status: OrderStatus = OrderStatus.RECEIVED
    order: Order | None = None
    notified: bool = False
    refetch: bool = False
    seen: set[str] = field(default_factory=set)
    paid: bool = False
    payment_id: str | None = None
    paid_amount: Decimal | None = None
    reservation: Reservation | None = None
    emission: InvoiceRequest | None = None  # the NF-e asked of SEFAZ, outcome or not
    invoice: Invoice | None = None
    return_invoice: ReturnInvoice | None = None  # undid the sale NF-e past its window
    booking: Booking | None = None
    freight: FreightChoice | None = None
    incidents: list[ShippingIncident] = field(default_factory=list)
    shipment_no: int = 1  # the booking's number: a replacement is 2, 3, ...
    incident_actions: frozenset[OpsAction] = frozenset()  # what the incident asked allows
    returned: bool = False  # back to the sender and into stock: the order closes returned
    documents: ShippingDocuments | None = None  # label and packing slip printed
    warehouse: list[WarehouseRecord] = field(default_factory=list)
    tracking: list[TrackingEvent] = field(default_factory=list)
    delivered: bool = False
    cancel_reason: str | None = None
    compensating: bool = False
    registered: list[Compensation] = field(default_factory=list)
    undone: list[Compensation] = field(default_factory=list)
    failure: StepFailure | None = None
    skip_type: type[BaseModel] | None = None
    can_skip: bool = False
    decision: OpsDecision | None = None
    history: list[StatusEntry] = field(default_factory=list)
    unrecorded: list[StatusEntry] = field(default_factory=list)  # not yet in the read model
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ status
    def set_status(self, status: OrderStatus) -> None:
        """The one place the order's status changes: state, timeline, search attribute;
        the read model follows through `status_change()`."""
        if status is self.status:
            return
        self.status = status
        entry = StatusEntry(status=status, at=workflow.now())
        self.history.append(entry)
        self.unrecorded.append(entry)
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])

    def status_change(self, note: str = "") -> StatusChange:
        """What the read model must learn: the status now, each status reached since the
        last write, whether a needs-attention flag may be cleared. Marks them written."""
        change = StatusChange(
            order_id=self.order_id,
            status=self.status,
            at=workflow.now(),
            note=note,
            reached=tuple(self.unrecorded),
            clear_attention=self.failure is None,
        )
        self.unrecorded.clear()
        return change

    # ------------------------------------------------------------------ facts
    def require_order(self) -> Order:
        if self.order is None:
            raise RuntimeError(f"{self.order_id}: the order's content is not known yet")
        return self.order

    def require_reservation(self) -> Reservation:
        if self.reservation is None:
            raise RuntimeError(f"{self.order_id}: no stock reservation yet")
        return self.reservation

    def steps_done(self) -> list[WarehouseStep]:
        return [r.step for r in self.warehouse]

    def done(self, step: WarehouseStep) -> bool:
        return step in self.steps_done()

    def register(self, undo: Compensation) -> None:
        if undo not in self.registered:
            self.registered.append(undo)

    def request_cancel(self, reason: str) -> None:
        """A cancellation from the channel or ops: taken while the order can still be
        undone, noted (a return) once the parcel is leaving."""
        if self.cancel_reason is not None:
            return
        if can_cancel(self.status, order_known=self.order is not None):
            self.cancel_reason = reason
        else:
            self.notes.append(f"cancellation refused in status {self.status.value}: {reason}")

    def checkpoint(self) -> None:
        """Between steps: stop here if the order was cancelled."""
        if self.order is not None and self.order.channel_cancelled:
            self.request_cancel("cancelled on the channel")
        if self.cancel_reason is not None:
            raise CancelOrder(self.cancel_reason)

    def snapshot(self) -> OrderState:
        return OrderState(
            order_id=self.order_id,
            channel=self.input.channel,
            external_id=self.input.external_id,
            status=self.status,
            order=self.order,
            paid=self.paid,
            payment_id=self.payment_id,
            invoice=self.invoice,
            return_invoice=self.return_invoice,
            booking=self.booking,
            freight=self.freight,
            incidents=tuple(self.incidents),
            documents=self.documents,
            warehouse=tuple(self.warehouse),
            tracking=tuple(self.tracking),
            failure=self.failure,
            can_skip=self.failure is not None and self.can_skip,
            skip_result=self.skip_type.__name__ if self.skip_type else None,
            compensations_registered=tuple(self.registered),
            compensations_done=tuple(self.undone),
            cancel_reason=self.cancel_reason,
            history=tuple(self.history),
            notes=tuple(self.notes),
            next_warehouse_step=(
                expected_step(self.steps_done())
                if self.status in IN_WAREHOUSE and self.cancel_reason is None
                else None
            ),
        )

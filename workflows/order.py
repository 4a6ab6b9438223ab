"""The order workflow: one durable workflow per order, from intake to delivery.

accept → reserve stock → push availability → wait for payment → emit NF-e → warehouse
(pick, pack, check by people) → quote and book a carrier → tell the channel → dispatch →
track until delivered. Any step that exhausts its retries or is rejected waits for an ops
decision (retry / skip / compensate); a cancellation runs the registered undos in reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as StepTimeout

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.channels import CancelledNotice, FetchOrderRequest, ShippedNotice
    from domain.errors import DomainError
    from domain.events import EventKind, OrderEvent
    from domain.fiscal import (
        Invoice,
        InvoiceCancellation,
        InvoiceCancellationRequest,
        InvoiceLine,
        InvoiceRequest,
    )
    from domain.freight import (
        Booking,
        BookingRequest,
        QuoteRequest,
        QuoteSet,
        TrackingEvent,
        TrackingStatus,
        choose_quote,
        parcel_for,
    )
    from domain.ids import idempotency_key
    from domain.orders import Channel, Order, OrderStatus, PaymentStatus
    from domain.payments import Refund, RefundRequest
    from domain.saga import Compensation, undo_plan
    from domain.steps import (
        AttentionChange,
        DispatchRequest,
        OrderState,
        OrderWorkflowInput,
        PrepareInvoice,
        RecordOrder,
        StatusChange,
        StatusEntry,
        WarehouseStepRecorded,
    )
    from domain.stock import ReleaseRequest, Reservation, ReserveRequest, StockPush
    from domain.warehouse import (
        WarehouseAction,
        WarehouseRecord,
        WarehouseStep,
        WarehouseTaskRequest,
        validate_action,
    )
    from workflows import steps
    from workflows.search import CHANNEL, NEEDS_ATTENTION, ORDER_STATUS, STUCK_STEP

T = TypeVar("T")

WAREHOUSE_STATUS = {
    WarehouseStep.PICK: OrderStatus.PICKED,
    WarehouseStep.PACK: OrderStatus.PACKED,
    WarehouseStep.CHECK: OrderStatus.CHECKED,
}
CANCELLABLE = frozenset(
    {
        OrderStatus.RECEIVED,
        OrderStatus.RESERVED,
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.INVOICED,
        OrderStatus.PICKING,
        OrderStatus.PICKED,
        OrderStatus.PACKED,
        OrderStatus.CHECKED,
    }
)
ORPHAN_CANCEL_WAIT = timedelta(hours=1)


class _Cancel(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    def __init__(self) -> None:
        self._id = ""
        self._input: OrderWorkflowInput | None = None
        self._status = OrderStatus.RECEIVED
        self._order: Order | None = None
        self._notified = False
        self._refetch = False
        self._seen: set[str] = set()
        self._paid = False
        self._payment_id: str | None = None
        self._paid_amount: Decimal | None = None
        self._reservation: Reservation | None = None
        self._invoice: Invoice | None = None
        self._booking: Booking | None = None
        self._warehouse: list[WarehouseRecord] = []
        self._tracking: list[TrackingEvent] = []
        self._delivered = False
        self._cancel_reason: str | None = None
        self._compensating = False
        self._registered: list[Compensation] = []
        self._undone: list[Compensation] = []
        self._failure: StepFailure | None = None
        self._skip_type: type[BaseModel] | None = None
        self._decision: OpsDecision | None = None
        self._history: list[StatusEntry] = []
        self._notes: list[str] = []

    # ---------------------------------------------------------------- entry point
    @workflow.run
    async def run(self, inp: OrderWorkflowInput) -> OrderState:
        self._input = inp
        self._id = workflow.info().workflow_id
        self._history.append(StatusEntry(status=self._status, at=workflow.now()))
        workflow.upsert_search_attributes(
            [
                CHANNEL.value_set(inp.channel.value),
                ORDER_STATUS.value_set(self._status.value),
                NEEDS_ATTENTION.value_set(False),
            ]
        )
        known = await self._wait(lambda: self._order is not None or self._notified)
        if not known:  # the cancellation overtook the order: give the order a while to arrive
            known = await self._wait(
                lambda: self._order is not None or self._notified,
                within=ORPHAN_CANCEL_WAIT,
                wake_on_cancel=False,
            )
        if not known:
            self._notes.append("cancelled before the order itself ever arrived")
            self._set_status(OrderStatus.CANCELLED)
            return self.state()
        try:
            await self._process()
        except _Cancel as cancel:
            await self._compensate(cancel.reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _process(self) -> None:
        inp = self._require_input()
        if self._order is None:
            self._order = await self._fetch_order()
        order = self._order
        await self._local(
            steps.RECORD_ORDER, RecordOrder(order_id=self._id, order=order, at=workflow.now())
        )
        if order.payment_status is PaymentStatus.APPROVED:
            self._paid, self._payment_id = True, self._payment_id or order.payment_id
        await self._checkpoint()

        self._reservation = await self._step(steps.RESERVE_STOCK, self._reserve)
        self._register(Compensation.RELEASE_STOCK)
        self._set_status(OrderStatus.RESERVED)
        await self._step(steps.REQUEST_STOCK_SYNC, self._sync_stock)
        await self._checkpoint()

        if not self._paid:
            self._set_status(OrderStatus.AWAITING_PAYMENT)
            await self._record_status(OrderStatus.AWAITING_PAYMENT)
            paid = await self._wait(
                lambda: self._paid, within=timedelta(seconds=inp.policy.payment_window_s)
            )
            await self._checkpoint()
            if not paid:
                raise _Cancel(f"payment not confirmed within {inp.policy.payment_window_s:g} s")
        self._set_status(OrderStatus.PAID)

        issued_at = workflow.now()
        number = await self._step(
            steps.PREPARE_INVOICE,
            lambda: self._local(
                steps.PREPARE_INVOICE,
                PrepareInvoice(order_id=self._id, paid_at=issued_at, payment_id=self._payment_id),
                int,
            ),
        )
        request = self._invoice_request(number, issued_at)
        self._invoice = await self._step(
            steps.EMIT_INVOICE,
            lambda: self._act(
                steps.EMIT_INVOICE,
                request,
                Invoice,
                start_to_close=steps.SEFAZ_TIMEOUT,
                deadline=steps.SEFAZ_DEADLINE,
            ),
            skip_type=Invoice,
        )
        self._register(Compensation.CANCEL_INVOICE)
        self._set_status(OrderStatus.INVOICED)
        await self._checkpoint()

        await self._step(steps.OPEN_WAREHOUSE_TASK, self._open_warehouse_task)
        self._set_status(OrderStatus.PICKING)
        while not self._done(WarehouseStep.CHECK):
            await self._wait(lambda: self._done(WarehouseStep.CHECK) or self._refetch)
            await self._checkpoint()

        self._booking = await self._step(steps.BOOK_SHIPMENT, self._book, skip_type=Booking)
        self._register(Compensation.CANCEL_PICKUP)
        await self._checkpoint()
        await self._step(steps.NOTIFY_SHIPPED, self._notify_shipped)
        await self._step(steps.DISPATCH, self._dispatch)
        self._set_status(OrderStatus.SHIPPED)

        while not self._delivered:
            arrived = await self._wait(
                lambda: self._delivered,
                within=timedelta(seconds=inp.policy.delivery_window_s),
                wake_on_cancel=False,
            )
            if arrived:
                break
            overdue = StepFailure(
                step="await_delivery",
                error_type="DeliveryOverdue",
                message="the carrier has not reported delivery within the delivery window",
                at=workflow.now(),
            )
            decision = await self._needs_attention(overdue, None)
            if decision.action is OpsAction.SKIP:  # delivery confirmed by hand
                self._delivered = True
        delivered_at = next(
            (t.at for t in self._tracking if t.status is TrackingStatus.DELIVERED), None
        )
        note = f"carrier reported delivery at {delivered_at.isoformat()}" if delivered_at else ""
        await self._local(
            steps.RECORD_TRACKING,
            StatusChange(
                order_id=self._id, status=OrderStatus.DELIVERED, at=workflow.now(), note=note
            ),
        )
        self._set_status(OrderStatus.DELIVERED)

    # ---------------------------------------------------------------- steps
    async def _fetch_order(self) -> Order:
        inp = self._require_input()
        request = FetchOrderRequest(channel=inp.channel, external_id=inp.external_id)
        return await self._step(
            steps.FETCH_ORDER, lambda: self._act(steps.FETCH_ORDER, request, Order)
        )

    async def _reserve(self) -> Reservation:
        order = self._require_order()
        request = ReserveRequest(
            order_id=self._id,
            idempotency_key=idempotency_key(self._id, "reserve"),
            quantities=order.quantities(),
        )
        reservation = await self._local(steps.RESERVE_STOCK, request, Reservation)
        if not reservation.reserved:
            raise ApplicationError(
                "not enough stock: " + reservation.describe_shortages(),
                type=steps.OUT_OF_STOCK,
                non_retryable=True,
            )
        return reservation

    async def _sync_stock(self) -> None:
        """Ask each SKU's stock-sync workflow to push the new availability everywhere."""
        skus = tuple(sorted(self._require_order().quantities()))
        push = StockPush(skus=skus, idempotency_key=idempotency_key(self._id, "stock_sync"))
        await self._local(steps.REQUEST_STOCK_SYNC, push)

    def _invoice_request(self, number: int, issued_at: datetime) -> InvoiceRequest:
        order = self._require_order()
        products = {p.sku: p for p in self._require_reservation().products}
        lines = tuple(
            InvoiceLine(
                sku=item.sku,
                description=products[item.sku].name,
                ncm=products[item.sku].ncm,
                quantity=item.quantity,
                unit_price=item.unit_price,
            )
            for item in order.items
        )
        return InvoiceRequest(
            order_id=self._id,
            order=order,
            lines=lines,
            number=number,
            series=1,
            issued_at=issued_at,
            idempotency_key=idempotency_key(self._id, "invoice"),
        )

    async def _open_warehouse_task(self) -> None:
        request = WarehouseTaskRequest(
            order_id=self._id,
            idempotency_key=idempotency_key(self._id, "warehouse"),
            quantities=self._require_order().quantities(),
        )
        await self._local(steps.OPEN_WAREHOUSE_TASK, request)

    async def _book(self) -> Booking:
        inp, order = self._require_input(), self._require_order()
        products = {p.sku: p for p in self._require_reservation().products}
        parcel = parcel_for(
            (
                (i.quantity, products[i.sku].weight_g, products[i.sku].height_cm,
                 products[i.sku].width_cm, products[i.sku].length_cm)
                for i in order.items
            ),
            order.merchandise_total,
        )  # fmt: skip
        quotes = await self._act(
            steps.QUOTE_FREIGHT,
            QuoteRequest(
                order_id=self._id,
                from_postal_code=inp.policy.from_postal_code,
                to_postal_code=order.customer.address.postal_code,
                parcel=parcel,
            ),
            QuoteSet,
        )
        quote = choose_quote(quotes.quotes, max_days=inp.policy.max_delivery_days)
        request = BookingRequest(
            order_id=self._id,
            idempotency_key=idempotency_key(self._id, "booking"),
            quote=quote,
            parcel=parcel,
            recipient_name=order.customer.name,
            recipient_address=order.customer.address,
            invoice_key=self._invoice.access_key if self._invoice else None,
        )
        return await self._act(steps.BOOK_SHIPMENT, request, Booking)

    async def _notify_shipped(self) -> None:
        order, booking = self._require_order(), self._booking
        assert booking is not None
        notice = ShippedNotice(
            order_id=self._id,
            idempotency_key=idempotency_key(self._id, "notify_shipped"),
            channel=order.channel,
            external_id=order.external_id,
            tracking_code=booking.tracking_code,
            carrier=booking.carrier,
            invoice_key=self._invoice.access_key if self._invoice else "",
        )
        await self._act(steps.NOTIFY_SHIPPED, notice)

    async def _dispatch(self) -> None:
        request = DispatchRequest(
            order_id=self._id,
            idempotency_key=idempotency_key(self._id, "dispatch"),
            at=workflow.now(),
        )
        await self._local(steps.DISPATCH, request)

    # ---------------------------------------------------------------- compensation
    async def _compensate(self, reason: str) -> None:
        self._cancel_reason = self._cancel_reason or reason
        self._compensating = True
        self._set_status(OrderStatus.CANCELLING)
        if self._order is not None:
            await self._record_status(OrderStatus.CANCELLING, self._cancel_reason)
        while pending := self._pending_undos():
            undo = pending[0]
            await self._step(f"undo_{undo.value}", lambda undo=undo: self._undo(undo))  # type: ignore[misc]
            self._undone.append(undo)
        if self._order is not None:
            order = self._order
            notice = CancelledNotice(
                order_id=self._id,
                idempotency_key=idempotency_key(self._id, "notify_cancelled"),
                channel=order.channel,
                external_id=order.external_id,
                reason=self._cancel_reason[:500],
            )
            await self._step(
                steps.NOTIFY_CANCELLED, lambda: self._act(steps.NOTIFY_CANCELLED, notice)
            )
            await self._record_status(OrderStatus.CANCELLED, self._cancel_reason)
        self._set_status(OrderStatus.CANCELLED)
        await self._refund_late_payment()

    def _pending_undos(self) -> list[Compensation]:
        """What is left to undo; a payment that arrived at any point is refunded."""
        if self._refund_due():
            self._register(Compensation.REFUND)
        return [u for u in undo_plan(self._registered) if u not in self._undone]

    def _refund_due(self) -> bool:
        inp = self._require_input()
        return (
            self._paid
            and self._payment_id is not None
            and inp.channel is Channel.STORE
            and Compensation.REFUND not in self._undone
        )

    async def _refund_late_payment(self) -> None:
        """A Pix or boleto can be paid after the order was cancelled: keep listening for a
        while, and give the money back if it comes."""
        inp = self._require_input()
        if inp.channel is not Channel.STORE:
            return
        if not self._paid:
            grace = timedelta(seconds=inp.policy.late_payment_grace_s)
            if not await self._wait(lambda: self._paid, within=grace, wake_on_cancel=False):
                return
        if self._refund_due():  # paid after the undo steps had run
            self._notes.append("payment arrived after the cancellation: refunded")
            await self._step("undo_refund", lambda: self._undo(Compensation.REFUND))
            self._undone.append(Compensation.REFUND)

    async def _undo(self, undo: Compensation) -> None:
        if undo is Compensation.CANCEL_PICKUP:
            assert self._booking is not None
            await self._act(steps.CANCEL_PICKUP, self._booking)
        elif undo is Compensation.CANCEL_INVOICE:
            await self._cancel_invoice()
        elif undo is Compensation.RELEASE_STOCK:
            request = ReleaseRequest(
                order_id=self._id, idempotency_key=idempotency_key(self._id, "release")
            )
            await self._local(steps.RELEASE_STOCK, request)
            await self._sync_stock()
        elif undo is Compensation.REFUND:
            order = self._require_order()
            assert self._payment_id is not None
            refund = RefundRequest(
                order_id=self._id,
                idempotency_key=idempotency_key(self._id, "refund"),
                payment_id=self._payment_id,
                amount=self._paid_amount or order.total,
            )
            await self._act(steps.REFUND, refund, Refund)

    async def _cancel_invoice(self) -> None:
        inp, invoice = self._require_input(), self._invoice
        assert invoice is not None
        request = InvoiceCancellationRequest(
            order_id=self._id,
            access_key=invoice.access_key,
            protocol=invoice.protocol,
            reason=f"Pedido cancelado: {self._cancel_reason or 'cancelamento'}"[:255].ljust(
                15, "."
            ),
            authorised_at=invoice.authorised_at,
            requested_at=workflow.now(),
        )
        age = (workflow.now() - invoice.authorised_at).total_seconds()
        if age > inp.policy.invoice_cancel_window_s:
            self._notes.append("NF-e past the cancellation window: a return invoice is needed")
            await self._local(steps.FLAG_RETURN_INVOICE, request)
            return
        await self._act(
            steps.CANCEL_INVOICE,
            request,
            InvoiceCancellation,
            start_to_close=steps.SEFAZ_TIMEOUT,
            deadline=steps.SEFAZ_DEADLINE,
        )

    async def _record_status(self, status: OrderStatus, note: str = "") -> None:
        change = StatusChange(order_id=self._id, status=status, at=workflow.now(), note=note)
        await self._local(steps.RECORD_STATUS, change)

    def _register(self, undo: Compensation) -> None:
        if undo not in self._registered:
            self._registered.append(undo)

    # ---------------------------------------------------------------- needs attention
    async def _step(
        self,
        name: str,
        action: Callable[[], Awaitable[T]],
        *,
        skip_type: type[BaseModel] | None = None,
    ) -> T:
        """Run a step; when it fails for good, wait for ops to retry, skip or compensate."""
        while True:
            try:
                return await action()
            except (ActivityError, ApplicationError, DomainError) as err:
                failure = self._failure_from(name, err)
            decision = await self._needs_attention(failure, skip_type)
            if decision.action is OpsAction.RETRY:
                continue
            if decision.action is OpsAction.SKIP:
                if skip_type is None:
                    return None  # type: ignore[return-value]
                return skip_type.model_validate(decision.data or {})  # type: ignore[return-value]
            raise _Cancel(decision.reason or f"ops chose to compensate at step {name}")

    def _failure_from(self, step: str, err: Exception) -> StepFailure:
        cause: BaseException = err
        attempts = 0
        prefix = ""
        if isinstance(err, ActivityError):
            cause = err.cause or err
        if isinstance(cause, StepTimeout) and cause.cause is not None:
            kind = cause.type.name if cause.type else "timeout"
            prefix = f"still failing when the step's deadline passed ({kind}): "
            cause = cause.cause
        if isinstance(cause, ApplicationError):
            error_type = cause.type or "ApplicationError"
            if cause.details and isinstance(cause.details[0], dict):
                attempts = int(cause.details[0].get("attempt", 0))
            message = cause.message
        elif isinstance(cause, DomainError):
            error_type, message = cause.code, cause.message
        else:
            error_type, message = type(cause).__name__, str(cause) or type(cause).__name__
        return StepFailure(
            step=step,
            error_type=error_type,
            message=prefix + message,
            attempts=attempts,
            at=workflow.now(),
        )

    async def _needs_attention(
        self, failure: StepFailure, skip_type: type[BaseModel] | None
    ) -> OpsDecision:
        self._failure, self._skip_type = failure, skip_type
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(True), STUCK_STEP.value_set(failure.step)]
        )
        await self._local(
            steps.RECORD_ATTENTION,
            AttentionChange(order_id=self._id, at=workflow.now(), failure=failure),
        )
        await workflow.wait_condition(
            lambda: (
                self._decision is not None
                or (self._cancel_reason is not None and not self._compensating)
            )
        )
        decision = self._decision or OpsDecision(
            action=OpsAction.COMPENSATE, actor="channel", reason=self._cancel_reason or ""
        )
        self._decision, self._failure, self._skip_type = None, None, None
        workflow.upsert_search_attributes(
            [NEEDS_ATTENTION.value_set(False), STUCK_STEP.value_set("")]
        )
        await self._local(
            steps.RECORD_ATTENTION,
            AttentionChange(
                order_id=self._id, at=workflow.now(), failure=failure, decision=decision
            ),
        )
        return decision

    @workflow.update(name="decide")
    async def decide(self, decision: OpsDecision) -> str:
        self._decision = decision
        return f"{decision.action.value} accepted"

    @decide.validator
    def _validate_decision(self, decision: OpsDecision) -> None:
        if self._failure is None or self._decision is not None:
            raise ApplicationError("this order is not waiting for an ops decision", type="NotStuck")
        if decision.action is OpsAction.COMPENSATE and self._status not in CANCELLABLE:
            raise ApplicationError(
                f"an order in status {self._status.value} cannot be compensated: "
                "it has left the warehouse (handle it as a return)",
                type="NotCancellable",
            )
        if decision.action is OpsAction.COMPENSATE and self._compensating:
            raise ApplicationError(
                "the order is already being compensated: retry or skip this undo step",
                type="AlreadyCompensating",
            )
        if decision.action is OpsAction.SKIP and self._skip_type is not None:
            try:
                self._skip_type.model_validate(decision.data or {})
            except ValidationError as exc:
                raise ApplicationError(
                    f"skip needs the result of step {self._failure.step} by hand: {exc}",
                    type="InvalidSkipData",
                ) from None

    # ---------------------------------------------------------------- cancel, events
    @workflow.update(name="cancel")
    async def cancel(self, reason: str) -> str:
        self._request_cancel(reason or "cancelled by ops")
        return "cancelling"

    @cancel.validator
    def _validate_cancel(self, reason: str) -> None:
        if self._status not in CANCELLABLE or self._compensating:
            raise ApplicationError(
                f"an order in status {self._status.value} can no longer be cancelled",
                type="NotCancellable",
            )

    @workflow.signal(name="event")
    def event(self, ev: OrderEvent) -> None:
        if ev.event_id in self._seen:
            return
        self._seen.add(ev.event_id)
        if ev.kind is EventKind.ORDER_PLACED and ev.order is not None:
            if self._order is None:
                self._order = ev.order
        elif ev.kind is EventKind.ORDER_NOTIFIED:
            if self._notified and self._order is not None:
                self._refetch = True
            self._notified = True
        elif ev.kind is EventKind.ORDER_CANCELLED:
            if self._order is None and ev.order is not None:
                self._order = ev.order
            self._request_cancel(ev.reason or "cancelled by the channel")
        elif ev.kind is EventKind.PAYMENT_CONFIRMED:
            self._paid = True
            self._payment_id = ev.payment_id or self._payment_id
            self._paid_amount = ev.amount or self._paid_amount
        elif ev.kind is EventKind.TRACKING and ev.tracking is not None:
            self._tracking.append(ev.tracking)
            if ev.tracking.status is TrackingStatus.DELIVERED:
                self._delivered = True

    def _request_cancel(self, reason: str) -> None:
        if self._cancel_reason is not None:
            return
        if self._status in CANCELLABLE or self._order is None:
            self._cancel_reason = reason
        else:
            self._notes.append(f"cancellation refused in status {self._status.value}: {reason}")

    async def _checkpoint(self) -> None:
        """Between steps: re-read a marketplace order when notified again, and stop here
        if the order was cancelled."""
        if self._refetch and not self._compensating:
            self._refetch = False
            fresh = await self._fetch_order()
            if fresh.channel_cancelled:
                self._request_cancel("cancelled on the marketplace")
        order = self._order
        if order is not None and order.channel_cancelled:
            self._request_cancel("cancelled on the channel")
        if self._cancel_reason is not None:
            raise _Cancel(self._cancel_reason)

    # ---------------------------------------------------------------- warehouse
    @workflow.update(name="warehouse")
    async def warehouse(self, action: WarehouseAction) -> WarehouseRecord:
        done = [r for r in self._warehouse if r.step is action.step]
        if done:  # an operator's retry after a lost response: same answer
            return done[0]
        try:
            validate_action(action, self._steps_done(), self._require_order().quantities())
        except DomainError as exc:  # a concurrent update got there first
            raise ApplicationError(exc.message, type=exc.code) from None
        record = WarehouseRecord(
            step=action.step, operator=action.operator, shift=action.shift, at=workflow.now()
        )
        self._warehouse.append(record)
        status = WAREHOUSE_STATUS[action.step]
        self._set_status(status)
        await self._local(
            steps.RECORD_WAREHOUSE_STEP,
            WarehouseStepRecorded(order_id=self._id, record=record, status=status),
        )
        return record

    @warehouse.validator
    def _validate_warehouse(self, action: WarehouseAction) -> None:
        if self._cancel_reason is not None:
            raise ApplicationError(
                "this order is being cancelled: put the items back", type="Cancelled"
            )
        if self._status not in (OrderStatus.PICKING, OrderStatus.PICKED, OrderStatus.PACKED):
            if any(r.step is action.step for r in self._warehouse):
                return
            raise ApplicationError(
                f"the order is {self._status.value}, not in the warehouse", type="NotInWarehouse"
            )
        if any(r.step is action.step for r in self._warehouse):
            return
        try:
            validate_action(action, self._steps_done(), self._require_order().quantities())
        except DomainError as exc:
            raise ApplicationError(exc.message, type=exc.code) from None

    def _steps_done(self) -> list[WarehouseStep]:
        return [r.step for r in self._warehouse]

    def _done(self, step: WarehouseStep) -> bool:
        return step in self._steps_done()

    # ---------------------------------------------------------------- query, helpers
    @workflow.query(name="state")
    def state(self) -> OrderState:
        inp = self._require_input()
        return OrderState(
            order_id=self._id,
            channel=inp.channel,
            external_id=inp.external_id,
            status=self._status,
            order=self._order,
            paid=self._paid,
            payment_id=self._payment_id,
            invoice=self._invoice,
            booking=self._booking,
            warehouse=tuple(self._warehouse),
            tracking=tuple(self._tracking),
            failure=self._failure,
            compensations_registered=tuple(self._registered),
            compensations_done=tuple(self._undone),
            cancel_reason=self._cancel_reason,
            history=tuple(self._history),
            notes=tuple(self._notes),
        )

    def _set_status(self, status: OrderStatus) -> None:
        if status is self._status:
            return
        self._status = status
        self._history.append(StatusEntry(status=status, at=workflow.now()))
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])

    async def _wait(
        self,
        condition: Callable[[], bool],
        *,
        within: timedelta | None = None,
        wake_on_cancel: bool = True,
    ) -> bool:
        """Wait for `condition` (or a cancellation); False when the timeout fired first."""

        def ready() -> bool:
            return condition() or (wake_on_cancel and self._cancel_reason is not None)

        try:
            await workflow.wait_condition(ready, timeout=within)
        except TimeoutError:
            return False
        return condition()

    async def _act(
        self,
        name: str,
        arg: Any,
        result_type: type[T] | None = None,
        *,
        start_to_close: timedelta = steps.PROVIDER_TIMEOUT,
        deadline: timedelta = steps.PROVIDER_DEADLINE,
    ) -> T:
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close,
            schedule_to_close_timeout=deadline,
            retry_policy=steps.PROVIDER_RETRY,
        )

    async def _local(self, name: str, arg: Any, result_type: type[T] | None = None) -> T:
        return await workflow.execute_local_activity(  # type: ignore[no-any-return]
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=steps.LOCAL_TIMEOUT,
            retry_policy=steps.LOCAL_RETRY,
        )

    def _require_input(self) -> OrderWorkflowInput:
        assert self._input is not None
        return self._input

    def _require_order(self) -> Order:
        assert self._order is not None
        return self._order

    def _require_reservation(self) -> Reservation:
        assert self._reservation is not None
        return self._reservation

"""The order workflow: one durable workflow per order, from intake to delivery.

accept → reserve stock → push availability → wait for payment → emit NF-e → warehouse
(pick, pack, check by people) → quote and book a carrier → tell the channel → dispatch →
track until delivered. Any step that exhausts its retries or is rejected waits for an ops
decision (retry / skip / compensate); a cancellation runs the undos in reverse.

One class over one state (`OrderProgress`); needs attention, the saga and the warehouse
rules are composed helpers. Orders started before the crash-safe core (patch
`crash-safe-core`) replay and finish on the v1 path: every `crash_safe` branch below
keeps the v1 commands on the other side (docs/architecture.md, "Versioning")."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.channels import FetchOrderRequest, ShippedNotice
    from domain.events import EventKind, OrderEvent
    from domain.fiscal import Invoice, InvoiceRequest, invoice_lines
    from domain.freight import (
        Booking,
        BookingRequest,
        QuoteRequest,
        TrackingStatus,
        choose_quote,
        parcel_for_order,
    )
    from domain.orders import Order, OrderStatus, PaymentStatus, can_cancel
    from domain.saga import Compensation
    from domain.steps import (
        DispatchRequest,
        OrderState,
        OrderWorkflowInput,
        PrepareInvoice,
        RecordOrder,
        StatusChange,
        StatusEntry,
        WarehouseStepRecorded,
    )
    from domain.stock import Reservation, ReserveRequest
    from domain.warehouse import (
        WarehouseAction,
        WarehouseOutcome,
        WarehouseStep,
        WarehouseTaskRequest,
    )
    from workflows import steps
    from workflows.search import CHANNEL, NEEDS_ATTENTION, ORDER_STATUS

from workflows.attention import Attention, take_decision, validate_decision
from workflows.order_calls import OrderCalls
from workflows.order_state import CancelOrder, OrderProgress
from workflows.saga import Saga
from workflows.shipping import Shipping
from workflows.warehouse import take_warehouse_step, validate_warehouse, warehouse_outcome

CRASH_SAFE_CORE = "crash-safe-core"
FISCAL_LIFECYCLE = "fiscal-lifecycle"
SHIPPING_CARRIERS = "shipping-carriers"
SHIPPING_INCIDENTS = "shipping-incidents"
ORPHAN_CANCEL_WAIT = timedelta(hours=1)


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderWorkflowInput) -> None:
        self._s = OrderProgress(
            input=inp,
            order_id=workflow.info().workflow_id,
            crash_safe=workflow.patched(CRASH_SAFE_CORE),
            fiscal_lifecycle=workflow.patched(FISCAL_LIFECYCLE),
            carriers=workflow.patched(SHIPPING_CARRIERS),
            incident_paths=workflow.patched(SHIPPING_INCIDENTS),
        )
        self._calls = OrderCalls(self._s)
        self._attention = Attention(self._s, self._calls.steps)
        self._shipping = Shipping(self._calls, self._attention, self._overdue)
        self._saga = Saga(self._calls, self._attention, self._shipping)

    @workflow.run
    async def run(self, inp: OrderWorkflowInput) -> OrderState:
        s = self._s
        s.history.append(StatusEntry(status=s.status, at=workflow.now()))
        workflow.upsert_search_attributes(
            [
                CHANNEL.value_set(inp.channel.value),
                ORDER_STATUS.value_set(s.status.value),
                NEEDS_ATTENTION.value_set(False),
            ]
        )
        if not await self._arrival():
            s.notes.append("cancelled before the order itself ever arrived")
            s.set_status(OrderStatus.CANCELLED)
            if s.crash_safe:  # v2: a payment that came without its order goes back
                await self._calls.flush(s.cancel_reason or "", force=s.paid)
                await self._saga.refund_late_payment()
            return s.snapshot()
        try:
            await self._process()
        except CancelOrder as cancel:
            await self._saga.compensate(cancel.reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.snapshot()

    # ------------------------------------------------------------------ the flow
    async def _arrival(self) -> bool:
        """Wait for the order itself. A cancellation can overtake it (then give it a
        while to arrive); v2: a payment held for an order that does not arrive within
        the SLA asks ops (compensate refunds it)."""
        s, calls = self._s, self._calls

        def arrived() -> bool:
            return s.order is not None or s.notified

        if s.crash_safe:
            while not arrived() and s.cancel_reason is None:
                decision = await self._attention.wait_past_sla(
                    arrived, sla=_secs(s.input.policy.order_arrival_sla_s), overdue=self._missing
                )
                if decision is not None and decision.action is OpsAction.COMPENSATE:
                    s.request_cancel(decision.reason or "ops gave up waiting for the order")
                    return arrived()
            known = arrived()
        else:
            known = await calls.wait(arrived)
        if not known:
            known = await calls.wait(arrived, within=ORPHAN_CANCEL_WAIT, wake_on_cancel=False)
        return known

    def _missing(self) -> StepFailure:
        s = self._s
        held = f"payment {s.payment_id or '?'}" + (f" of {s.paid_amount}" if s.paid_amount else "")
        what = f"{held} was confirmed" if s.paid else "events arrived"
        return StepFailure(
            step="await_order",
            error_type="OrderMissing",
            message=f"{what} for this order, but the order itself has not arrived within "
            f"{s.input.policy.order_arrival_sla_s:g} s: check the channel; retry waits again, "
            "compensate gives the money back",
            at=workflow.now(),
        )

    async def _process(self) -> None:
        s, calls, attention = self._s, self._calls, self._attention
        policy = s.input.policy
        if s.order is None:
            s.order = await self._fetch_order()
        order = s.order
        await calls.call(
            steps.RECORD_ORDER, RecordOrder(order_id=s.order_id, order=order, at=workflow.now())
        )
        if order.payment_status is PaymentStatus.APPROVED:
            s.paid, s.payment_id = True, s.payment_id or order.payment_id
        await self._checkpoint()

        s.reservation = await attention.attempt(steps.RESERVE_STOCK.name, self._reserve)
        s.register(Compensation.RELEASE_STOCK)
        s.set_status(OrderStatus.RESERVED)
        await attention.attempt_or_skip(steps.REQUEST_STOCK_SYNC.name, calls.sync_stock)
        await self._checkpoint()

        if not s.paid:
            s.set_status(OrderStatus.AWAITING_PAYMENT)
            if not s.crash_safe:
                await calls.record_status_v1(OrderStatus.AWAITING_PAYMENT)
            paid = await calls.wait(lambda: s.paid, within=_secs(policy.payment_window_s))
            await self._checkpoint()
            if not paid:
                raise CancelOrder(f"payment not confirmed within {policy.payment_window_s:g} s")
        s.set_status(OrderStatus.PAID)

        await self._invoice()
        s.set_status(OrderStatus.INVOICED)
        await self._checkpoint()

        task = WarehouseTaskRequest(
            order_id=s.order_id,
            idempotency_key=calls.key("warehouse"),
            quantities=order.quantities(),
            at=workflow.now(),
        )
        await attention.attempt(
            steps.OPEN_WAREHOUSE_TASK.name, lambda: calls.call(steps.OPEN_WAREHOUSE_TASK, task)
        )
        s.set_status(OrderStatus.PICKING)
        await self._warehouse_done()

        if s.crash_safe:  # v2: a booking whose outcome is lost is still cancelled
            s.register(Compensation.CANCEL_PICKUP)
        s.booking = await attention.attempt_or_manual(steps.BOOK_SHIPMENT.name, self._book, Booking)
        s.register(Compensation.CANCEL_PICKUP)
        await self._checkpoint()
        if s.carriers:  # v4: the label (when the carrier has none) and the packing slip
            await attention.attempt_or_skip(
                steps.RENDER_SHIPPING_DOCUMENTS.name, self._shipping.documents
            )
            await self._checkpoint()
        if s.crash_safe:  # v2: from here the parcel is leaving; a cancellation is a return
            s.set_status(OrderStatus.DISPATCHING)
        await attention.attempt_or_skip(steps.NOTIFY_SHIPPED.name, self._notify_shipped)
        dispatch = DispatchRequest(
            order_id=s.order_id,
            idempotency_key=calls.key("dispatch"),
            at=workflow.now(),
            warehouse=tuple(s.warehouse),
        )
        await attention.attempt(steps.DISPATCH.name, lambda: calls.call(steps.DISPATCH, dispatch))
        s.set_status(OrderStatus.SHIPPED)
        await self._delivery()

    async def _fetch_order(self) -> Order:
        inp = self._s.input
        request = FetchOrderRequest(channel=inp.channel, external_id=inp.external_id)
        return await self._attention.attempt(
            steps.FETCH_ORDER.name, lambda: self._calls.call(steps.FETCH_ORDER, request)
        )

    async def _reserve(self) -> Reservation:
        s = self._s
        request = ReserveRequest(
            order_id=s.order_id,
            idempotency_key=self._calls.key("reserve"),
            quantities=s.require_order().quantities(),
        )
        reservation = await self._calls.call(steps.RESERVE_STOCK, request)
        if not reservation.reserved:
            raise ApplicationError(
                "not enough stock: " + reservation.describe_shortages(),
                type=steps.OUT_OF_STOCK,
                non_retryable=True,
            )
        return reservation

    async def _invoice(self) -> None:
        """Allocate the NF-e number (same order, same number) and have SEFAZ authorise."""
        s, calls, attention = self._s, self._calls, self._attention
        issued_at = workflow.now()
        prepare = PrepareInvoice(order_id=s.order_id, paid_at=issued_at, payment_id=s.payment_id)
        number = await attention.attempt(
            steps.PREPARE_INVOICE.name, lambda: calls.call(steps.PREPARE_INVOICE, prepare)
        )
        key = calls.key("invoice")

        def emission() -> InvoiceRequest:
            """Built for every attempt from the order as it is now: a retry that carries
            ops' correction of the address or CPF emits with the corrected data (without
            one, every attempt sends the same request, as before)."""
            order = s.require_order()
            s.emission = InvoiceRequest(
                order_id=s.order_id,
                order=order,
                lines=invoice_lines(order, s.require_reservation().products),
                number=number,
                series=1,
                issued_at=issued_at,
                idempotency_key=key,
            )
            return s.emission

        emission()
        if s.crash_safe:  # v2: an emission whose outcome is lost is still cancelled
            s.register(Compensation.CANCEL_INVOICE)
        s.invoice = await attention.attempt_or_manual(
            steps.EMIT_INVOICE.name, lambda: calls.call(steps.EMIT_INVOICE, emission()), Invoice
        )
        s.register(Compensation.CANCEL_INVOICE)

    async def _warehouse_done(self) -> None:
        """Wait for pick, pack and check (people); v2: past the SLA ops are told."""
        s = self._s

        def check_done() -> bool:
            return s.done(WarehouseStep.CHECK)

        while not check_done():
            if s.crash_safe:
                await self._calls.flush()
                decision = await self._attention.wait_past_sla(
                    lambda: check_done() or s.refetch,
                    sla=_secs(s.input.policy.warehouse_sla_s),
                    overdue=self._warehouse_late,
                )
                if decision is not None and decision.action is OpsAction.COMPENSATE:
                    raise CancelOrder(decision.reason or "ops cancelled it in the warehouse")
            else:
                await self._calls.wait(lambda: check_done() or s.refetch)
            await self._checkpoint()

    def _warehouse_late(self) -> StepFailure:
        s = self._s
        done = ", ".join(step.value for step in s.steps_done()) or "nothing"
        return StepFailure(
            step="await_warehouse",
            error_type="WarehouseOverdue",
            message=f"not picked, packed and checked within {s.input.policy.warehouse_sla_s:g} s "
            f"(done so far: {done}): find the order on the floor; the flag clears by itself "
            "when the check is recorded, retry waits another period, compensate cancels it",
            at=workflow.now(),
        )

    async def _book(self) -> Booking:
        s, calls = self._s, self._calls
        if s.carriers:  # v4: every carrier quoted, the portal's bot, marketplace logistics
            return await self._shipping.book()
        order, policy = s.require_order(), s.input.policy
        parcel = parcel_for_order(
            ((i.sku, i.quantity) for i in order.items),
            s.require_reservation().products,
            order.merchandise_total,
        )
        quotes = await calls.call(
            steps.QUOTE_FREIGHT,
            QuoteRequest(
                order_id=s.order_id,
                from_postal_code=policy.from_postal_code,
                to_postal_code=order.customer.address.postal_code,
                parcel=parcel,
            ),
        )
        quote = choose_quote(quotes.quotes, max_days=policy.max_delivery_days)
        request = BookingRequest(
            order_id=s.order_id,
            idempotency_key=calls.key("booking"),
            quote=quote,
            parcel=parcel,
            recipient_name=order.customer.name,
            recipient_address=order.customer.address,
            invoice_key=s.invoice.access_key if s.invoice else None,
        )
        return await calls.call(steps.BOOK_SHIPMENT, request)

    async def _notify_shipped(self) -> None:
        s = self._s
        order, booking = s.require_order(), s.booking
        if booking is None:
            raise RuntimeError(f"{s.order_id}: nothing booked to tell the channel about")
        notice = ShippedNotice(
            order_id=s.order_id,
            idempotency_key=self._calls.key("notify_shipped"),
            channel=order.channel,
            external_id=order.external_id,
            tracking_code=booking.tracking_code,
            carrier=booking.carrier,
            invoice_key=s.invoice.access_key if s.invoice else "",
            kind=booking.kind,
        )
        await self._calls.call(steps.NOTIFY_SHIPPED, notice)

    async def _delivery(self) -> None:
        """Track until delivered; past the delivery window ops are asked (skip: the
        customer has it)."""
        s, calls = self._s, self._calls
        window = _secs(s.input.policy.delivery_window_s)
        if s.carriers:  # v4: polled when the carrier is silent, incidents go to ops
            await self._shipping.track()
        if s.returned:  # v5: back to the sender and into stock (`shipping-incidents`)
            s.set_status(OrderStatus.RETURNED)
            await calls.flush("returned to the sender; its items are back in stock")
            return
        while not s.delivered:
            if s.crash_safe:
                await calls.flush()
                decision = await self._attention.wait_past_sla(
                    lambda: s.delivered, sla=window, overdue=self._overdue, can_skip=True
                )
                if decision is not None and decision.action is OpsAction.SKIP:
                    s.delivered = True  # delivery confirmed by hand
                continue
            if await calls.wait(lambda: s.delivered, within=window, wake_on_cancel=False):
                break
            decision = await self._attention.ask(self._overdue(), None, can_skip=True)
            if decision.action is OpsAction.SKIP:  # delivery confirmed by hand
                s.delivered = True
        delivered_at = next(
            (t.at for t in s.tracking if t.status is TrackingStatus.DELIVERED), None
        )
        note = f"carrier reported delivery at {delivered_at.isoformat()}" if delivered_at else ""
        if s.crash_safe:
            s.set_status(OrderStatus.DELIVERED)
            change = s.status_change(note).model_copy(update={"occurred_at": delivered_at})
        else:
            change = StatusChange(
                order_id=s.order_id,
                status=OrderStatus.DELIVERED,
                at=workflow.now(),
                note=note,
                occurred_at=delivered_at,
            )
        await calls.call(steps.RECORD_TRACKING, change)
        s.set_status(OrderStatus.DELIVERED)

    def _overdue(self) -> StepFailure:
        return StepFailure(
            step="await_delivery",
            error_type="DeliveryOverdue",
            message="the carrier has not reported delivery within the delivery window",
            at=workflow.now(),
        )

    async def _checkpoint(self) -> None:
        """Between steps: re-read a marketplace order when notified again, and stop here
        if the order was cancelled."""
        s = self._s
        if s.refetch and not s.compensating:
            s.refetch = False
            fresh = await self._fetch_order()
            if fresh.channel_cancelled:
                s.request_cancel("cancelled on the marketplace")
        s.checkpoint()

    # ------------------------------------------------------------------ handlers
    @workflow.signal(name=steps.EVENT_SIGNAL)
    def event(self, ev: OrderEvent) -> None:
        s = self._s
        if ev.event_id in s.seen:
            return
        s.seen.add(ev.event_id)
        if ev.kind is EventKind.ORDER_PLACED and ev.order is not None:
            if s.order is None:
                s.order = ev.order
        elif ev.kind is EventKind.ORDER_NOTIFIED:
            if s.notified and s.order is not None:
                s.refetch = True
            s.notified = True
        elif ev.kind is EventKind.ORDER_CANCELLED:
            if s.order is None and ev.order is not None:
                s.order = ev.order
            s.request_cancel(ev.reason or "cancelled by the channel")
        elif ev.kind is EventKind.PAYMENT_CONFIRMED:
            s.paid = True
            s.payment_id = ev.payment_id or s.payment_id
            s.paid_amount = ev.amount or s.paid_amount
        elif ev.kind is EventKind.TRACKING and ev.tracking is not None:
            s.tracking.append(ev.tracking)
            if ev.tracking.status is TrackingStatus.DELIVERED:
                s.delivered = True

    @workflow.update(name=steps.WAREHOUSE_UPDATE)
    async def warehouse(self, action: WarehouseAction) -> WarehouseOutcome:
        """A warehouse step. v2 writes nothing here: the answer is durable once returned
        and the caller records it (an Update's own writes can outlive a lost task)."""
        s = self._s
        record, new = take_warehouse_step(s, action)
        if new and not s.crash_safe:
            recorded = WarehouseStepRecorded(order_id=s.order_id, record=record, status=s.status)
            await self._calls.call(steps.RECORD_WAREHOUSE_STEP, recorded)
        return warehouse_outcome(s, record)

    @warehouse.validator
    def _validate_warehouse(self, action: WarehouseAction) -> None:
        validate_warehouse(self._s, action)

    @workflow.update(name=steps.DECIDE_UPDATE)
    async def decide(self, decision: OpsDecision) -> str:
        take_decision(self._s, decision)
        return f"{decision.action.value} accepted"

    @decide.validator
    def _validate_decision(self, decision: OpsDecision) -> None:
        validate_decision(self._s, decision)

    @workflow.update(name=steps.CANCEL_UPDATE)
    async def cancel(self, reason: str) -> str:
        self._s.request_cancel(reason or "cancelled by ops")
        return "cancelling"

    @cancel.validator
    def _validate_cancel(self, reason: str) -> None:
        s = self._s
        if not can_cancel(s.status) or s.compensating:
            raise ApplicationError(
                f"an order in status {s.status.value} can no longer be cancelled",
                type="NotCancellable",
            )

    @workflow.query(name=steps.STATE_QUERY)
    def state(self) -> OrderState:
        return self._s.snapshot()


def _secs(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)

"""The order workflow: one durable workflow per order, from intake to delivery.

accept → reserve stock → push availability → wait for payment → emit NF-e → warehouse
(pick, pack, check by people) → quote and book a carrier → tell the channel → dispatch →
track until delivered. Any step that exhausts its retries or is rejected waits for an ops
decision (retry / skip / compensate); a cancellation runs the registered undos in reverse."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, StepFailure
    from domain.channels import FetchOrderRequest, ShippedNotice
    from domain.events import EventKind, OrderEvent
    from domain.fiscal import (
        Invoice,
        InvoiceLine,
        InvoiceRequest,
    )
    from domain.freight import (
        Booking,
        BookingRequest,
        QuoteRequest,
        QuoteSet,
        TrackingStatus,
        choose_quote,
        parcel_for,
    )
    from domain.ids import idempotency_key
    from domain.orders import Order, OrderStatus, PaymentStatus
    from domain.saga import Compensation
    from domain.steps import (
        DispatchRequest,
        OrderState,
        OrderWorkflowInput,
        PrepareInvoice,
        RecordOrder,
        StatusChange,
        StatusEntry,
    )
    from domain.stock import Reservation, ReserveRequest
    from domain.warehouse import (
        WarehouseStep,
        WarehouseTaskRequest,
    )
    from workflows import steps
    from workflows.search import CHANNEL, NEEDS_ATTENTION, ORDER_STATUS

from workflows.order_base import CancelOrder
from workflows.order_saga import SagaMixin

ORPHAN_CANCEL_WAIT = timedelta(hours=1)


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow(SagaMixin):
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
        except CancelOrder as cancel:
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
        await self._step(steps.REQUEST_STOCK_SYNC, self._sync_stock, skippable=True)
        await self._checkpoint()

        if not self._paid:
            self._set_status(OrderStatus.AWAITING_PAYMENT)
            await self._record_status(OrderStatus.AWAITING_PAYMENT)
            paid = await self._wait(
                lambda: self._paid, within=timedelta(seconds=inp.policy.payment_window_s)
            )
            await self._checkpoint()
            if not paid:
                raise CancelOrder(f"payment not confirmed within {inp.policy.payment_window_s:g} s")
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
        await self._step(steps.NOTIFY_SHIPPED, self._notify_shipped, skippable=True)
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
            decision = await self._needs_attention(overdue, None, can_skip=True)
            if decision.action is OpsAction.SKIP:  # delivery confirmed by hand
                self._delivered = True
        delivered_at = next(
            (t.at for t in self._tracking if t.status is TrackingStatus.DELIVERED), None
        )
        note = f"carrier reported delivery at {delivered_at.isoformat()}" if delivered_at else ""
        await self._local(
            steps.RECORD_TRACKING,
            StatusChange(
                order_id=self._id,
                status=OrderStatus.DELIVERED,
                at=workflow.now(),
                note=note,
                occurred_at=delivered_at,
            ),
        )
        self._set_status(OrderStatus.DELIVERED)

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
            raise CancelOrder(self._cancel_reason)

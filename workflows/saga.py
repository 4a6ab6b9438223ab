"""Cancellation and compensation (saga): the undos in their fixed order, refunds owed
whatever moment the payment arrived.

v2 (crash-safe core): undos whose effect is a local database write (release the stock
and take the task off the floor, give up the NF-e number) run on every cancellation,
keyed by the order, because that write may have committed in a workflow task that was
lost; provider undos (pickup, NF-e) run as soon as their step was asked for, and look
the effect up at the provider themselves."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.channels import CancelledNotice
    from domain.fiscal import (
        InvoiceCancellationRequest,
        InvoiceNumberVoid,
        InvoiceStatus,
        cancellation_reason,
        within_cancel_window,
    )
    from domain.fiscal_lifecycle import NumberVoiding, ReturnInvoiceRequest, void_reason
    from domain.freight import PickupCancellation
    from domain.orders import Channel, OrderStatus
    from domain.payments import RefundRequest
    from domain.saga import ALWAYS_UNDONE, Compensation, refund_due, undo_plan
    from domain.stock import ReleaseRequest
    from workflows import steps

from workflows.attention import Attention
from workflows.order_calls import OrderCalls
from workflows.order_state import OrderProgress
from workflows.shipping import Shipping


class Saga:
    def __init__(self, calls: OrderCalls, attention: Attention, shipping: Shipping) -> None:
        self._calls = calls
        self._attention = attention
        self._shipping = shipping
        self._s: OrderProgress = calls.s

    async def compensate(self, reason: str) -> None:
        s, calls = self._s, self._calls
        s.cancel_reason = s.cancel_reason or reason
        s.compensating = True
        s.set_status(OrderStatus.CANCELLING)
        if s.order is not None:
            if s.crash_safe:
                await calls.flush(s.cancel_reason)
            else:
                await calls.record_status_v1(OrderStatus.CANCELLING, s.cancel_reason)
        while pending := self._pending_undos():
            undo = pending[0]
            await self._attention.attempt_or_skip(  # skipped: undone by hand
                f"undo_{undo.value}", partial(self._undo, undo)
            )
            s.undone.append(undo)
        if s.order is not None:
            order = s.order
            notice = CancelledNotice(
                order_id=s.order_id,
                idempotency_key=calls.key("notify_cancelled"),
                channel=order.channel,
                external_id=order.external_id,
                reason=s.cancel_reason[:500],
            )
            await self._attention.attempt_or_skip(
                steps.NOTIFY_CANCELLED.name, lambda: calls.call(steps.NOTIFY_CANCELLED, notice)
            )
            if not s.crash_safe:
                await calls.record_status_v1(OrderStatus.CANCELLED, s.cancel_reason)
        s.set_status(OrderStatus.CANCELLED)
        if s.crash_safe:
            await calls.flush(s.cancel_reason)
        await self.refund_late_payment()

    def _pending_undos(self) -> list[Compensation]:
        """What is left to undo; a payment that arrived at any point is refunded."""
        s = self._s
        if self._refund_due():
            s.register(Compensation.REFUND)
        if s.crash_safe and s.order is not None:
            for undo in ALWAYS_UNDONE if s.paid else (Compensation.RELEASE_STOCK,):
                s.register(undo)  # keyed by the order: harmless when nothing was done
        return [u for u in undo_plan(s.registered) if u not in s.undone]

    def _refund_due(self) -> bool:
        s = self._s
        return refund_due(
            paid=s.paid,
            payment_known=s.payment_id is not None,
            channel=s.input.channel,
            refunded=Compensation.REFUND in s.undone,
        )

    async def refund_late_payment(self) -> None:
        """A Pix or boleto can be paid after the order was cancelled: keep listening for
        a while, and give the money back if it comes."""
        s = self._s
        if s.input.channel is not Channel.STORE:
            return
        if not s.paid:
            grace = s.input.policy.late_payment_grace_s
            paid = await self._calls.wait(
                lambda: s.paid, within=timedelta(seconds=grace), wake_on_cancel=False
            )
            if not paid:
                return
        if self._refund_due():  # paid after the undo steps had run
            s.notes.append("payment arrived after the cancellation: refunded")
            await self._attention.attempt_or_skip(
                "undo_refund", partial(self._undo, Compensation.REFUND)
            )
            s.undone.append(Compensation.REFUND)

    async def _undo(self, undo: Compensation) -> None:
        s, calls = self._s, self._calls
        if undo is Compensation.CANCEL_PICKUP and s.carriers:
            await self._shipping.cancel()
        elif undo is Compensation.CANCEL_PICKUP:
            shipment = s.booking.shipment_id if s.booking else None
            await calls.call(
                steps.CANCEL_PICKUP, PickupCancellation(order_id=s.order_id, shipment_id=shipment)
            )
        elif undo is Compensation.CANCEL_INVOICE and s.fiscal_lifecycle:
            await self._cancel_or_return_invoice()
        elif undo is Compensation.CANCEL_INVOICE:
            await self._cancel_invoice()
        elif undo is Compensation.VOID_INVOICE_NUMBER and s.fiscal_lifecycle:
            voiding = NumberVoiding(
                order_id=s.order_id,
                reason=void_reason(s.cancel_reason or ""),
                at=workflow.now(),
            )
            await calls.call(steps.VOID_NUMBER_AT_SEFAZ, voiding)
        elif undo is Compensation.VOID_INVOICE_NUMBER:
            await calls.call(
                steps.VOID_INVOICE_NUMBER,
                InvoiceNumberVoid(order_id=s.order_id, at=workflow.now()),
            )
        elif undo is Compensation.RELEASE_STOCK:
            request = ReleaseRequest(order_id=s.order_id, idempotency_key=calls.key("release"))
            released = await calls.call(steps.RELEASE_STOCK, request)
            if released or not s.crash_safe:
                await calls.sync_stock()
        elif undo is Compensation.REFUND:
            amount = s.paid_amount or (s.order.total if s.order else None)
            if s.payment_id is None or amount is None:
                raise RuntimeError(
                    f"{s.order_id}: the payment's id or amount is unknown; refund it by hand"
                )
            refund = RefundRequest(
                order_id=s.order_id,
                idempotency_key=calls.key("refund"),
                payment_id=s.payment_id,
                amount=amount,
            )
            await calls.call(steps.REFUND, refund)

    async def _cancel_invoice(self) -> None:
        s, calls = self._s, self._calls
        policy = s.input.policy
        reason = cancellation_reason(s.cancel_reason or "")
        invoice = s.invoice
        if invoice is None:  # v2: asked of SEFAZ, outcome never came back
            if s.emission is None:
                return
            request = InvoiceCancellationRequest(
                order_id=s.order_id,
                reason=reason,
                requested_at=workflow.now(),
                emission=s.emission,
                window_s=policy.invoice_cancel_window_s,
            )
            await calls.call(steps.CANCEL_INVOICE, request)
            return
        request = InvoiceCancellationRequest(
            order_id=s.order_id,
            access_key=invoice.access_key,
            protocol=invoice.protocol,
            reason=reason,
            authorised_at=invoice.authorised_at,
            requested_at=workflow.now(),
        )
        if not within_cancel_window(
            invoice.authorised_at, workflow.now(), policy.invoice_cancel_window_s
        ):
            s.notes.append("NF-e past the cancellation window: a return invoice is needed")
            await calls.call(steps.FLAG_RETURN_INVOICE, request)
            return
        await calls.call(steps.CANCEL_INVOICE, request)

    async def _cancel_or_return_invoice(self) -> None:
        """v3 (`fiscal-lifecycle`): ask SEFAZ to cancel; past the window or once the goods
        circulated (501/219) the service says so, and a return NF-e undoes the sale."""
        s, calls = self._s, self._calls
        policy = s.input.policy
        reason = cancellation_reason(s.cancel_reason or "")
        invoice = s.invoice
        if invoice is None and s.emission is None:
            return
        request = InvoiceCancellationRequest(
            order_id=s.order_id,
            access_key=invoice.access_key if invoice else None,
            protocol=invoice.protocol if invoice else None,
            reason=reason,
            authorised_at=invoice.authorised_at if invoice else None,
            requested_at=workflow.now(),
            emission=None if invoice else s.emission,
            window_s=policy.invoice_cancel_window_s,
        )
        result = await calls.call(steps.CANCEL_INVOICE, request)
        if result.status is not InvoiceStatus.NEEDS_RETURN_INVOICE:
            return
        s.notes.append(f"NF-e {result.access_key} could not be cancelled: {result.message}")
        back = ReturnInvoiceRequest(
            order_id=s.order_id,
            refers_to=result.access_key,
            reason=reason,
            issued_at=workflow.now(),
            idempotency_key=calls.key("return_invoice"),
        )
        s.return_invoice = await calls.call(steps.EMIT_RETURN_INVOICE, back)
        s.notes.append(f"return NF-e {s.return_invoice.access_key} undoes the sale")

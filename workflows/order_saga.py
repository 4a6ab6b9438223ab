"""Cancellation and compensation (saga): the undos of completed steps in the fixed order,
refunds owed whatever moment the payment arrived, the `cancel` Update."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.channels import CancelledNotice
    from domain.fiscal import (
        InvoiceCancellation,
        InvoiceCancellationRequest,
    )
    from domain.ids import idempotency_key
    from domain.orders import Channel, OrderStatus
    from domain.payments import Refund, RefundRequest
    from domain.saga import Compensation, undo_plan
    from domain.stock import ReleaseRequest
    from workflows import steps

from workflows.order_base import CANCELLABLE
from workflows.order_warehouse import WarehouseMixin


class SagaMixin(WarehouseMixin):
    async def _compensate(self, reason: str) -> None:
        self._cancel_reason = self._cancel_reason or reason
        self._compensating = True
        self._set_status(OrderStatus.CANCELLING)
        if self._order is not None:
            await self._record_status(OrderStatus.CANCELLING, self._cancel_reason)
        while pending := self._pending_undos():
            undo = pending[0]
            await self._step(
                f"undo_{undo.value}",
                lambda undo=undo: self._undo(undo),  # type: ignore[misc]
                skippable=True,  # undone by hand
            )
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
                steps.NOTIFY_CANCELLED,
                lambda: self._act(steps.NOTIFY_CANCELLED, notice),
                skippable=True,
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
            await self._step("undo_refund", lambda: self._undo(Compensation.REFUND), skippable=True)
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

    def _request_cancel(self, reason: str) -> None:
        if self._cancel_reason is not None:
            return
        if self._status in CANCELLABLE or self._order is None:
            self._cancel_reason = reason
        else:
            self._notes.append(f"cancellation refused in status {self._status.value}: {reason}")

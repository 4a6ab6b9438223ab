"""Payment activities: refunds (idempotent by key at the gateway), reading a payment a
thin notification names, and handing the order its payment event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from db.audit import AuditLog
from domain.payments import FetchPaymentRequest, OrderDelivery, Payment, Refund, RefundRequest
from integrations.payments.client import PaymentsClient
from workflows import steps
from workflows.steps import implements

# Signal-with-start of an order workflow; returns a line saying what happened.
OrderDeliverer = Callable[[OrderDelivery], Awaitable[str]]


class PaymentActivities:
    def __init__(
        self,
        payments: PaymentsClient,
        audit: AuditLog,
        deliver: OrderDeliverer,
        accrue: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._payments = payments
        self._audit = audit
        self._deliver = deliver
        self._accrue = accrue

    @implements(steps.REFUND)
    async def refund_payment(self, request: RefundRequest) -> Refund:
        refund = await self._payments.refund(request)
        await self._audit.record(
            "workflow", "refund", request.order_id, refund.model_dump(mode="json"),
            key=request.idempotency_key,
        )  # fmt: skip
        if self._accrue is not None:  # the receivable follows the refund at once
            await self._accrue(request.order_id)
        return refund

    @implements(steps.FETCH_PAYMENT)
    async def fetch_payment(self, request: FetchPaymentRequest) -> Payment:
        """The payment as the gateway shows it now (a read: repeating is harmless)."""
        return await self._payments.get_payment(request.payment_id)

    @implements(steps.DELIVER_ORDER_EVENT)
    async def deliver_order_event(self, delivery: OrderDelivery) -> str:
        """Signal the order's workflow, starting it if the payment came first."""
        return await self._deliver(delivery)

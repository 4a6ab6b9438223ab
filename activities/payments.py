"""Payment activities: refunds, idempotent by key at the gateway."""

from __future__ import annotations

from db.audit import AuditLog
from domain.payments import Refund, RefundRequest
from integrations.payments.client import PaymentsClient
from workflows import steps
from workflows.steps import implements


class PaymentActivities:
    def __init__(self, payments: PaymentsClient, audit: AuditLog) -> None:
        self._payments = payments
        self._audit = audit

    @implements(steps.REFUND)
    async def refund_payment(self, request: RefundRequest) -> Refund:
        refund = await self._payments.refund(request)
        await self._audit.record(
            "workflow", "refund", request.order_id, refund.model_dump(mode="json"),
            key=request.idempotency_key,
        )  # fmt: skip
        return refund

"""Invoicing activities: number allocation (local), NF-e emission and cancellation at
SEFAZ (look before acting is inside the invoicing service)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db.invoices import InvoiceRepository
from db.orders import OrderReadModel
from domain.fiscal import (
    Invoice,
    InvoiceCancellation,
    InvoiceCancellationRequest,
    InvoiceRequest,
    InvoiceStatus,
)
from domain.orders import OrderStatus
from domain.steps import PrepareInvoice
from integrations.fiscal.service import InvoicingService
from workflows import steps


class InvoicingActivities:
    def __init__(
        self, service: InvoicingService, invoices: InvoiceRepository, orders: OrderReadModel
    ) -> None:
        self._service = service
        self._invoices = invoices
        self._orders = orders

    @activity.defn(name=steps.PREPARE_INVOICE)
    async def prepare_invoice(self, request: PrepareInvoice) -> int:
        """The order is paid: record it and allocate its NF-e number (same order, same
        number, however often this runs)."""
        await self._orders.set_status(request.order_id, OrderStatus.PAID, at=datetime.now(UTC))
        return await self._invoices.allocate_number(request.order_id, request.series)

    @activity.defn(name=steps.EMIT_INVOICE)
    async def emit_invoice(self, request: InvoiceRequest) -> Invoice:
        emitted = await self._service.emit(request)
        await self._invoices.record_authorised(emitted.invoice, emitted.proc_xml)
        await self._orders.set_status(
            request.order_id,
            OrderStatus.INVOICED,
            at=datetime.now(UTC),
            invoice_key=emitted.invoice.access_key,
        )
        return emitted.invoice

    @activity.defn(name=steps.CANCEL_INVOICE)
    async def cancel_invoice(self, request: InvoiceCancellationRequest) -> InvoiceCancellation:
        result = await self._service.cancel(request)
        await self._invoices.record_cancelled(request.order_id, result.status, datetime.now(UTC))
        return result

    @activity.defn(name=steps.FLAG_RETURN_INVOICE)
    async def flag_return_invoice(self, request: InvoiceCancellationRequest) -> None:
        await self._invoices.record_cancelled(
            request.order_id, InvoiceStatus.NEEDS_RETURN_INVOICE, request.requested_at
        )

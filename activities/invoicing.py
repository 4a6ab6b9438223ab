"""Invoicing activities: number allocation and voiding (local), NF-e emission and
cancellation at SEFAZ (look before acting is inside the invoicing service). The
documents (nfeProc, DANFE, event XML) are kept as part of the step that made them."""

from __future__ import annotations

from datetime import UTC, datetime

from db.invoices import InvoiceRepository
from db.orders import OrderReadModel
from domain.fiscal import (
    Invoice,
    InvoiceCancellation,
    InvoiceCancellationRequest,
    InvoiceNumberVoid,
    InvoiceRequest,
    InvoiceStatus,
)
from domain.ids import parse_order_workflow_id
from domain.steps import PrepareInvoice
from integrations.documents.nfe import NfeDocuments
from integrations.fiscal.service import InvoicingService
from workflows import steps
from workflows.steps import implements


class InvoicingActivities:
    def __init__(
        self,
        service: InvoicingService,
        invoices: InvoiceRepository,
        orders: OrderReadModel,
        documents: NfeDocuments,
    ) -> None:
        self._service = service
        self._invoices = invoices
        self._orders = orders
        self._documents = documents

    @implements(steps.PREPARE_INVOICE)
    async def prepare_invoice(self, request: PrepareInvoice) -> int:
        """The order's NF-e number: the same however often this runs, never another's."""
        return await self._invoices.allocate_number(request.order_id, request.series)

    @implements(steps.VOID_INVOICE_NUMBER)
    async def void_invoice_number(self, request: InvoiceNumberVoid) -> None:
        """A cancelled order gives its unused number up (a no-op when none or in use)."""
        await self._invoices.void_number(request.order_id, request.series, request.at)

    @implements(steps.EMIT_INVOICE)
    async def emit_invoice(self, request: InvoiceRequest) -> Invoice:
        emitted = await self._service.emit(request)
        await self._invoices.record_authorised(emitted.invoice, emitted.proc_xml)
        await self._documents.keep_authorised(emitted.invoice.access_key, emitted.proc_xml)
        channel, external_id = parse_order_workflow_id(request.order_id)
        await self._orders.upsert(
            request.order_id,
            channel,
            external_id,
            at=datetime.now(UTC),
            invoice_key=emitted.invoice.access_key,
        )
        return emitted.invoice

    @implements(steps.CANCEL_INVOICE)
    async def cancel_invoice(self, request: InvoiceCancellationRequest) -> InvoiceCancellation:
        """Cancel the order's NF-e; when its emission's outcome was never known, SEFAZ is
        consulted first and only an NF-e found there is cancelled."""
        result = await self._service.cancel(request)
        if result.status is not InvoiceStatus.NOT_AUTHORISED:
            await self._invoices.record_cancelled(
                request.order_id, result.status, request.requested_at
            )
        if result.status is InvoiceStatus.CANCELLED:
            await self._keep_events(result.access_key)
        return result

    async def _keep_events(self, access_key: str) -> None:
        """Store the NF-e's registered events (procEventoNFe) as SEFAZ holds them."""
        await self._documents.keep_events(await self._service.event_documents(access_key))

    @implements(steps.FLAG_RETURN_INVOICE)
    async def flag_return_invoice(self, request: InvoiceCancellationRequest) -> None:
        await self._invoices.record_cancelled(
            request.order_id, InvoiceStatus.NEEDS_RETURN_INVOICE, request.requested_at
        )

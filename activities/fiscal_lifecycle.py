"""What follows an NF-e's authorisation, at SEFAZ: the return NF-e that undoes a sale
past its window, the voiding of a number no NF-e will ever use, and the correction
letter. Each looks before it acts, so a retry after a lost answer changes nothing. The
return NF-e's documents and the CC-e's procEventoNFe go to the document store."""

from __future__ import annotations

from db.fiscal_lifecycle import FiscalLifecycleRepository
from db.invoices import InvoiceRepository
from domain.errors import ProviderRejected
from domain.fiscal_lifecycle import (
    Correction,
    CorrectionRequest,
    CorrectionStatus,
    NumberVoided,
    NumberVoiding,
    ReturnInvoice,
    ReturnInvoiceRequest,
    VoidingStatus,
    void_reason,
)
from integrations.documents.nfe import NfeDocuments
from integrations.fiscal.returns import return_allocation
from integrations.fiscal.service import InvoicingService
from workflows import steps
from workflows.steps import implements


class FiscalLifecycleActivities:
    def __init__(
        self,
        service: InvoicingService,
        invoices: InvoiceRepository,
        lifecycle: FiscalLifecycleRepository,
        documents: NfeDocuments,
    ) -> None:
        self._service = service
        self._invoices = invoices
        self._lifecycle = lifecycle
        self._documents = documents

    @implements(steps.EMIT_RETURN_INVOICE)
    async def emit_return_invoice(self, request: ReturnInvoiceRequest) -> ReturnInvoice:
        """The return NF-e of the order's sale NF-e: numbered once per order, built from
        the authorised sale document, authorised once."""
        done = await self._lifecycle.get_return(request.order_id)
        if done is not None:
            return done
        sale_xml = await self._invoices.get_xml(request.order_id)
        if sale_xml is None:
            raise ProviderRejected(
                f"{request.order_id}: the authorised NF-e {request.refers_to} is not stored, "
                "so its return NF-e cannot be built: emit it by hand and skip this step",
                provider="sefaz",
                code="sale_nfe_missing",
            )
        number = await self._invoices.allocate_number(
            return_allocation(request.order_id), request.series
        )
        emitted = await self._service.emit_return(request, number, sale_xml)
        # Before it is recorded: once recorded, a rerun returns early.
        await self._documents.keep_authorised(emitted.invoice.access_key, emitted.proc_xml)
        await self._lifecycle.record_return(emitted.invoice, emitted.proc_xml)
        return emitted.invoice

    @implements(steps.VOID_NUMBER_AT_SEFAZ)
    async def void_number_at_sefaz(self, request: NumberVoiding) -> NumberVoided:
        """Give the order's unused number up, here and at SEFAZ (inutilização)."""
        held = await self._lifecycle.give_up_number(request.order_id, request.series, request.at)
        if held is None:
            return NumberVoided(status=VoidingStatus.NONE, series=request.series)
        if held.in_use:
            return NumberVoided(
                status=VoidingStatus.IN_USE, series=request.series, number=held.number
            )
        if held.sefaz_voided_at is not None:
            return NumberVoided(
                status=VoidingStatus.VOIDED,
                series=request.series,
                number=held.number,
                protocol=held.voiding_protocol,
            )
        result = await self._service.void_number(
            series=request.series,
            number=held.number,
            reason=void_reason(request.reason),
            at=request.at,
        )
        await self._lifecycle.record_voided_at_sefaz(
            request.order_id, request.series, result.protocol, request.at
        )
        return NumberVoided(
            status=VoidingStatus.VOIDED,
            series=request.series,
            number=held.number,
            protocol=result.protocol,
        )

    @implements(steps.SEND_CORRECTION)
    async def send_invoice_correction(self, request: CorrectionRequest) -> Correction:
        result = await self._service.correct(request)
        if result.status is CorrectionStatus.REGISTERED:
            events = await self._service.event_documents(request.access_key)
            await self._documents.keep_events(events)
        await self._lifecycle.record_correction(request, result)
        return result

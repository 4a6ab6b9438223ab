"""Emitting and cancelling NF-e, safe to retry: look before you act.

SEFAZ has no idempotency key, but the access key is one: the same request always gives
the same key, so every attempt first consults SEFAZ by key and only sends when the
NF-e is not there yet. A response lost after SEFAZ authorised therefore never leads to
a second authorisation; and if two attempts race, SEFAZ answers the second with 204
(duplicity) and the service returns the first one's protocol.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import (
    Invoice,
    InvoiceCancellation,
    InvoiceCancellationRequest,
    InvoiceRequest,
    InvoiceStatus,
)
from integrations.fiscal.events import cancellation_event
from integrations.fiscal.nfe import NfeBuilder, digest_value, nfe_proc, protocol_digest
from integrations.fiscal.schema import XsdValidator, cancellation_event_schema, nfe_schema
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import PROVIDER, AuthorisationResult, ConsultResult, SefazClient

log = logging.getLogger(__name__)

AUTHORISED, CANCELLED, NOT_FOUND = 100, 101, 217
IN_PROCESS = frozenset({103, 105})
DUPLICITY = frozenset({204, 539})
EVENT_REGISTERED = frozenset({135, 136, 155})
EVENT_DUPLICITY = 573


@dataclass(frozen=True)
class EmittedInvoice:
    invoice: Invoice
    proc_xml: str  # the nfeProc: signed NF-e + protNFe, what the customer and channels get


class InvoicingService:
    def __init__(
        self,
        builder: NfeBuilder,
        signer: NfeSigner,
        sefaz: SefazClient,
        *,
        schema: XsdValidator | None = None,
        event_schema: XsdValidator | None = None,
    ) -> None:
        self._builder = builder
        self._signer = signer
        self._sefaz = sefaz
        self._schema = schema or nfe_schema()
        self._event_schema = event_schema or cancellation_event_schema()

    async def emit(self, request: InvoiceRequest) -> EmittedInvoice:
        """Authorise the request's NF-e once, however many times it is called.

        Raises ProviderUnavailable (retry later: SEFAZ down, 103/105 still processing,
        lost response) or ProviderRejected (SEFAZ said no; code `sefaz_<cStat>`)."""
        key = self._builder.access_key(request)
        found = await self._sefaz.consult(key)
        if found.cstat == AUTHORISED:
            return _emitted(request, key, await self._signed_off_loop(request), found)
        if found.cstat != NOT_FOUND:
            raise ProviderRejected(
                f"NF-e {key} of order {request.order_id} cannot be emitted: SEFAZ reports "
                f"{found.cstat} {found.reason}",
                provider=PROVIDER,
                code=f"sefaz_{found.cstat}",
            )
        signed = await self._signed_off_loop(request)
        self._schema.check(signed, f"NF-e {request.series}/{request.number} ({key})")
        result = await self._sefaz.authorise(signed)
        if result.cstat == AUTHORISED:
            return _emitted(request, key, signed, result)
        if result.cstat in IN_PROCESS:
            raise ProviderUnavailable(
                f"SEFAZ is still processing NF-e {key}: {result.cstat} {result.reason}",
                provider=PROVIDER,
                code=f"sefaz_{result.cstat}",
            )
        if result.cstat in DUPLICITY:
            found = await self._sefaz.consult(key)
            if found.cstat == AUTHORISED:
                return _emitted(request, key, signed, found)
        raise ProviderRejected(
            f"SEFAZ did not authorise NF-e {key}: {result.cstat} {result.reason}",
            provider=PROVIDER,
            code=f"sefaz_{result.cstat}",
        )

    async def _signed_off_loop(self, request: InvoiceRequest) -> str:
        """Build and sign (~20 ms of CPU) in a thread, so the worker's other activities
        keep running meanwhile."""
        return await asyncio.to_thread(self._signed, request)

    async def cancel(self, request: InvoiceCancellationRequest) -> InvoiceCancellation:
        """Cancel an authorised NF-e (event 110111); already cancelled counts as done.

        With only the emission known (its outcome was lost), SEFAZ is consulted by the
        emission's access key: nothing there gives NOT_AUTHORISED, an NF-e past
        `window_s` gives NEEDS_RETURN_INVOICE (SEFAZ would refuse with 501). SEFAZ
        refusing otherwise raises ProviderRejected(code="sefaz_<cStat>")."""
        key = request.access_key
        if key is None:
            if request.emission is None:  # the request model refuses this
                raise ValueError("a cancellation needs an access key or an emission")
            key = self._builder.access_key(request.emission)
        found = await self._sefaz.consult(key)
        if found.cstat == CANCELLED:
            return self._cancelled(key, found.cancellation_protocol, found.reason)
        if found.cstat == NOT_FOUND and request.access_key is None:
            return InvoiceCancellation(
                access_key=key,
                status=InvoiceStatus.NOT_AUTHORISED,
                message="SEFAZ has no NF-e for this emission: nothing to cancel",
            )
        if found.cstat != AUTHORISED:
            raise ProviderRejected(
                f"NF-e {key} cannot be cancelled: SEFAZ reports {found.cstat} {found.reason}",
                provider=PROVIDER,
                code=f"sefaz_{found.cstat}",
            )
        authorised_at = request.authorised_at or found.authorised_at
        if request.window_s is not None and authorised_at is not None:
            age = (request.requested_at - authorised_at).total_seconds()
            if age > request.window_s:
                return InvoiceCancellation(
                    access_key=key,
                    status=InvoiceStatus.NEEDS_RETURN_INVOICE,
                    message=f"authorised {age:.0f} s ago, past the cancellation window",
                )
        protocol = request.protocol or found.protocol
        if protocol is None:
            raise ProviderUnavailable(
                f"SEFAZ reported NF-e {key} authorised without its protocol",
                provider=PROVIDER,
                code="sefaz_bad_response",
            )
        known = request.model_copy(update={"access_key": key, "protocol": protocol})
        event = cancellation_event(self._builder.issuer, known)
        signed = self._signer.sign(event.xml, event.reference_id)
        self._event_schema.check(signed, f"cancellation event for {key}")
        result = await self._sefaz.send_event(signed)
        if result.cstat in EVENT_REGISTERED:
            return self._cancelled(key, result.protocol, result.reason)
        found = await self._sefaz.consult(key)  # 573: this event was registered before
        if found.cstat == CANCELLED:
            return self._cancelled(key, found.cancellation_protocol, found.reason)
        raise ProviderRejected(
            f"SEFAZ did not cancel NF-e {key}: {result.cstat} {result.reason}",
            provider=PROVIDER,
            code=f"sefaz_{result.cstat}",
        )

    def _signed(self, request: InvoiceRequest) -> str:
        built = self._builder.build(request)
        return self._signer.sign(built.xml, built.reference_id)

    @staticmethod
    def _cancelled(key: str, protocol: str | None, reason: str) -> InvoiceCancellation:
        return InvoiceCancellation(
            access_key=key, status=InvoiceStatus.CANCELLED, protocol=protocol, message=reason
        )


def _emitted(
    request: InvoiceRequest, key: str, signed: str, found: AuthorisationResult | ConsultResult
) -> EmittedInvoice:
    protocol = found.protocol
    prot_xml = found.prot_xml
    if not (protocol and prot_xml):
        raise ProviderUnavailable(
            f"SEFAZ reported NF-e {key} authorised without its protocol",
            provider=PROVIDER,
            code="sefaz_bad_response",
        )
    if digest_value(signed) != protocol_digest(prot_xml):
        # Only after a code change between attempts: the authorised document is SEFAZ's.
        log.warning("NF-e %s: the rebuilt document differs from the authorised one", key)
    authorised_at = (
        found.received_at if isinstance(found, AuthorisationResult) else found.authorised_at
    )
    invoice = Invoice(
        order_id=request.order_id,
        access_key=key,
        number=request.number,
        series=request.series,
        protocol=protocol,
        authorised_at=(authorised_at or datetime.now(UTC)).astimezone(UTC),
    )
    return EmittedInvoice(invoice=invoice, proc_xml=nfe_proc(signed, prot_xml))

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import (
    Invoice,
    InvoiceCancellation,
    InvoiceCancellationRequest,
    InvoiceRequest,
    InvoiceStatus,
)
from domain.fiscal_lifecycle import (
    Correction,
    CorrectionRequest,
    CorrectionStatus,
    EmissionFacts,
    Outage,
    ReturnInvoice,
    ReturnInvoiceRequest,
    contingency_due,
    contingency_key,
    contingency_reason,
)
from integrations.fiscal.contingency import EmissionJournal, in_contingency
from integrations.fiscal.events import cancellation_event, correction_event, voiding_request
from integrations.fiscal.nfe import (
    BuiltNfe,
    NfeBuilder,
    brasilia_time,
    digest_value,
    nfe_proc,
    protocol_digest,
)
from integrations.fiscal.proc_events import EventDocument, registered_events
from integrations.fiscal.returns import build_return, return_access_key
from integrations.fiscal.schema import (
    XsdValidator,
    cancellation_event_schema,
    correction_event_schema,
    nfe_schema,
    voiding_schema,
)
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import (
    PROVIDER,
    AuthorisationResult,
    ConsultResult,
    SefazClient,
    VoidingResult,
)

log = logging.getLogger(__name__)

AUTHORISED, CANCELLED, NOT_FOUND = 100, 101, 217
IN_PROCESS = frozenset({103, 105, 106})  # received, processing, receipt not found yet
DUPLICITY = frozenset({204, 539})
EVENT_REGISTERED = frozenset({135, 136, 155})
EVENT_DUPLICITY = 573
# Past the window (501) or once the goods circulated (219) only a return NF-e undoes it.
TOO_LATE_TO_CANCEL = frozenset({"sefaz_501", "sefaz_219"})
VOIDED = frozenset({102})
PARALYSED = frozenset({"sefaz_108", "sefaz_109"})
ALREADY_VOIDED = frozenset({256, 563})


@dataclass(frozen=True)
class EmittedInvoice:
    invoice: Invoice
    proc_xml: str  # the nfeProc: signed NF-e + protNFe, what the customer and channels get


@dataclass(frozen=True)
class EmittedReturn:
    invoice: ReturnInvoice
    proc_xml: str


class InvoicingService:
    def __init__(
        self,
        builder: NfeBuilder,
        signer: NfeSigner,
        sefaz: SefazClient,
        *,
        schema: XsdValidator | None = None,
        event_schema: XsdValidator | None = None,
        journal: EmissionJournal | None = None,
        contingency: SefazClient | None = None,
        contingency_after: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._builder = builder
        self._signer = signer
        self._sefaz = sefaz
        self._schema = schema or nfe_schema()
        self._event_schema = event_schema or cancellation_event_schema()
        self._correction_schema = correction_event_schema()
        self._voiding_schema = voiding_schema()
        self._journal = journal
        self._svc = contingency
        self._contingency_after = contingency_after
        self._clock = clock or (lambda: datetime.now(UTC))

    async def emit(self, request: InvoiceRequest) -> EmittedInvoice:
        """Authorise the request's NF-e once, however many times it is called.

        With a journal and a contingency client: after `contingency_after` of 108/109
        from the state's authoriser the NF-e goes to the SVC (tpEmis 6/7, another key),
        unless an earlier normal send of it got no answer; an NF-e sent to the SVC is
        looked for there and at the state on every later attempt.

        Raises ProviderUnavailable (retry later: SEFAZ down, 103/105 still processing,
        lost response) or ProviderRejected (SEFAZ said no; code `sefaz_<cStat>`)."""
        key = self._builder.access_key(request)
        what = f"NF-e {request.series}/{request.number} of order {request.order_id}"
        journal = self._journal
        if journal is None or self._svc is None:
            signed, found = await self._authorise_once(key, lambda: self._signed(request), what)
            return _emitted(request, key, signed, found)
        facts = await journal.facts(request.order_id, request.series)
        authoriser = self._sefaz.authoriser
        try:
            if facts.contingency is not None:
                earlier = await self._find_in_contingency(request, facts)
                if earlier is not None:
                    return earlier
            signed, found = await self._authorise_once(
                key, lambda: self._signed(request), what, doubt=(request.order_id, request.series)
            )
        except ProviderUnavailable as exc:
            if exc.code not in PARALYSED:
                raise
            cstat = exc.code.removeprefix("sefaz_")
            reason = exc.message.split(f": {cstat} ", 1)[-1]
            outage = await journal.record_unavailable(
                authoriser.slug, int(cstat), reason, self._clock()
            )
            return await self._emit_in_contingency(request, facts, outage, exc, what)
        await journal.record_available(authoriser.slug, self._clock())
        return _emitted(request, key, signed, found)

    async def _emit_in_contingency(
        self,
        request: InvoiceRequest,
        facts: EmissionFacts,
        outage: Outage,
        down: ProviderUnavailable,
        what: str,
    ) -> EmittedInvoice:
        journal, svc = self._journal, self._svc
        if journal is None or svc is None:
            raise RuntimeError("contingency needs the journal and the SVC client")
        if facts.contingency is None:
            if not contingency_due(outage, self._clock(), self._contingency_after):
                minutes = self._contingency_after.total_seconds() / 60
                raise ProviderUnavailable(
                    f"{down.message} (down since {outage.since:%H:%M} UTC; NF-e go to "
                    f"{svc.authoriser.name} after {minutes:g} min of it)",
                    provider=PROVIDER,
                    code=down.code,
                )
            if facts.in_doubt:
                raise ProviderUnavailable(
                    f"{down.message}; an earlier send of {what} got no answer, so it is not "
                    f"sent to {svc.authoriser.name} (it could be authorised twice): "
                    "waiting for the authoriser to answer",
                    provider=PROVIDER,
                    code=down.code,
                )
            emission_type = svc.authoriser.emission_type
            reason = contingency_reason(outage, self._sefaz.authoriser.name)
            await journal.mark_contingency(
                request.order_id, request.series, emission_type, outage.since, reason
            )
            facts = EmissionFacts(
                contingency=emission_type, contingency_since=outage.since, contingency_reason=reason
            )
        built = await asyncio.to_thread(self._contingency_document, request, facts)
        signed, found = await self._authorise_once(
            built.access_key,
            lambda: self._signer.sign(built.xml, built.reference_id),
            f"{what} in contingency ({svc.authoriser.name})",
            sefaz=svc,
        )
        return _emitted(request, built.access_key, signed, found)

    async def _find_in_contingency(
        self, request: InvoiceRequest, facts: EmissionFacts
    ) -> EmittedInvoice | None:
        """The NF-e sent to the SVC by an earlier attempt, if authorised: at the state
        (which receives the SVC's NF-e) and else at the SVC."""
        assert self._svc is not None
        built = await asyncio.to_thread(self._contingency_document, request, facts)
        for where in (self._sefaz, self._svc):
            try:
                found = await where.consult(built.access_key)
            except ProviderUnavailable:
                if where is self._sefaz:
                    continue
                raise
            if found.cstat == AUTHORISED:
                signed = await asyncio.to_thread(self._signer.sign, built.xml, built.reference_id)
                return _emitted(request, built.access_key, signed, found)
        return None

    def _contingency_document(self, request: InvoiceRequest, facts: EmissionFacts) -> BuiltNfe:
        if not (facts.contingency and facts.contingency_since and facts.contingency_reason):
            raise ValueError(f"{request.order_id}: no contingency recorded for its NF-e")
        return in_contingency(
            self._builder.build(request),
            facts.contingency,
            facts.contingency_since,
            facts.contingency_reason,
        )

    async def emit_return(
        self, request: ReturnInvoiceRequest, number: int, sale_xml: str
    ) -> EmittedReturn:
        """Authorise, once, the return NF-e of the sale NF-e held in `sale_xml` (its
        nfeProc), numbered `number`; same look-before-act as `emit`."""
        issuer = self._builder.issuer
        key = return_access_key(issuer, request, number)

        def signed() -> str:
            built = build_return(issuer, sale_xml, request, number)
            return self._signer.sign(built.xml, built.reference_id)

        what = f"return NF-e {request.series}/{number} of order {request.order_id}"
        document, found = await self._authorise_once(key, signed, what)
        sale = _invoice(request.order_id, number, request.series, key, document, found)
        returned = ReturnInvoice(
            order_id=request.order_id,
            refers_to=request.refers_to,
            access_key=key,
            number=number,
            series=request.series,
            protocol=sale.protocol,
            authorised_at=sale.authorised_at,
        )
        return EmittedReturn(invoice=returned, proc_xml=_proc(key, document, found))

    async def _authorise_once(
        self,
        key: str,
        sign: Callable[[], str],
        what: str,
        *,
        sefaz: SefazClient | None = None,
        doubt: tuple[str, int] | None = None,
    ) -> tuple[str, AuthorisationResult | ConsultResult]:
        """Consult SEFAZ by key, send only what is not there yet; the signed document
        and the answer that holds its protocol. With `doubt` (order, series), the
        journal knows while a send's outcome is unknown."""
        sefaz = sefaz or self._sefaz
        found = await sefaz.consult(key)
        if found.cstat == AUTHORISED:
            return await asyncio.to_thread(sign), found
        if found.cstat != NOT_FOUND:
            raise ProviderRejected(
                f"{what} ({key}) cannot be emitted: SEFAZ reports {found.cstat} {found.reason}",
                provider=PROVIDER,
                code=f"sefaz_{found.cstat}",
            )
        signed = await asyncio.to_thread(sign)
        self._schema.check(signed, f"{what} ({key})")
        if doubt is not None and self._journal is not None:
            await self._journal.mark_in_doubt(*doubt, True)
        try:
            result = await sefaz.authorise(signed)
        except ProviderUnavailable as exc:
            if exc.code in PARALYSED and doubt is not None and self._journal is not None:
                await self._journal.mark_in_doubt(*doubt, False)  # not processed: no doubt
            raise
        except ProviderRejected:
            if doubt is not None and self._journal is not None:
                await self._journal.mark_in_doubt(*doubt, False)
            raise
        if result.cstat in IN_PROCESS:
            raise ProviderUnavailable(
                f"SEFAZ is still processing {what} ({key}): {result.cstat} {result.reason}",
                provider=PROVIDER,
                code=f"sefaz_{result.cstat}",
            )
        if doubt is not None and self._journal is not None:
            await self._journal.mark_in_doubt(*doubt, False)
        if result.cstat == AUTHORISED:
            return signed, result
        if result.cstat in DUPLICITY:
            found = await sefaz.consult(key)
            if found.cstat == AUTHORISED:
                return signed, found
        raise ProviderRejected(
            f"SEFAZ did not authorise {what} ({key}): {result.cstat} {result.reason}",
            provider=PROVIDER,
            code=f"sefaz_{result.cstat}",
        )

    async def void_number(
        self, *, series: int, number: int, reason: str, at: datetime
    ) -> VoidingResult:
        """Have SEFAZ void (inutilizar) one unused number. Voided before, by this range
        (563) or another (256), counts as done; a number SEFAZ knows as used (241) is
        refused: an NF-e holds it and must be cancelled instead."""
        issuer = self._builder.issuer
        year = brasilia_time(at).year
        built = voiding_request(
            issuer, series=series, first=number, last=number, reason=reason, year=year
        )
        signed = self._signer.sign(built.xml, built.reference_id)
        self._voiding_schema.check(signed, f"voiding of NF-e {series}/{number}")
        result = await self._sefaz.void_numbers(signed)
        if result.cstat in VOIDED:
            return result
        if result.cstat in ALREADY_VOIDED:
            return VoidingResult(
                cstat=result.cstat,
                reason=result.reason,
                protocol=_bracketed("nProt", result.reason) or result.protocol,
                received_at=result.received_at,
                ret_xml=result.ret_xml,
            )
        raise ProviderRejected(
            f"SEFAZ refused to void NF-e {series}/{number}: {result.cstat} {result.reason} "
            "(an NF-e holds this number: consult it and cancel that NF-e instead)",
            provider=PROVIDER,
            code=f"sefaz_{result.cstat}",
        )

    async def correct(self, request: CorrectionRequest) -> Correction:
        """Register a CC-e (110110). SEFAZ refusing it (cancelled NF-e 580, past 720 h,
        ...) gives a REJECTED correction saying why, for the person who asked."""
        event = correction_event(self._builder.issuer, request)
        signed = self._signer.sign(event.xml, event.reference_id)
        self._correction_schema.check(signed, f"CC-e {request.sequence} for {request.access_key}")
        try:
            result = await self._sefaz.send_event(signed)
        except ProviderRejected as exc:
            return Correction(
                access_key=request.access_key,
                sequence=request.sequence,
                status=CorrectionStatus.REJECTED,
                message=str(exc),
            )
        protocol = result.protocol
        if result.cstat == EVENT_DUPLICITY:
            protocol = _bracketed("nProt", result.reason) or protocol
        return Correction(
            access_key=request.access_key,
            sequence=request.sequence,
            status=CorrectionStatus.REGISTERED,
            protocol=protocol,
            registered_at=result.registered_at,
            message=result.reason,
        )

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
            key = await self._emitted_key(request.emission)
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
        try:
            result = await self._sefaz.send_event(signed)
        except ProviderRejected as exc:
            if exc.code not in TOO_LATE_TO_CANCEL:
                raise
            return InvoiceCancellation(
                access_key=key,
                status=InvoiceStatus.NEEDS_RETURN_INVOICE,
                message=f"SEFAZ will not cancel it ({exc}): a return NF-e undoes the sale",
            )
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

    async def event_documents(self, access_key: str) -> list[EventDocument]:
        """The NF-e's registered events (procEventoNFe) as SEFAZ holds them: after an
        event, whichever attempt registered it and however its answer was lost."""
        found = await self._sefaz.consult(access_key)
        return registered_events(found.events)

    async def _emitted_key(self, emission: InvoiceRequest) -> str:
        """The key an emission whose outcome is unknown went out with: its contingency
        key when the journal says it was sent to the SVC and SEFAZ knows that one."""
        key = self._builder.access_key(emission)
        if self._journal is None:
            return key
        facts = await self._journal.facts(emission.order_id, emission.series)
        if facts.contingency is None:
            return key
        moved = contingency_key(key, facts.contingency)
        found = await self._sefaz.consult(moved)
        return moved if found.cstat in (AUTHORISED, CANCELLED) else key

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
    invoice = _invoice(request.order_id, request.number, request.series, key, signed, found)
    return EmittedInvoice(invoice=invoice, proc_xml=_proc(key, signed, found))


def _invoice(
    order_id: str,
    number: int,
    series: int,
    key: str,
    signed: str,
    found: AuthorisationResult | ConsultResult,
) -> Invoice:
    protocol = found.protocol
    if not (protocol and found.prot_xml):
        raise ProviderUnavailable(
            f"SEFAZ reported NF-e {key} authorised without its protocol",
            provider=PROVIDER,
            code="sefaz_bad_response",
        )
    if digest_value(signed) != protocol_digest(found.prot_xml):
        # Only after a code change between attempts: the authorised document is SEFAZ's.
        log.warning("NF-e %s: the rebuilt document differs from the authorised one", key)
    authorised_at = (
        found.received_at if isinstance(found, AuthorisationResult) else found.authorised_at
    )
    return Invoice(
        order_id=order_id,
        access_key=key,
        number=number,
        series=series,
        protocol=protocol,
        authorised_at=(authorised_at or datetime.now(UTC)).astimezone(UTC),
    )


def _proc(key: str, signed: str, found: AuthorisationResult | ConsultResult) -> str:
    if not found.prot_xml:
        raise ProviderUnavailable(
            f"SEFAZ reported NF-e {key} authorised without its protocol",
            provider=PROVIDER,
            code="sefaz_bad_response",
        )
    return nfe_proc(signed, found.prot_xml)


def _bracketed(name: str, reason: str) -> str | None:
    """A value SEFAZ quotes in xMotivo, e.g. `[nProt:135260000000001]`."""
    match = re.search(rf"\[{name}:(\d+)\]", reason)
    return match.group(1) if match else None

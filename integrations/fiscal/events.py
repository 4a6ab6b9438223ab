"""NF-e events and requests, built with nfelib's bindings: the cancellation (110111),
the correction letter (CC-e, 110110) and the voiding of unused numbers (inutNFe)."""

from __future__ import annotations

from dataclasses import dataclass

from nfelib.nfe.bindings.v4_0.inut_nfe_v4_00 import InutNfe
from nfelib.nfe_evento_cancel.bindings.v1_0.evento_canc_nfe_v1_00 import Evento
from nfelib.nfe_evento_cce.bindings.v1_0.cce_v1_00 import Evento as CorrectionEvent

from domain.fiscal import CUF_BY_UF, InvoiceCancellationRequest, Issuer
from domain.fiscal_lifecycle import CORRECTION_CONDITIONS, CorrectionRequest
from domain.nfe_text import text
from integrations.fiscal.nfe import brasilia_time
from integrations.fiscal.xml import render

CANCELLATION = "110111"
CORRECTION = "110110"


@dataclass(frozen=True)
class BuiltEvent:
    """An `<evento>` ready to sign; `reference_id` is its infEvento Id."""

    access_key: str
    reference_id: str
    xml: str


def cancellation_event(
    issuer: Issuer, request: InvoiceCancellationRequest, *, sequence: int = 1
) -> BuiltEvent:
    """The cancellation event for an authorised NF-e. Deterministic for a given request
    (dhEvento is the request's time), so a retry sends the same event."""
    key, protocol = request.access_key, request.protocol
    if key is None or protocol is None:
        raise ValueError("a cancellation event needs the NF-e's access key and protocol")
    event_id = f"ID{CANCELLATION}{key}{sequence:02d}"
    event = Evento(
        versao="1.00",
        infEvento=Evento.InfEvento(
            Id=event_id,
            cOrgao=CUF_BY_UF[issuer.address.state],
            tpAmb=str(issuer.environment),
            CNPJ=issuer.cnpj,
            chNFe=key,
            dhEvento=brasilia_time(request.requested_at).isoformat(),
            tpEvento=CANCELLATION,
            nSeqEvento=str(sequence),
            verEvento="1.00",
            detEvento=Evento.InfEvento.DetEvento(
                versao="1.00",
                descEvento="Cancelamento",
                nProt=protocol,
                xJust=text(request.reason, 255),
            ),
        ),
    )
    xml = render(event)
    return BuiltEvent(access_key=key, reference_id=event_id, xml=xml)


def correction_event(issuer: Issuer, request: CorrectionRequest) -> BuiltEvent:
    """The CC-e (110110) number `request.sequence` for an authorised NF-e. Its text
    replaces every earlier CC-e's, so it must repeat what still holds."""
    event_id = f"ID{CORRECTION}{request.access_key}{request.sequence:02d}"
    info = CorrectionEvent.InfEvento
    event = CorrectionEvent(
        versao="1.00",
        infEvento=info(
            Id=event_id,
            cOrgao=CUF_BY_UF[issuer.address.state],
            tpAmb=str(issuer.environment),
            CNPJ=issuer.cnpj,
            chNFe=request.access_key,
            dhEvento=brasilia_time(request.requested_at).isoformat(),
            tpEvento=CORRECTION,
            nSeqEvento=str(request.sequence),
            verEvento="1.00",
            detEvento=info.DetEvento(
                versao="1.00",
                descEvento="Carta de Correcao",
                xCorrecao=text(request.text, 1000),
                xCondUso=CORRECTION_CONDITIONS,
            ),
        ),
    )
    return BuiltEvent(access_key=request.access_key, reference_id=event_id, xml=render(event))


def voiding_request(
    issuer: Issuer, *, series: int, first: int, last: int, reason: str, year: int
) -> BuiltEvent:
    """The NFeInutilizacao4 request (inutNFe) for numbers `first`..`last` of `series`,
    model 55, in the two-digit `year`; `reference_id` is its infInut Id."""
    cuf = CUF_BY_UF[issuer.address.state]
    ident = f"ID{cuf}{year % 100:02d}{issuer.cnpj}55{series:03d}{first:09d}{last:09d}"
    message = InutNfe(
        versao="4.00",
        infInut=InutNfe.InfInut(
            Id=ident,
            tpAmb=str(issuer.environment),
            xServ="INUTILIZAR",
            cUF=cuf,
            ano=f"{year % 100:02d}",
            CNPJ=issuer.cnpj,
            mod="55",
            serie=str(series),
            nNFIni=str(first),
            nNFFin=str(last),
            xJust=text(reason, 255),
        ),
    )
    return BuiltEvent(access_key="", reference_id=ident, xml=render(message))

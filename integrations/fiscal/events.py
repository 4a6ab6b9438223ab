"""NF-e events: the cancellation (tpEvento 110111), built with nfelib's bindings."""

from __future__ import annotations

from dataclasses import dataclass

from nfelib.nfe_evento_cancel.bindings.v1_0.evento_canc_nfe_v1_00 import Evento

from domain.fiscal import CUF_BY_UF, InvoiceCancellationRequest, Issuer
from integrations.fiscal.nfe import brasilia_time, text
from integrations.fiscal.xml import render

CANCELLATION = "110111"


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

"""After the authorisation, against the SEFAZ simulator over real HTTP: the return NF-e
that undoes a sale SEFAZ will no longer cancel (501, 219), the voiding of unused
numbers (102, 241, 256, 563, then 206 on the voided number) and the correction letter
(135, 573, 580, past 720 h). Every document sent is checked by xmlsec1 and its XSD."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from domain.errors import ProviderRejected
from domain.fiscal import InvoiceCancellationRequest, InvoiceStatus, is_valid_access_key
from domain.fiscal_lifecycle import (
    CorrectionRequest,
    CorrectionStatus,
    ReturnInvoiceRequest,
    return_cfop,
)
from integrations.fiscal.returns import build_return
from integrations.fiscal.schema import NFELIB, nfe_schema
from integrations.fiscal.service import EmittedInvoice
from integrations.fiscal.signing import NfeSigner
from sandbox.carrier import _data as carrier_data
from tests.integration.sefaz_world import World, open_world
from tests.support.xmlsec import verify
from tests.unit.test_nfe_builder import dev_signer, sample_request

pytestmark = pytest.mark.integration

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}
PROC_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "procNFe_v4.00.xsd"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


def later(world: World, moment: datetime) -> None:
    world.state.clock = lambda: moment


def return_request(emitted: EmittedInvoice, issued_at: datetime) -> ReturnInvoiceRequest:
    return ReturnInvoiceRequest(
        order_id=emitted.invoice.order_id,
        refers_to=emitted.invoice.access_key,
        reason="Pedido cancelado apos o prazo de cancelamento",
        issued_at=issued_at,
        idempotency_key="return-1",
    )


def cancel_request(emitted: EmittedInvoice, at: datetime) -> InvoiceCancellationRequest:
    invoice = emitted.invoice
    return InvoiceCancellationRequest(
        order_id=invoice.order_id,
        access_key=invoice.access_key,
        protocol=invoice.protocol,
        reason="Pedido cancelado pelo cliente",
        authorised_at=invoice.authorised_at,
        requested_at=at,
    )


async def test_a_return_nfe_past_the_window_mirrors_the_sale_and_is_authorised_once(
    world, tmp_path
):
    sale = await world.service.emit(sample_request(state="BA"))
    at = sale.invoice.authorised_at + timedelta(hours=30)
    later(world, at + timedelta(seconds=5))
    request = return_request(sale, at)

    first = await world.service.emit_return(request, 2, sale.proc_xml)
    again = await world.service.emit_return(request, 2, sale.proc_xml)

    assert again.invoice == first.invoice
    assert is_valid_access_key(first.invoice.access_key)
    returns = [e for e in world.authorisations() if e.get("purpose") == "return"]
    assert [(e["access_key"], e["refers_to"]) for e in returns] == [
        (first.invoice.access_key, sale.invoice.access_key)
    ]
    proc = etree.fromstring(first.proc_xml.encode())
    assert etree.XMLSchema(etree.parse(str(PROC_XSD))).validate(proc)
    ide = proc.find("n:NFe/n:infNFe/n:ide", NS)
    assert [ide.findtext(f"n:{f}", namespaces=NS) for f in ("tpNF", "finNFe")] == ["0", "4"]
    assert ide.findtext("n:NFref/n:refNFe", namespaces=NS) == sale.invoice.access_key
    sale_doc = etree.fromstring(sale.proc_xml.encode())
    sale_cfops = [c.text for c in sale_doc.iterfind(".//n:det/n:prod/n:CFOP", NS)]
    cfops = [c.text for c in proc.iterfind(".//n:det/n:prod/n:CFOP", NS)]
    assert cfops == [return_cfop(c) for c in sale_cfops]
    assert set(cfops) == {"2202"}
    total = ".//n:total/n:ICMSTot/n:vNF"
    assert proc.findtext(total, namespaces=NS) == sale_doc.findtext(total, namespaces=NS)
    assert proc.findtext(".//n:pag/n:detPag/n:tPag", namespaces=NS) == "90"
    verdict = verify(first.proc_xml, "infNFe", tmp_path)
    assert verdict.ok, verdict.output


async def test_a_return_nfe_without_its_reference_gets_321(world):
    sale = await world.service.emit(sample_request())
    request = return_request(sale, sale.invoice.authorised_at + timedelta(minutes=5))
    built = build_return(world.builder.issuer, sale.proc_xml, request, 2)
    doc = etree.fromstring(built.xml.encode())
    ref = doc.find(".//n:ide/n:NFref", NS)
    ref.getparent().remove(ref)
    signed = world.signer.sign(etree.tostring(doc), built.reference_id)
    assert nfe_schema().errors(signed) == []

    with pytest.raises(ProviderRejected) as raised:
        await world.sefaz.authorise(signed)

    assert raised.value.code == "sefaz_321"


async def test_cancelling_once_the_goods_circulated_asks_for_a_return_invoice(world):
    sale = await world.service.emit(sample_request())
    shipments = carrier_data(world.state).shipments
    shipments["s1"] = {"invoice": {"key": sale.invoice.access_key}, "status": "in_transit"}

    at = sale.invoice.authorised_at + timedelta(minutes=10)
    later(world, at + timedelta(seconds=1))

    result = await world.service.cancel(cancel_request(sale, at))

    assert result.status is InvoiceStatus.NEEDS_RETURN_INVOICE
    assert "219" in result.message
    assert world.state.ledger.find("invoice_cancelled") == []


async def test_an_unused_number_is_voided_once_and_can_never_be_authorised(world):
    at = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    reason = "Numero nao utilizado: pedido cancelado"

    voided = await world.service.void_number(series=1, number=7, reason=reason, at=at)
    again = await world.service.void_number(series=1, number=7, reason=reason, at=at)

    assert voided.cstat == 102
    assert len(voided.protocol or "") == 15
    assert again.cstat == 563
    assert again.protocol == voided.protocol
    [entry] = world.state.ledger.find("numbers_voided")
    assert (entry["series"], entry["first"], entry["last"]) == (1, 7, 7)
    with pytest.raises(ProviderRejected) as raised:
        await world.service.emit(sample_request(number=7))
    assert raised.value.code == "sefaz_206"


async def test_a_number_already_on_an_nfe_cannot_be_voided(world):
    await world.service.emit(sample_request(number=3))

    with pytest.raises(ProviderRejected, match="241") as raised:
        await world.service.void_number(
            series=1, number=3, reason="Numero nao utilizado: teste", at=datetime.now(UTC)
        )

    assert raised.value.code == "sefaz_241"


def correction(sale: EmittedInvoice, sequence: int, at: datetime) -> CorrectionRequest:
    return CorrectionRequest(
        order_id=sale.invoice.order_id,
        access_key=sale.invoice.access_key,
        sequence=sequence,
        text="Endereco de entrega: apartamento 42, bloco B, portaria pela rua lateral",
        requested_at=at,
    )


async def test_a_correction_letter_is_registered_once_per_sequence(world):
    sale = await world.service.emit(sample_request())
    at = sale.invoice.authorised_at + timedelta(hours=2)
    later(world, at + timedelta(seconds=1))

    first = await world.service.correct(correction(sale, 1, at))
    repeat = await world.service.correct(correction(sale, 1, at))
    second = await world.service.correct(correction(sale, 2, at + timedelta(seconds=1)))

    assert first.status is CorrectionStatus.REGISTERED
    assert first.protocol
    assert repeat.status is CorrectionStatus.REGISTERED
    assert repeat.protocol == first.protocol
    assert second.protocol not in (None, first.protocol)
    entries = world.state.ledger.find("invoice_corrected")
    assert [e["sequence"] for e in entries] == [1, 2]
    consulted = await world.sefaz.consult(sale.invoice.access_key)
    assert consulted.cstat == 100


async def test_a_correction_letter_past_720_hours_or_on_a_cancelled_nfe_is_rejected(world):
    sale = await world.service.emit(sample_request())
    authorised = sale.invoice.authorised_at
    late = authorised + timedelta(hours=721)
    later(world, late)

    too_late = await world.service.correct(correction(sale, 1, late))

    later(world, authorised + timedelta(minutes=3))
    await world.service.cancel(cancel_request(sale, authorised + timedelta(minutes=2)))
    on_cancelled = await world.service.correct(
        correction(sale, 1, authorised + timedelta(minutes=3))
    )

    assert too_late.status is CorrectionStatus.REJECTED
    assert "501" in too_late.message
    assert on_cancelled.status is CorrectionStatus.REJECTED
    assert "580" in on_cancelled.message
    assert world.state.ledger.find("invoice_corrected") == []

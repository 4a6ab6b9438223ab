"""The invoicing service against the SEFAZ simulator over real HTTP."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import httpx
import pytest
from lxml import etree

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import InvoiceCancellationRequest, InvoiceStatus, is_valid_access_key
from integrations.fiscal.schema import NFELIB
from integrations.fiscal.service import EmittedInvoice, InvoicingService
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import SefazClient
from sandbox import sefaz as sefaz_sandbox
from sandbox.core import FaultConfig
from sandbox.xmldsig import verify_enveloped
from tests.integration.sefaz_world import World, open_world
from tests.unit.test_nfe_builder import dev_signer, sample_issuer, sample_request

pytestmark = pytest.mark.integration

PROC_XSD = NFELIB / "nfe" / "schemas" / "v4_0" / "procNFe_v4.00.xsd"
ANSWER_XSD = {
    "retEnviNFe": NFELIB / "nfe/schemas/v4_0/retEnviNFe_v4.00.xsd",
    "retConsSitNFe": NFELIB / "nfe/schemas/v4_0/retConsSitNFe_v4.00.xsd",
    "retConsStatServ": NFELIB / "nfe/schemas/v4_0/retConsStatServ_v4.00.xsd",
    "retEnvEvento": NFELIB / "nfe_evento_cancel/schemas/v1_0/retEnvEventoCancNFe_v1.00.xsd",
}


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def proc_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(PROC_XSD)))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


def cancellation(emitted: EmittedInvoice, *, after: timedelta = timedelta(minutes=1)):
    invoice = emitted.invoice
    return InvoiceCancellationRequest(
        order_id=invoice.order_id,
        access_key=invoice.access_key,
        protocol=invoice.protocol,
        reason="Pedido cancelado pelo cliente antes do envio",
        authorised_at=invoice.authorised_at,
        requested_at=invoice.authorised_at + after,
    )


async def test_emit_authorises_and_records_one_invoice_in_the_ledger(world, proc_schema):
    request = sample_request()

    emitted = await world.service.emit(request)

    invoice = emitted.invoice
    assert invoice.status == InvoiceStatus.AUTHORISED
    assert is_valid_access_key(invoice.access_key)
    assert len(invoice.protocol) == 15
    assert invoice.authorised_at.tzinfo == UTC
    [entry] = world.authorisations()
    assert entry | {"at": None} == {
        "at": None,
        "provider": "sefaz",
        "kind": "invoice_authorised",
        "access_key": invoice.access_key,
        "protocol": invoice.protocol,
        "number": 1,
        "series": 1,
        "cnpj": sample_issuer().cnpj,
        "total": str(request.order.total),
    }
    proc = etree.fromstring(emitted.proc_xml.encode())
    assert proc_schema.validate(proc), proc_schema.error_log
    assert proc.findtext(".//{*}protNFe/{*}infProt/{*}cStat") == "100"
    nfe = proc.find("{*}NFe")
    assert verify_enveloped(nfe, f"NFe{invoice.access_key}").digest_value


async def test_emit_after_a_lost_response_returns_the_same_protocol_without_a_second_authorisation(
    world,
):
    request = sample_request()
    world.state.faults.set("sefaz", FaultConfig(lost_response_rate=1.0))

    with pytest.raises(ProviderUnavailable):
        await world.service.emit(request)
    world.state.faults.set("sefaz", FaultConfig())
    emitted = await world.service.emit(request)

    [entry] = world.authorisations()
    assert emitted.invoice.protocol == entry["protocol"]
    assert emitted.invoice.access_key == entry["access_key"]


async def test_concurrent_emits_of_one_request_authorise_once(world):
    request = sample_request()

    first, second = await asyncio.gather(world.service.emit(request), world.service.emit(request))

    assert first.invoice == second.invoice
    assert len(world.authorisations()) == 1


async def test_emit_survives_random_faults_with_exactly_one_authorisation(world):
    world.state.faults.set(
        "sefaz", FaultConfig(error_rate=0.3, rate_limit_rate=0.1, lost_response_rate=0.4)
    )
    requests = [sample_request(number=n, order_id=f"order:store:F-{n}") for n in range(1, 6)]

    for request in requests:  # what Temporal's retry policy does, without the backoff
        for _attempt in range(40):
            try:
                await world.service.emit(request)
                break
            except ProviderUnavailable:
                continue

    assert sorted(e["number"] for e in world.authorisations()) == [1, 2, 3, 4, 5]
    assert world.state.faults.injected["sefaz.lost_response"] > 0
    assert world.state.faults.injected["sefaz.paralysed"] > 0


async def test_sending_the_same_nfe_again_answers_duplicity_with_the_first_protocol(world):
    built = world.builder.build(sample_request())
    signed = world.signer.sign(built.xml, built.reference_id)

    first = await world.sefaz.authorise(signed)
    again = await world.sefaz.authorise(signed)

    assert first.cstat == 100
    assert again.cstat == 204
    assert f"[nProt:{first.protocol}]" in again.reason
    assert len(world.authorisations()) == 1


async def test_the_same_number_for_another_order_is_refused_as_539(world):
    await world.service.emit(sample_request(number=7, order_id="order:store:A-7"))

    with pytest.raises(ProviderRejected, match="diferença na Chave de Acesso") as raised:
        await world.service.emit(sample_request(number=7, order_id="order:store:B-7"))

    assert raised.value.code == "sefaz_539"
    assert len(world.authorisations()) == 1


async def test_an_unsigned_nfe_is_rejected_with_a_readable_reason(world):
    built = world.builder.build(sample_request())

    with pytest.raises(ProviderRejected, match=r"225 .*Schema.*Signature") as raised:
        await world.sefaz.authorise(built.xml)

    assert raised.value.code == "sefaz_225"
    assert world.authorisations() == []
    assert world.state.ledger.find("invoice_rejected", code=225)


async def test_a_tampered_nfe_is_rejected_for_its_signature(world):
    built = world.builder.build(sample_request())
    signed = world.signer.sign(built.xml, built.reference_id)
    tampered = signed.replace("<xProd>Produto", "<xProd>Outro produto")

    with pytest.raises(ProviderRejected, match="Assinatura difere do calculado") as raised:
        await world.sefaz.authorise(tampered)

    assert raised.value.code == "sefaz_297"
    assert world.authorisations() == []


async def test_cancel_registers_the_event_once(world):
    emitted = await world.service.emit(sample_request())

    cancelled = await world.service.cancel(cancellation(emitted))
    again = await world.service.cancel(cancellation(emitted))

    assert cancelled.status == again.status == InvoiceStatus.CANCELLED
    assert cancelled.protocol
    assert len(cancelled.protocol) == 15
    assert again.protocol == cancelled.protocol
    [entry] = world.state.ledger.find("invoice_cancelled")
    assert entry["access_key"] == emitted.invoice.access_key
    assert entry["protocol"] == cancelled.protocol
    assert (await world.sefaz.consult(emitted.invoice.access_key)).cstat == 101


async def test_cancel_after_a_lost_response_is_done_once(world):
    emitted = await world.service.emit(sample_request())
    world.state.faults.set("sefaz", FaultConfig(lost_response_rate=1.0))

    with pytest.raises(ProviderUnavailable):
        await world.service.cancel(cancellation(emitted))
    world.state.faults.set("sefaz", FaultConfig())
    cancelled = await world.service.cancel(cancellation(emitted))

    [entry] = world.state.ledger.find("invoice_cancelled")
    assert cancelled.protocol == entry["protocol"]


async def test_cancel_more_than_24_hours_after_authorisation_asks_for_a_return_invoice(world):
    emitted = await world.service.emit(sample_request())
    later = emitted.invoice.authorised_at + timedelta(hours=25)
    world.state.clock = lambda: later

    result = await world.service.cancel(cancellation(emitted, after=timedelta(hours=25)))

    assert result.status is InvoiceStatus.NEEDS_RETURN_INVOICE
    assert "501" in result.message
    assert "Prazo de cancelamento" in result.message
    assert world.state.ledger.find("invoice_cancelled") == []
    assert world.state.ledger.find("cancellation_rejected")[0]["code"] == 501


@pytest.mark.parametrize("cstat", [108, 109])
async def test_paralysed_sefaz_is_unavailable_until_it_comes_back(world, cstat):
    sefaz_sandbox.paralyse(world.state, cstat)

    with pytest.raises(ProviderUnavailable) as raised:
        await world.service.emit(sample_request())
    sefaz_sandbox.paralyse(world.state, None)
    emitted = await world.service.emit(sample_request())

    assert raised.value.code == f"sefaz_{cstat}"
    assert emitted.invoice.status == InvoiceStatus.AUTHORISED


async def test_status_service_is_in_operation_unless_paralysed_through_the_admin_route(world):
    status = await world.sefaz.status()
    async with httpx.AsyncClient(base_url=f"{world.base_url}/sefaz") as admin:
        (await admin.put("/admin/paralysis", json={"cstat": 109})).raise_for_status()
        with pytest.raises(ProviderUnavailable, match="109"):
            await world.sefaz.status()
        (await admin.put("/admin/paralysis", json={"cstat": None})).raise_for_status()

    assert (status.cstat, status.reason) == (107, "Serviço em Operação")
    assert (await world.sefaz.status()).cstat == 107


async def test_every_simulator_answer_matches_the_sefaz_response_schemas(world, signer):
    answers: list[bytes] = []

    async def keep(response: httpx.Response) -> None:
        answers.append(await response.aread())

    async with httpx.AsyncClient(timeout=10, event_hooks={"response": [keep]}) as http:
        sefaz = SefazClient(http, f"{world.base_url}/sefaz", "SP", 2)
        service = InvoicingService(world.builder, signer, sefaz)
        emitted = await service.emit(sample_request())  # consult 217, authorise 100
        built = world.builder.build(sample_request())
        again = await sefaz.authorise(signer.sign(built.xml, built.reference_id))
        assert again.cstat == 204
        with pytest.raises(ProviderRejected):
            await sefaz.authorise(built.xml)  # 225, no protNFe
        await service.cancel(cancellation(emitted))  # consult 100, event 135
        await service.cancel(cancellation(emitted))  # consult 101 with the event
        await sefaz.status()

    schemas = {tag: etree.XMLSchema(etree.parse(str(xsd))) for tag, xsd in ANSWER_XSD.items()}
    checked = []
    for answer in answers:
        ret = etree.fromstring(answer).find(".//{*}nfeResultMsg")[0]
        tag = etree.QName(ret).localname
        schema = schemas[tag]
        assert schema.validate(etree.ElementTree(ret)), f"{tag}: {schema.error_log}"
        checked.append(tag)
    assert set(checked) == set(ANSWER_XSD)

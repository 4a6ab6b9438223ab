"""The SEFAZ simulator refuses what a real authoriser refuses, with the real cStat: each
document here breaks one rule and gets that rule's code over real HTTP."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from lxml import etree

from domain.errors import ProviderRejected
from domain.fiscal import InvoiceCancellationRequest
from integrations.fiscal.events import cancellation_event
from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.signing import NfeSigner
from tests.integration.sefaz_world import SAMPLE_ISSUED_AT, World, open_world
from tests.unit.test_nfe_builder import dev_signer, sample_issuer, sample_request

pytestmark = pytest.mark.integration

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


def edited(xml: str, path: str, value: str) -> str:
    root = etree.fromstring(xml.encode())
    [element] = root.findall(path, NS)
    element.text = value
    return str(etree.tostring(root, encoding=str))


async def refused_with(world: World, unsigned: str, reference_id: str) -> tuple[str, str]:
    with pytest.raises(ProviderRejected) as raised:
        await world.sefaz.authorise(world.signer.sign(unsigned, reference_id))
    assert world.authorisations() == []
    return raised.value.code or "", str(raised.value)


async def test_a_production_nfe_at_the_homologation_endpoint_is_252(world):
    built = NfeBuilder(sample_issuer(environment=1)).build(sample_request())

    code, message = await refused_with(world, built.xml, built.reference_id)

    assert code == "sefaz_252"
    assert "Ambiente informado diverge" in message


@pytest.mark.parametrize(
    ("issued_at", "cstat", "words"),
    [
        (SAMPLE_ISSUED_AT - timedelta(days=45), "sefaz_228", "Data de Emissão muito atrasada"),
        (SAMPLE_ISSUED_AT + timedelta(hours=3), "sefaz_703", "posterior ao horário"),
    ],
)
async def test_an_emission_date_too_old_or_in_the_future_is_refused(world, issued_at, cstat, words):
    built = world.builder.build(sample_request(issued_at=issued_at))

    code, message = await refused_with(world, built.xml, built.reference_id)

    assert code == cstat
    assert words in message


async def test_csosn_from_a_seller_outside_the_simples_is_591(world):
    built = NfeBuilder(sample_issuer(crt="1")).build(sample_request())
    regime_normal = edited(built.xml, ".//n:emit/n:CRT", "2")

    code, message = await refused_with(world, regime_normal, built.reference_id)

    assert code == "sefaz_591"
    assert "CSOSN" in message


async def test_cst_from_a_simples_seller_is_590(world):
    built = NfeBuilder(sample_issuer(crt="3")).build(sample_request())
    simples = edited(built.xml, ".//n:emit/n:CRT", "1")

    code, _ = await refused_with(world, simples, built.reference_id)

    assert code == "sefaz_590"


@pytest.mark.parametrize("crt", ["1", "2", "3"])
async def test_our_nfe_for_each_regime_is_authorised(world, crt):
    builder = NfeBuilder(sample_issuer(crt=crt))
    built = builder.build(sample_request())

    answer = await world.sefaz.authorise(world.signer.sign(built.xml, built.reference_id))

    assert answer.cstat == 100, answer.reason


@pytest.mark.parametrize(
    ("path", "value", "cstat", "words"),
    [
        (".//n:total/n:ICMSTot/n:vProd", "104.31", "sefaz_564", "somatório dos itens"),
        (".//n:total/n:ICMSTot/n:vNF", "119.31", "sefaz_610", "Total da NF difere"),
        (".//n:dest/n:CPF", "52998224724", "sefaz_237", "CPF do destinatário inválido"),
    ],
    ids=["products-total-not-the-items-sum", "invoice-total-not-its-parts", "bad-cpf-digit"],
)
async def test_a_wrong_total_or_recipient_cpf_is_refused(world, path, value, cstat, words):
    built = world.builder.build(sample_request())
    wrong = edited(built.xml, path, value)

    code, message = await refused_with(world, wrong, built.reference_id)

    assert code == cstat
    assert words in message


@pytest.mark.parametrize(
    ("before_authorisation", "cstat"),
    [
        (timedelta(minutes=10), "sefaz_579"),  # after the emission, before authorisation
        (timedelta(hours=2), "sefaz_577"),  # before the emission itself
    ],
)
async def test_a_cancellation_dated_before_the_nfe_is_refused(world, before_authorisation, cstat):
    invoice = (await world.service.emit(sample_request())).invoice
    request = InvoiceCancellationRequest(
        order_id=invoice.order_id,
        access_key=invoice.access_key,
        protocol=invoice.protocol,
        reason="Pedido cancelado pelo cliente antes do envio",
        authorised_at=invoice.authorised_at,
        requested_at=invoice.authorised_at - before_authorisation,
    )
    event = cancellation_event(sample_issuer(), request)

    with pytest.raises(ProviderRejected, match="data do evento não pode ser menor") as raised:
        await world.sefaz.send_event(world.signer.sign(event.xml, event.reference_id))

    assert raised.value.code == cstat
    assert world.state.ledger.find("invoice_cancelled") == []

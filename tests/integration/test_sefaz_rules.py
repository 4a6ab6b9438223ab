"""The SEFAZ simulator refuses what a real authoriser refuses, with the real cStat: each
document here breaks one rule and gets that rule's code over real HTTP."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from lxml import etree

from domain.errors import ProviderRejected
from domain.fiscal import InvoiceCancellationRequest
from domain.orders import Channel
from integrations.fiscal.events import cancellation_event
from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.signing import NfeSigner
from tests.integration.sefaz_world import SAMPLE_ISSUED_AT, World, open_world
from tests.unit.test_nfe_builder import dev_signer, sample_builder, sample_issuer, sample_request

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


def removed(xml: str, path: str) -> str:
    root = etree.fromstring(xml.encode())
    found = root.findall(path, NS)
    assert found, f"nothing at {path}"
    for element in found:
        element.getparent().remove(element)
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
@pytest.mark.parametrize(
    ("state", "channel", "origin", "method", "ncm"),
    [
        ("SP", Channel.STORE, "0", "pix", "69120000"),
        ("BA", Channel.STORE, "0", "visa", "69120000"),
        ("RJ", Channel.MARKETPLACE, "1", "master", "85183000"),
        ("MG", Channel.MARKETPLACE, "2", "boleto", "49019900"),
    ],
    ids=["same-state", "to-the-northeast", "imported-marketplace", "book-marketplace"],
)
async def test_our_nfe_for_each_regime_and_operation_is_authorised(
    world, crt, state, channel, origin, method, ncm
):
    request = sample_request(
        state=state, channel=channel, origin=origin, payment_method=method, ncm=ncm
    )
    built = sample_builder(crt=crt).build(request)

    answer = await world.sefaz.authorise(world.signer.sign(built.xml, built.reference_id))

    assert answer.cstat == 100, answer.reason


async def test_an_interstate_sale_to_a_consumer_without_icms_for_the_destination_is_694(world):
    built = sample_builder(crt="3").build(sample_request(state="BA"))
    without = removed(built.xml, ".//n:det/n:imposto/n:ICMSUFDest")

    code, message = await refused_with(world, without, built.reference_id)

    assert code == "sefaz_694"
    assert "Não informado o grupo de ICMS para a UF de destino" in message


@pytest.mark.parametrize(
    ("origin", "rate"),
    [("0", "18.00"), ("0", "12.00"), ("1", "7.00")],
    ids=["internal-rate", "12-where-7-applies", "7-on-imported-goods"],
)
async def test_an_interstate_rate_above_the_senate_ceiling_is_693(world, origin, rate):
    built = sample_builder(crt="3").build(sample_request(state="BA", origin=origin))
    above = edited(built.xml, ".//n:det[1]/n:imposto/n:ICMS/n:ICMS00/n:pICMS", rate)

    code, message = await refused_with(world, above, built.reference_id)

    assert code == "sefaz_693"
    assert "superior a definida para a operação interestadual" in message


async def test_an_internet_sale_without_the_intermediary_indicator_is_434(world):
    built = world.builder.build(sample_request())
    without = removed(built.xml, ".//n:ide/n:indIntermed")

    code, message = await refused_with(world, without, built.reference_id)

    assert code == "sefaz_434"
    assert "sem indicativo do intermediador" in message


async def test_an_intermediary_indicator_on_a_sale_that_cannot_have_one_is_435(world):
    built = world.builder.build(sample_request(channel=Channel.MARKETPLACE))
    not_remote = edited(built.xml, ".//n:ide/n:indPres", "0")

    code, _ = await refused_with(world, not_remote, built.reference_id)

    assert code == "sefaz_435"


async def test_an_intermediary_cnpj_that_is_not_14_digits_fails_the_schema(world):
    built = world.builder.build(sample_request(channel=Channel.MARKETPLACE))
    short = edited(built.xml, ".//n:infIntermed/n:CNPJ", "0300733100014")

    code, message = await refused_with(world, short, built.reference_id)

    assert code == "sefaz_225"
    assert "CNPJ" in message


async def test_a_gtin_with_a_wrong_check_digit_is_611(world):
    built = world.builder.build(sample_request(gtin="7891000315507"))
    wrong = edited(built.xml, ".//n:det[1]/n:prod/n:cEAN", "7891000315508")

    code, message = await refused_with(world, wrong, built.reference_id)

    assert code == "sefaz_611"
    assert "GTIN" in message


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

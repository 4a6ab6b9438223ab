"""City codes at the SEFAZ simulator: an NF-e whose issuer or recipient city code has a
bad check digit or is of another state gets the real cStat (272/273, 274/275), and the
NF-e we build for customers in several states, marketplace ones included (they send a
city name only), is authorised."""

from collections.abc import AsyncIterator

import pytest

from integrations.fiscal.nfe import NfeBuilder
from integrations.fiscal.signing import NfeSigner
from integrations.marketplace.schema import MLOrder, translate_ml_order
from tests.integration.sefaz_world import World, open_world
from tests.integration.test_sefaz_rules import edited, refused_with
from tests.unit.test_marketplace_client import ML_ORDER
from tests.unit.test_nfe_builder import CUSTOMER_CITIES, dev_signer, sample_issuer, sample_request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


@pytest.mark.parametrize(
    ("path", "value", "cstat", "words"),
    [
        (
            ".//n:dest/n:enderDest/n:cMun",
            "3106200",  # Belo Horizonte, MG, for a recipient in SP
            "sefaz_275",
            "Código Município do Destinatário: difere da UF do Destinatário",
        ),
        (
            ".//n:dest/n:enderDest/n:cMun",
            "3509503",  # Campinas with a wrong check digit
            "sefaz_274",
            "Código Município do Destinatário: dígito inválido",
        ),
        (
            ".//n:emit/n:enderEmit/n:cMun",
            "3304557",  # Rio de Janeiro, RJ, for an issuer in SP
            "sefaz_273",
            "Código Município do Emitente: difere da UF do emitente",
        ),
        (
            ".//n:emit/n:enderEmit/n:cMun",
            "3550309",  # São Paulo with a wrong check digit
            "sefaz_272",
            "Código Município do Emitente: dígito inválido",
        ),
    ],
    ids=["recipient-city-of-another-state", "recipient-bad-digit", "issuer-city-of-another-state",
         "issuer-bad-digit"],
)  # fmt: skip
async def test_a_city_code_that_is_not_of_its_state_is_refused(world, path, value, cstat, words):
    built = world.builder.build(sample_request())
    wrong = edited(built.xml, path, value)

    code, message = await refused_with(world, wrong, built.reference_id)

    assert code == cstat
    assert words in message


@pytest.mark.parametrize("state", sorted(CUSTOMER_CITIES))
async def test_our_nfe_for_a_customer_in_each_state_is_authorised(world, state):
    built = NfeBuilder(sample_issuer(crt="1")).build(sample_request(state=state))

    answer = await world.sefaz.authorise(world.signer.sign(built.xml, built.reference_id))

    assert answer.cstat == 100, answer.reason


async def test_a_marketplace_order_outside_sao_paulo_is_invoiced_with_its_citys_code(world):
    """The marketplace sends "Belo Horizonte" and "BR-MG" only: before codes were looked
    up, such an order got São Paulo's code and a real SEFAZ would answer 275."""
    raw = {**ML_ORDER, "shipping": {**ML_ORDER["shipping"], "receiver_address": {
        **ML_ORDER["shipping"]["receiver_address"],
        "city": {"name": "BELO HORIZONTE"}, "state": {"id": "BR-MG"}, "zip_code": "30160-011",
    }}}  # fmt: skip
    customer = translate_ml_order(MLOrder.model_validate(raw)).customer
    request = sample_request(state="MG")
    request = request.model_copy(
        update={"order": request.order.model_copy(update={"customer": customer})}
    )
    built = NfeBuilder(sample_issuer(crt="1")).build(request)

    answer = await world.sefaz.authorise(world.signer.sign(built.xml, built.reference_id))

    assert customer.address.city_code == "3106200"
    assert answer.cstat == 100, answer.reason

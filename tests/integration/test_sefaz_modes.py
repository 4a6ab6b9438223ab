"""How the SEFAZ simulator answers beyond the synchronous happy path, over real HTTP:
each authoriser at its own real paths (226 for another state's NF-e), asynchronous
batches (103, 105, then 104 at NFeRetAutorizacao4), and 656 when an issuer calls too
often, which the client backs off from."""

from collections.abc import AsyncIterator

import httpx
import pytest

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import InvoiceStatus
from integrations.fiscal.service import InvoicingService
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import MISUSE_BACKOFF_S, SefazClient
from integrations.sefaz.endpoints import Authoriser
from tests.integration.sefaz_world import World, open_world
from tests.unit.test_nfe_builder import dev_signer, sample_request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


async def set_mode(world: World, **mode: object) -> None:
    async with httpx.AsyncClient(base_url=f"{world.base_url}/sefaz") as admin:
        (await admin.put("/admin/mode", json=mode)).raise_for_status()


async def test_sefaz_sp_answers_at_its_lower_case_paths_only(world):
    async with httpx.AsyncClient(base_url=f"{world.base_url}/sefaz") as http:
        generic = await http.post("/sp/ws/NFeAutorizacao4.asmx", content=b"<x/>")
        legacy = await http.post("/ws/NFeAutorizacao4.asmx", content=b"<x/>")

    assert (generic.status_code, legacy.status_code) == (404, 404)
    emitted = await world.service.emit(sample_request())  # the client's table: lower case
    assert emitted.invoice.status is InvoiceStatus.AUTHORISED


async def test_an_nfe_sent_to_another_states_authoriser_gets_226(world):
    async with httpx.AsyncClient(timeout=10) as http:
        wrong = SefazClient(http, f"{world.base_url}/sefaz", "MG", 2)  # an SP NF-e to MG
        signed = world.signer.sign(*_built(world))

        with pytest.raises(ProviderRejected) as raised:
            await wrong.authorise(signed)

    assert raised.value.code == "sefaz_226"


def _built(world: World) -> tuple[str, str]:
    built = world.builder.build(sample_request())
    return built.xml, built.reference_id


async def test_an_asynchronous_batch_is_received_then_processed_and_fetched_by_receipt(world):
    await set_mode(world, asynchronous=True, processing_s=0.2)

    emitted = await world.service.emit(sample_request())

    assert emitted.invoice.status is InvoiceStatus.AUTHORISED
    [batch] = world.state.data["sefaz"]["batches"].values()
    assert batch["prot_xml"] is not None
    assert len(world.authorisations()) == 1


async def test_a_batch_still_processing_is_retried_later_and_authorised_once(world, signer):
    await set_mode(world, asynchronous=True, processing_s=20)  # longer than the 5 s wait
    async with httpx.AsyncClient(timeout=10) as http:
        impatient = SefazClient(http, f"{world.base_url}/sefaz", "SP", 2, receipt_polls=1)
        service = InvoicingService(world.builder, signer, impatient)
        with pytest.raises(ProviderUnavailable) as raised:
            await service.emit(sample_request())
        assert raised.value.code == "sefaz_105"
        assert world.authorisations() == []

        await set_mode(world, asynchronous=True, processing_s=0)
        again = await world.service.emit(sample_request())  # consults, then resends

    assert again.invoice.status is InvoiceStatus.AUTHORISED
    assert len(world.authorisations()) == 1
    assert len(world.state.data["sefaz"]["batches"]) == 1  # the same receipt


async def test_an_issuer_consulting_one_key_too_often_is_blocked_with_656(world):
    await set_mode(world, max_same_key=3, block_s=60)
    key = world.builder.access_key(sample_request())

    for _ in range(3):
        await world.sefaz.consult(key)
    with pytest.raises(ProviderUnavailable) as raised:
        await world.sefaz.consult(key)
    with pytest.raises(ProviderUnavailable) as blocked:
        await world.service.emit(sample_request(number=2))  # another key: still blocked

    assert raised.value.code == "sefaz_656"
    assert raised.value.retry_after == MISUSE_BACKOFF_S
    assert blocked.value.code == "sefaz_656"
    assert world.state.faults.injected["sefaz.misuse_blocked"] == 1


async def test_too_many_calls_from_one_issuer_get_656_under_load(world):
    await set_mode(world, max_calls=5, window_s=60, block_s=60)

    outcomes = []
    for number in range(1, 5):
        try:
            await world.service.emit(sample_request(number=number))
            outcomes.append("authorised")
        except ProviderUnavailable as exc:
            outcomes.append(exc.code)

    assert outcomes[:2] == ["authorised", "authorised"]  # consult + send each
    assert "sefaz_656" in outcomes[2:]
    assert isinstance(world.sefaz.authoriser, Authoriser)

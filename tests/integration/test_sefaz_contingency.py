"""Contingency against the SEFAZ simulator over real HTTP, with the emission journal in
a real database: after N minutes of 108/109 an NF-e goes to SVC-AN (tpEmis 6, new key,
dhCont/xJust), the SVC refuses a normal NF-e (713) and the state a contingency one
(570), an NF-e whose normal send got no answer is never sent to the SVC, and once the
state answers again NF-e go back to it. The clock is the test's: minutes pass at once."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.emissions import EmissionJournalRepository
from db.invoices import InvoiceRepository
from domain.errors import ProviderRejected, ProviderUnavailable
from domain.fiscal import InvoiceCancellationRequest, InvoiceStatus
from integrations.fiscal.contingency import in_contingency
from integrations.fiscal.service import InvoicingService
from integrations.fiscal.signing import NfeSigner
from sandbox import sefaz as sefaz_sandbox
from sandbox.core import FaultConfig
from tests.integration.sefaz_world import SAMPLE_ISSUED_AT, World, open_world
from tests.support.xmlsec import verify
from tests.unit.test_nfe_builder import dev_signer, sample_request

pytestmark = pytest.mark.integration

NS = {"n": "http://www.portalfiscal.inf.br/nfe"}
AFTER = timedelta(minutes=15)


class Clock:
    def __init__(self) -> None:
        self.now = SAMPLE_ISSUED_AT + timedelta(hours=1)

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@pytest.fixture
async def world(signer: NfeSigner) -> AsyncIterator[World]:
    async with open_world(signer) as opened:
        yield opened


@pytest.fixture
def clock(world: World) -> Clock:
    clock = Clock()
    world.state.clock = clock
    return clock


@pytest.fixture
async def service(world, signer, clock, sessionmaker: async_sessionmaker[AsyncSession]):
    svc = world.sefaz.contingency(f"{world.base_url}/sefaz")
    return InvoicingService(
        world.builder,
        signer,
        world.sefaz,
        journal=EmissionJournalRepository(sessionmaker),
        contingency=svc,
        contingency_after=AFTER,
        clock=clock,
    )


async def allocate(sessionmaker, order_id: str) -> int:
    return await InvoiceRepository(sessionmaker).allocate_number(order_id, 1)


async def test_after_15_minutes_of_109_the_nfe_goes_to_svc_an_and_back_to_normal_after(
    world, service, clock, sessionmaker, tmp_path
):
    first = sample_request(
        order_id="order:store:C-1", number=await allocate(sessionmaker, "order:store:C-1")
    )
    second = sample_request(
        order_id="order:store:C-2", number=await allocate(sessionmaker, "order:store:C-2")
    )
    sefaz_sandbox.paralyse(world.state, 109)

    with pytest.raises(ProviderUnavailable, match="after 15 min") as early:
        await service.emit(first)
    clock.now += AFTER
    in_contingency = await service.emit(first)
    again = await service.emit(first)  # a retry finds it at the SVC

    assert early.value.code == "sefaz_109"
    key = in_contingency.invoice.access_key
    assert key[34] == "6"  # tpEmis 6: SVC-AN
    assert again.invoice == in_contingency.invoice
    doc = etree.fromstring(in_contingency.proc_xml.encode())
    ide = doc.find("n:NFe/n:infNFe/n:ide", NS)
    assert ide.findtext("n:tpEmis", namespaces=NS) == "6"
    assert ide.findtext("n:dhCont", namespaces=NS)
    assert "SEFAZ-SP fora do ar" in ide.findtext("n:xJust", namespaces=NS)
    verdict = verify(in_contingency.proc_xml, "infNFe", tmp_path)
    assert verdict.ok, verdict.output

    sefaz_sandbox.paralyse(world.state, None)
    clock.now += timedelta(minutes=1)
    normal = await service.emit(second)

    assert normal.invoice.access_key[34] == "1"
    assert await EmissionJournalRepository(sessionmaker).outage("sp") is None
    keys = [e["access_key"] for e in world.authorisations()]
    assert keys == [key, normal.invoice.access_key]
    consulted = await world.sefaz.consult(key)  # the state knows the SVC's NF-e
    assert consulted.cstat == 100


async def test_an_nfe_whose_normal_send_got_no_answer_waits_instead_of_going_to_the_svc(
    world, service, clock, sessionmaker
):
    request = sample_request(
        order_id="order:store:C-3", number=await allocate(sessionmaker, "order:store:C-3")
    )
    world.state.faults.set("sefaz", FaultConfig(lost_response_rate=1.0))
    with pytest.raises(ProviderUnavailable):
        await service.emit(request)  # authorised at SEFAZ, the answer lost
    world.state.faults.set("sefaz", FaultConfig())
    sefaz_sandbox.paralyse(world.state, 109)
    clock.now += timedelta(minutes=1)
    with pytest.raises(ProviderUnavailable):
        await service.emit(request)
    clock.now += AFTER

    with pytest.raises(ProviderUnavailable, match="could be authorised twice"):
        await service.emit(request)

    sefaz_sandbox.paralyse(world.state, None)
    done = await service.emit(request)
    assert done.invoice.access_key[34] == "1"
    assert len(world.authorisations()) == 1


async def test_the_svc_refuses_a_normal_nfe_and_the_state_a_contingency_one(world, signer):
    svc = world.sefaz.contingency(f"{world.base_url}/sefaz")
    built = world.builder.build(sample_request())
    sefaz_sandbox.paralyse(world.state, 109)
    with pytest.raises(ProviderRejected) as refused:
        await svc.authorise(signer.sign(built.xml, built.reference_id))
    sefaz_sandbox.paralyse(world.state, None)

    moved = in_contingency(
        built, "6", SAMPLE_ISSUED_AT, "SEFAZ-SP fora do ar: teste de contingencia"
    )
    with pytest.raises(ProviderRejected) as wrong_place:
        await world.sefaz.authorise(signer.sign(moved.xml, moved.reference_id))
    with pytest.raises(ProviderRejected) as disabled:
        await svc.authorise(signer.sign(moved.xml, moved.reference_id))  # the state is up

    assert refused.value.code == "sefaz_713"
    assert wrong_place.value.code == "sefaz_570"
    assert disabled.value.code == "sefaz_114"


async def test_svc_an_answers_at_its_own_paths(world):
    async with httpx.AsyncClient(base_url=f"{world.base_url}/sefaz") as http:
        found = await http.post("/svc-an/NFeAutorizacao4/NFeAutorizacao4.asmx", content=b"<x/>")
        missing = await http.post("/svc-an/ws/NFeAutorizacao4.asmx", content=b"<x/>")

    assert found.status_code == 400  # a SOAP fault for the body: the service is there
    assert missing.status_code == 404


async def test_a_cancellation_of_an_unknown_outcome_finds_the_contingency_nfe(
    world, service, clock, sessionmaker
):
    order_id = "order:store:C-4"
    request = sample_request(order_id=order_id, number=await allocate(sessionmaker, order_id))
    sefaz_sandbox.paralyse(world.state, 108)
    with pytest.raises(ProviderUnavailable):
        await service.emit(request)
    clock.now += AFTER
    emitted = await service.emit(request)
    sefaz_sandbox.paralyse(world.state, None)
    clock.now += timedelta(minutes=2)

    cancelled = await service.cancel(
        InvoiceCancellationRequest(
            order_id=order_id,
            reason="Pedido cancelado pelo cliente",
            requested_at=clock.now,
            emission=request,
        )
    )

    assert cancelled.status is InvoiceStatus.CANCELLED
    assert cancelled.access_key == emitted.invoice.access_key
    assert cancelled.access_key[34] == "6"

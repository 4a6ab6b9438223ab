"""The NF-e's XML goes to the marketplace: an NF-e authorised by the SEFAZ simulator is
kept in the document store, and the shipped notice uploads that XML to the marketplace
sandbox, which takes only an authorised, signed procNFe of the order's buyer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from domain.channels import ShippedNotice
from domain.errors import ProviderRejected
from domain.orders import Channel
from integrations.documents.nfe import NfeDocuments
from integrations.documents.store import FileDocumentStore, nfe_xml
from integrations.fiscal.service import InvoicingService
from integrations.fiscal.signing import NfeSigner
from integrations.sefaz.client import SefazClient
from sandbox.marketplace import MarketplaceData
from tests.integration.test_sandbox_channels import ML_ORDER
from tests.support.sandbox import World, sandbox_world
from tests.unit.test_nfe_builder import dev_signer, sample_builder, sample_request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> NfeSigner:
    return dev_signer(tmp_path_factory.mktemp("cert"))


@dataclass
class Shop:
    world: World
    service: InvoicingService
    store: FileDocumentStore


@pytest.fixture
async def shop(signer: NfeSigner, tmp_path: Path) -> AsyncIterator[Shop]:
    async with sandbox_world(seed=7) as world:
        sefaz = SefazClient(world.http, f"{world.url}/sefaz", "SP", 2)
        service = InvoicingService(sample_builder(), signer, sefaz)
        yield Shop(world, service, FileDocumentStore(tmp_path / "documents"))


async def invoiced_order(shop: Shop, *, cpf: str, number: int = 1) -> ShippedNotice:
    """A marketplace order whose buyer has `cpf`, and an NF-e for sample_request()'s
    customer (CPF 52998224725), authorised and kept in the store."""
    buyer = {**cast(dict[str, Any], ML_ORDER["buyer"]), "cpf": cpf}
    created = await shop.world.admin("/marketplace/admin/orders", {**ML_ORDER, "buyer": buyer})
    order_id = f"order:marketplace:{created['id']}"
    request = sample_request(
        number=number,
        order_id=order_id,
        channel=Channel.MARKETPLACE,
        issued_at=datetime.now(UTC),
    )
    emitted = await shop.service.emit(request)
    await NfeDocuments(shop.store).keep_authorised(emitted.invoice.access_key, emitted.proc_xml)
    return ShippedNotice(
        order_id=order_id,
        idempotency_key=f"{order_id}:notify_shipped",
        channel=Channel.MARKETPLACE,
        external_id=created["id"],
        tracking_code="ME100000002BR",
        carrier="Correios",
        invoice_key=emitted.invoice.access_key,
    )


def marketplace_data(shop: Shop) -> MarketplaceData:
    data = shop.world.state.data["marketplace"]["db"]
    assert isinstance(data, MarketplaceData)
    return data


async def test_the_shipped_notice_uploads_the_nfe_xml_once(shop: Shop) -> None:
    notice = await invoiced_order(shop, cpf="52998224725")
    client = shop.world.marketplace(documents=shop.store)

    await client.notify_shipped(notice)
    await client.notify_shipped(notice)  # a rerun: the same document, the same id

    [uploaded] = await shop.world.ledger("invoice_uploaded")
    assert (uploaded["fiscal_key"], uploaded["document"]) == (notice.invoice_key, "xml")
    _, xml = marketplace_data(shop).fiscal_documents[notice.external_id]
    assert xml == await shop.store.get(nfe_xml(notice.invoice_key))
    assert len(await shop.world.ledger("channel_notified_shipped")) == 1


async def test_the_marketplace_refuses_an_nfe_for_another_buyer(shop: Shop) -> None:
    notice = await invoiced_order(shop, cpf="11144477735")

    with pytest.raises(ProviderRejected, match="recipient .* is not the buyer") as refused:
        await shop.world.marketplace(documents=shop.store).notify_shipped(notice)

    assert refused.value.code == "http_400"
    assert await shop.world.ledger("invoice_uploaded") == []


async def test_the_marketplace_refuses_a_tampered_nfe(shop: Shop) -> None:
    notice = await invoiced_order(shop, cpf="52998224725")
    name = nfe_xml(notice.invoice_key)
    stored = await shop.store.get(name)
    assert stored is not None
    changed = stored.replace(b"<qCom>2", b"<qCom>3", 1)
    assert changed != stored
    tampered = FileDocumentStore(shop.store.root.parent / "tampered")
    await tampered.put(name, changed)

    with pytest.raises(ProviderRejected, match="not this order's NF-e: .*Assinatura difere"):
        await shop.world.marketplace(documents=tampered).notify_shipped(notice)


async def test_without_the_stored_xml_the_key_alone_is_uploaded(shop: Shop) -> None:
    notice = await invoiced_order(shop, cpf="52998224725")
    empty = FileDocumentStore(shop.store.root.parent / "empty")

    await shop.world.marketplace(documents=empty).notify_shipped(notice)

    [uploaded] = await shop.world.ledger("invoice_uploaded")
    assert uploaded["fiscal_key"] == notice.invoice_key
    assert "document" not in uploaded

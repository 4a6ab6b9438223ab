"""A replacement parcel (`<order>#n`) keeps documents of its own: the shipping store writes
each name once, so a reship's label stored under the order would be dropped and the
warehouse would print the lost parcel's label again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.shipping import ShippingActivities
from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from integrations.documents.shipping import LABEL, ShippingDocuments
from tests.integration.test_sandbox_fulfilment import booking
from tests.support.sandbox import World, sandbox_world

pytestmark = pytest.mark.integration


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=9, carrier_step_s=60) as w:
        yield w


async def test_a_reship_stores_its_label_beside_the_first_not_over_it(
    world: World, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    documents = ShippingDocuments(tmp_path)
    shipments = ShipmentRepository(sessionmaker)
    acts = ShippingActivities(world.carrier(), shipments, OrderReadModel(sessionmaker), documents)
    first = await acts.book_shipment(booking())
    replacement = booking().model_copy(update={"reference": "order:store:1001#2"})
    second = await acts.book_shipment(replacement)

    assert second.shipment_id != first.shipment_id
    assert first.label_document == "shipping/order%3Astore%3A1001/label.pdf"
    assert second.label_document == "shipping/order%3Astore%3A1001%232/label.pdf"
    one = await documents.get("order:store:1001", LABEL)
    two = await documents.get("order:store:1001#2", LABEL)
    assert one is not None
    assert two is not None
    assert one.startswith(b"%PDF-")
    assert two.startswith(b"%PDF-")
    assert one != two  # each parcel's own label (its own tracking code)
    purchased = await world.ledger("label_purchased")
    assert sorted(e["tag"] for e in purchased) == ["order:store:1001", "order:store:1001#2"]

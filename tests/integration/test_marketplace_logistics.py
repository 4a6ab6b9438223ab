"""Mercado Envios in the sandbox marketplace over HTTP: an `me2` order is taken in as the
marketplace's logistics, its label is printed from the marketplace (nothing bought), the
parcel is followed by asking the marketplace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.freight import TrackingStatus
from domain.orders import Logistics
from tests.integration.test_sandbox_channels import ML_ORDER
from tests.support.sandbox import World, sandbox_world

pytestmark = pytest.mark.integration


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=7, carrier_step_s=0.2) as w:
        yield w


async def test_a_mercado_envios_order_prints_the_marketplace_label_and_buys_none(
    world: World,
) -> None:
    body = {**ML_ORDER, "shipping": {**ML_ORDER["shipping"], "mode": "me2"}}  # type: ignore[dict-item]
    created = await world.admin("/marketplace/admin/orders", body)
    client = world.marketplace()
    order = await client.get_order(created["id"])

    assert order.logistics is Logistics.MARKETPLACE
    assert order.channel_shipment_id == str(created["shipping"]["id"])
    label = await client.shipment_label(order.channel_shipment_id)
    again = await client.shipment_label(order.channel_shipment_id)  # reprinted, same parcel
    assert label.startswith(b"%PDF")
    assert again == label
    shipment = await client.shipment(order.channel_shipment_id)
    assert shipment.tracking_number is not None
    [printed] = await world.ledger("label_printed")
    assert printed["tag"] == f"order:marketplace:{created['id']}"
    assert await world.ledger("label_purchased") == []

    for _ in range(50):
        update = await client.track(order.channel_shipment_id)
        if update.status is TrackingStatus.DELIVERED:
            break
        await asyncio.sleep(0.1)
    assert update.status is TrackingStatus.DELIVERED


async def test_a_seller_shipped_order_keeps_its_own_logistics(world: World) -> None:
    created = await world.admin("/marketplace/admin/orders", ML_ORDER)
    order = await world.marketplace().get_order(created["id"])
    assert order.logistics is Logistics.SELLER

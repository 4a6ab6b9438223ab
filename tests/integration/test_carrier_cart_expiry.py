"""Cart items at the freight hub expire when not checked out in time (Melhor Envio-like):
the sandbox refuses to buy them, and the adapter takes the item out, adds it again and
buys one label, still found by its `options.tags[].tag` on the next retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.errors import ProviderUnavailable
from sandbox.core import FaultConfig
from tests.integration.test_sandbox_fulfilment import booking
from tests.support.sandbox import TOKENS, World, sandbox_world

pytestmark = pytest.mark.integration
API = "/carrier/api/v2/me"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=5, carrier_step_s=60, carrier_cart_ttl_s=0.2) as w:
        yield w


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS['carrier']}"}


async def test_checkout_of_an_expired_cart_item_is_refused_and_it_can_be_removed(
    world: World,
) -> None:
    client = world.carrier()
    cart = await client._cart(booking())  # only into the cart, not bought
    await asyncio.sleep(0.3)

    checkout = await world.http.post(
        f"{world.url}{API}/shipment/checkout", json={"orders": [cart.id]}, headers=auth()
    )
    shown = await world.http.get(f"{world.url}{API}/orders/{cart.id}", headers=auth())
    removed = await world.http.delete(f"{world.url}{API}/cart/{cart.id}", headers=auth())
    found = await world.http.get(
        f"{world.url}{API}/orders/search", params={"q": booking().order_id}, headers=auth()
    )

    assert checkout.status_code == 422
    assert checkout.json()["message"] == "The given data was invalid."
    assert "expirou" in checkout.json()["errors"]["orders.0"][0]
    assert shown.json()["status"] == "expired"
    assert removed.status_code == 204
    assert found.json() == []
    assert await world.ledger("label_purchased") == []


async def test_book_after_the_cart_item_expired_buys_exactly_one_label(world: World) -> None:
    client = world.carrier()
    await world.set_faults("carrier", FaultConfig(lost_response_rate=1.0))
    with pytest.raises(ProviderUnavailable):
        await client.book(booking())  # into the cart; the answer is lost
    await world.set_faults("carrier", FaultConfig())
    await asyncio.sleep(0.3)  # the retry comes after the cart item expired

    booked = await client.book(booking())
    again = await client.book(booking())

    purchased = await world.ledger("label_purchased")
    assert [e["shipment_id"] for e in purchased] == [booked.shipment_id]
    assert purchased[0]["tag"] == booking().order_id
    assert again.shipment_id == booked.shipment_id

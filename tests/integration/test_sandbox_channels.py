"""The store and marketplace simulators over real HTTP, driven through our adapters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.channels import CancelledNotice, ShippedNotice
from domain.errors import ProviderUnavailable
from domain.events import EventKind
from domain.orders import Channel, PaymentStatus
from integrations.marketplace.webhooks import parse_marketplace_notification
from integrations.store.webhooks import parse_store_webhook
from integrations.webhooks import verify_signature
from sandbox.core import FaultConfig
from tests.support.sandbox import (
    SECRETS,
    World,
    sandbox_world,
)

pytestmark = pytest.mark.integration

KEY = "35261111222333000181550010000000011000000019"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=7) as w:
        yield w


def store_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "created_at": "2026-11-20T13:45:00-03:00",
        "customer": {
            "name": "Maria Silva",
            "cpf": "529.982.247-25",
            "email": "maria@example.com",
            "phone": "+5511988887777",
        },
        "shipping_address": {
            "street": "Avenida Paulista",
            "number": "1578",
            "complement": "ap 12",
            "neighborhood": "Bela Vista",
            "city": "Sao Paulo",
            "state": "SP",
            "zipcode": "01310-200",
        },
        "items": [
            {"sku": "CAFE-500", "name": "Cafe 500 g", "quantity": 2, "price": "39.90"},
            {"sku": "FILTRO-103", "name": "Filtro 103", "quantity": 1, "price": "8.50"},
        ],
        "shipping_cost": "15.00",
        "payment": {"method": "pix", "status": "pending"},
    }
    return order | overrides


ML_ORDER = {
    "buyer": {"first_name": "Joao", "last_name": "Souza", "cpf": "11144477735"},
    "items": [{"sku": "CAFE-500", "quantity": 3, "unit_price": "41.00"}],
    "shipping": {
        "street_name": "Rua XV de Novembro",
        "street_number": "50",
        "neighborhood": "Centro",
        "city": "Curitiba",
        "state": "PR",
        "zip_code": "80020310",
        "cost": "22.90",
    },
}


async def test_store_order_delivers_signed_webhook_that_parses_to_an_order(world: World) -> None:
    created = await world.admin("/store/admin/orders", store_order())

    ((signature, body),) = await world.inbox.wait("store")
    verify_signature(SECRETS["store"], body, signature, now=time.time(), tolerance_s=300)
    event = parse_store_webhook(body, datetime.now(UTC))

    assert event is not None
    assert event.kind is EventKind.ORDER_PLACED
    assert event.event_id.startswith("store:evt_")
    assert event.order is not None
    assert event.order.external_id == created["id"]
    assert event.order.channel is Channel.STORE
    assert event.order.total == Decimal("103.30")
    assert event.order.customer.address.postal_code == "01310200"
    assert event.order.payment_status is PaymentStatus.PENDING


async def test_store_cancellation_arrives_as_order_cancelled(world: World) -> None:
    created = await world.admin("/store/admin/orders", store_order())
    await world.admin(f"/store/admin/orders/{created['id']}/cancel", {"reason": "changed mind"})

    hooks = await world.inbox.wait("store", 2)
    events = [parse_store_webhook(body, datetime.now(UTC)) for _, body in hooks]

    cancelled = [e for e in events if e and e.kind is EventKind.ORDER_CANCELLED]
    assert len(cancelled) == 1
    assert cancelled[0].external_id == created["id"]
    assert cancelled[0].reason == "changed mind"


async def test_store_stock_push_lands_in_ledger(world: World) -> None:
    await world.store().push_stock("CAFE-500", 17)
    await world.store().push_stock("CAFE-500", 16)

    pushed = await world.ledger("stock_pushed")
    stock = (await world.http.get(f"{world.url}/store/admin/stock")).json()

    assert [(e["provider"], e["sku"], e["available"]) for e in pushed] == [
        ("store", "CAFE-500", 17),
        ("store", "CAFE-500", 16),
    ]
    assert stock == {"CAFE-500": 16}


async def test_store_notices_repeated_are_recorded_once(world: World) -> None:
    created = await world.admin("/store/admin/orders", store_order())
    client, external_id = world.store(), created["id"]
    shipped = ShippedNotice(
        order_id=f"order:store:{external_id}",
        idempotency_key="k1",
        channel=Channel.STORE,
        external_id=external_id,
        tracking_code="ME100000001BR",
        carrier="Correios",
        invoice_key=KEY,
    )
    cancelled = CancelledNotice(
        order_id=shipped.order_id,
        idempotency_key="k2",
        channel=Channel.STORE,
        external_id=external_id,
        reason="returned",
    )

    for _ in range(2):
        await client.notify_shipped(shipped)
        await client.notify_cancelled(cancelled)

    assert len(await world.ledger("channel_notified_shipped")) == 1
    assert len(await world.ledger("channel_notified_cancelled")) == 1


async def test_marketplace_token_expiry_is_renewed_end_to_end(world: World) -> None:
    world.state.config.marketplace_token_ttl_s = 0.3
    await world.admin("/marketplace/admin/listings", {"sku": "CAFE-500", "title": "Cafe"})
    frozen = world.marketplace(clock=lambda: 0.0)  # believes its token never expires
    ticking = world.marketplace()

    await frozen.push_stock("CAFE-500", 5)
    await ticking.push_stock("CAFE-500", 6)
    await asyncio.sleep(0.4)  # both tokens expire at the marketplace
    await frozen.push_stock("CAFE-500", 7)  # answered 401, renewed, retried once
    await ticking.push_stock("CAFE-500", 8)  # renewed before calling

    pushed = await world.ledger("stock_pushed")
    assert [e["available"] for e in pushed] == [5, 6, 7, 8]
    assert {e["sku"] for e in pushed} == {"CAFE-500"}


async def test_marketplace_notification_is_fetched_into_an_order(world: World) -> None:
    created = await world.admin("/marketplace/admin/orders", ML_ORDER)

    ((signature, body),) = await world.inbox.wait("marketplace")
    verify_signature(SECRETS["marketplace"], body, signature, now=time.time(), tolerance_s=300)
    event = parse_marketplace_notification(body, datetime.now(UTC))
    assert event is not None
    order = await world.marketplace().get_order(event.external_id)

    assert event.kind is EventKind.ORDER_NOTIFIED
    assert order.external_id == created["id"]
    assert order.customer.name == "Joao Souza"
    assert order.customer.address.state == "PR"
    assert order.total == Decimal("145.90")
    assert order.payment_status is PaymentStatus.APPROVED


async def test_marketplace_cancellation_shows_on_the_fetched_order(world: World) -> None:
    created = await world.admin("/marketplace/admin/orders", ML_ORDER)
    await world.admin(f"/marketplace/admin/orders/{created['id']}/cancel")

    hooks = await world.inbox.wait("marketplace", 2)
    order = await world.marketplace().get_order(created["id"])

    assert len(hooks) == 2
    assert order.channel_cancelled is True


async def test_marketplace_shipped_notice_uploads_invoice_and_tracking_once(world: World) -> None:
    created = await world.admin("/marketplace/admin/orders", ML_ORDER)
    notice = ShippedNotice(
        order_id=f"order:marketplace:{created['id']}",
        idempotency_key="k",
        channel=Channel.MARKETPLACE,
        external_id=created["id"],
        tracking_code="ME100000002BR",
        carrier="Correios",
        invoice_key=KEY,
    )
    client = world.marketplace()

    await client.notify_shipped(notice)
    await client.notify_shipped(notice)

    assert len(await world.ledger("invoice_uploaded")) == 1
    assert len(await world.ledger("channel_notified_shipped")) == 1


async def test_rate_limit_set_at_run_time_surfaces_as_retryable(world: World) -> None:
    faults = FaultConfig(rate_limit_rate=1.0).model_dump()
    response = await world.http.put(f"{world.url}/admin/faults/store", json=faults)
    assert response.status_code == 200

    with pytest.raises(ProviderUnavailable) as caught:
        await world.store().push_stock("CAFE-500", 1)

    stats = (await world.http.get(f"{world.url}/admin/stats")).json()
    assert caught.value.retry_after == 1.0
    assert stats["faults_injected"] == {"store.rate_limited": 1}
    assert "stock_pushed" not in stats["ledger"]

"""MarketplaceClient against a fake Mercado Livre (httpx.MockTransport): OAuth2 token
lifecycle, error translation, order translation, stock per listing."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.orders import Channel, PaymentStatus
from integrations.marketplace.client import MarketplaceClient

pytestmark = pytest.mark.unit

BASE = "https://ml.test/api"

ML_ORDER: dict[str, Any] = {
    "id": 2000000001,
    "status": "paid",
    "date_created": "2026-11-20T13:45:00.000-03:00",
    "total_amount": 123.0,
    "paid_amount": 145.9,
    "shipping_cost": 22.9,
    "order_items": [
        {"item": {"id": "MLB3000000001", "title": "Cafe", "seller_sku": "CAFE-500"},
         "quantity": 3, "unit_price": 41.0},
    ],
    "buyer": {
        "id": 400000001,
        "nickname": "JOAOS",
        "first_name": "Joao",
        "last_name": "Souza",
        "billing_info": {"doc_type": "CPF", "doc_number": "11144477735"},
    },
    "shipping": {
        "id": 40000000001,
        "receiver_address": {
            "street_name": "Rua XV de Novembro",
            "street_number": "50",
            "comment": None,
            "zip_code": "80020-310",
            "city": {"name": "Curitiba"},
            "state": {"id": "BR-PR", "name": "Parana"},
            "neighborhood": {"name": "Centro"},
        },
    },
    "payments": [{"id": 80000000001, "status": "approved", "total_paid_amount": 145.9}],
}  # fmt: skip


class FakeML:
    """Issues tokens T1, T2... with single-use refresh tokens R1, R2...; the test can
    revoke tokens or script the next API answers."""

    def __init__(self) -> None:
        self.grants: list[str] = []
        self.valid: set[str] = set()
        self.refresh: set[str] = set()
        self.api_calls: list[tuple[str, str, str]] = []
        self.scripted: list[httpx.Response] = []
        self.items = {"CAFE-500": ["MLB1", "MLB2"]}
        self.order: dict[str, Any] = copy.deepcopy(ML_ORDER)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        if path == "/oauth/token":
            return self.token(dict(parse_qsl(request.content.decode())))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.api_calls.append((request.method, path, token))
        if self.scripted:
            return self.scripted.pop(0)
        if token not in self.valid:
            return httpx.Response(401, json={"message": "invalid_token", "error": "expired_token"})
        if path == "/users/me/items/search":
            return httpx.Response(
                200, json={"results": self.items.get(request.url.params["seller_sku"], [])}
            )
        if path.startswith("/items/"):
            qty = json.loads(request.content)["available_quantity"]
            return httpx.Response(200, json={"id": path[7:], "available_quantity": qty})
        if path.startswith("/orders/"):
            return httpx.Response(200, json=self.order)
        return httpx.Response(404, json={"message": "not found", "error": "not_found"})

    def token(self, form: dict[str, str]) -> httpx.Response:
        assert (form["client_id"], form["client_secret"]) == ("app", "secret")
        self.grants.append(form["grant_type"])
        if form["grant_type"] == "refresh_token":
            if form["refresh_token"] not in self.refresh:
                return httpx.Response(400, json={"message": "used", "error": "invalid_grant"})
            self.refresh.discard(form["refresh_token"])
        n = len(self.grants)
        self.valid.add(f"T{n}")
        self.refresh.add(f"R{n}")
        return httpx.Response(
            200,
            json={
                "access_token": f"T{n}",
                "token_type": "bearer",
                "expires_in": 21600,
                "refresh_token": f"R{n}",
            },
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ml() -> FakeML:
    return FakeML()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(ml: FakeML, clock: Clock) -> AsyncIterator[MarketplaceClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(ml)) as http:
        yield MarketplaceClient(http, BASE, "app", "secret", clock=clock)


async def test_token_is_obtained_lazily_and_reused(client: MarketplaceClient, ml: FakeML) -> None:
    assert ml.grants == []

    await client.push_stock("CAFE-500", 3)
    await client.get_order("2000000001")

    assert ml.grants == ["client_credentials"]
    assert {token for _, _, token in ml.api_calls} == {"T1"}


async def test_expired_token_is_renewed_with_refresh_token_before_the_call(
    client: MarketplaceClient, ml: FakeML, clock: Clock
) -> None:
    await client.get_order("2000000001")
    clock.now += 21600

    await client.get_order("2000000001")

    assert ml.grants == ["client_credentials", "refresh_token"]
    assert [token for _, _, token in ml.api_calls] == ["T1", "T2"]


async def test_call_answered_401_is_retried_once_after_refresh(
    client: MarketplaceClient, ml: FakeML
) -> None:
    await client.get_order("2000000001")
    ml.valid.clear()  # revoked or expired early at the marketplace

    order = await client.get_order("2000000001")

    assert order.external_id == "2000000001"
    assert ml.grants == ["client_credentials", "refresh_token"]
    assert [token for _, _, token in ml.api_calls] == ["T1", "T1", "T2"]


async def test_refused_refresh_token_falls_back_to_client_credentials(
    client: MarketplaceClient, ml: FakeML, clock: Clock
) -> None:
    await client.get_order("2000000001")
    ml.refresh.clear()
    clock.now += 86400

    await client.get_order("2000000001")

    assert ml.grants == ["client_credentials", "refresh_token", "client_credentials"]


async def test_second_401_after_refresh_is_rejected_without_looping(
    client: MarketplaceClient, ml: FakeML
) -> None:
    denied = httpx.Response(401, json={"message": "invalid_token", "error": "expired_token"})
    ml.scripted = [denied, denied, denied]

    with pytest.raises(ProviderRejected) as caught:
        await client.get_order("2000000001")

    assert caught.value.code == "http_401"
    assert len(ml.api_calls) == 2


async def test_concurrent_calls_share_one_renewal(client: MarketplaceClient, ml: FakeML) -> None:
    await client.get_order("2000000001")
    ml.valid.clear()

    await asyncio.gather(*(client.get_order("2000000001") for _ in range(5)))

    assert ml.grants == ["client_credentials", "refresh_token"]


async def test_rate_limit_is_unavailable_with_retry_after(
    client: MarketplaceClient, ml: FakeML
) -> None:
    ml.scripted = [httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow"})]

    with pytest.raises(ProviderUnavailable) as caught:
        await client.get_order("2000000001")

    assert caught.value.retry_after == 7.0
    assert caught.value.provider == "marketplace"


async def test_client_error_is_rejected_with_the_provider_message(
    client: MarketplaceClient, ml: FakeML
) -> None:
    ml.scripted = [httpx.Response(404, json={"message": "Order not found", "error": "x"})]

    with pytest.raises(ProviderRejected, match="Order not found"):
        await client.get_order("1")


async def test_unexpected_order_shape_is_rejected_naming_the_field(
    client: MarketplaceClient, ml: FakeML
) -> None:
    del ml.order["buyer"]["billing_info"]

    with pytest.raises(ProviderRejected, match=r"buyer\.billing_info"):
        await client.get_order("2000000001")


async def test_ml_order_becomes_a_domain_order(client: MarketplaceClient) -> None:
    order = await client.get_order("2000000001")

    assert order.channel is Channel.MARKETPLACE
    assert order.external_id == "2000000001"
    assert order.customer.name == "Joao Souza"
    assert order.customer.cpf == "11144477735"
    assert order.customer.address.state == "PR"
    assert order.customer.address.postal_code == "80020310"
    assert order.customer.address.city_code == "4106902"  # Curitiba, looked up by name
    assert order.items[0].sku == "CAFE-500"
    assert order.shipping_price == Decimal("22.90")
    assert order.total == Decimal("145.90")
    assert order.payment_status is PaymentStatus.APPROVED
    assert order.payment_id == "80000000001"
    assert order.channel_cancelled is False


async def test_cancelled_ml_order_is_flagged(client: MarketplaceClient, ml: FakeML) -> None:
    ml.order["status"] = "cancelled"

    assert (await client.get_order("2000000001")).channel_cancelled is True


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("buyer", "billing_info", "doc_type"), "CNPJ", "only CPF buyers"),
        (("buyer", "billing_info", "doc_number"), "11111111111", "buyer.billing_info.doc_number"),
        (("shipping", "receiver_address", "state"), {"id": "BR-XX"}, "receiver_address.state.id"),
        (
            ("shipping", "receiver_address", "city"),
            {"name": "Curitibx"},
            "receiver_address.city.name: city 'Curitibx' not found in state PR",
        ),
        (("total_amount",), 99.0, "total"),
    ],
)
async def test_order_we_cannot_take_in_is_rejected_naming_the_field(
    client: MarketplaceClient, ml: FakeML, path: tuple[str, ...], value: Any, message: str
) -> None:
    node = ml.order
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value

    with pytest.raises(ProviderRejected, match=message):
        await client.get_order("2000000001")


async def test_stock_push_finds_listings_once_and_updates_each(
    client: MarketplaceClient, ml: FakeML
) -> None:
    await client.push_stock("CAFE-500", 4)
    await client.push_stock("CAFE-500", 3)

    calls = [(method, path) for method, path, _ in ml.api_calls]
    assert calls == [
        ("GET", "/users/me/items/search"),
        ("PUT", "/items/MLB1"),
        ("PUT", "/items/MLB2"),
        ("PUT", "/items/MLB1"),
        ("PUT", "/items/MLB2"),
    ]


async def test_stock_push_for_unlisted_sku_does_nothing(
    client: MarketplaceClient, ml: FakeML
) -> None:
    await client.push_stock("NOT-LISTED", 4)

    assert [(m, p) for m, p, _ in ml.api_calls] == [("GET", "/users/me/items/search")]

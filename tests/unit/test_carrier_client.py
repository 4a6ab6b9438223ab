"""CarrierClient against a fake Melhor Envio (httpx.MockTransport): quotes, and booking
that looks before it acts so a retry never buys a second label."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from domain.errors import ProviderRejected
from domain.fiscal import Issuer
from domain.freight import BookingRequest, FreightQuote, Parcel, ParcelItem, QuoteRequest
from domain.orders import Address
from integrations.carrier.client import CarrierClient

pytestmark = pytest.mark.unit

SP = Address(
    street="Rua Augusta",
    number="1000",
    district="Consolacao",
    city="Sao Paulo",
    state="SP",
    postal_code="01304001",
)
SENDER = Issuer(cnpj="11222333000181", name="RETAGUARDA LTDA", ie="1", address=SP)
PARCEL = Parcel(weight_g=1500, height_cm=10, width_cm=20, length_cm=30, declared_value="99.9")
PAC = FreightQuote(service_id=1, carrier="Correios", service="PAC", price=Decimal("25.10"))
REQUEST = BookingRequest(
    order_id="order:store:1001",
    idempotency_key="order:store:1001:book",
    quote=PAC,
    parcel=PARCEL,
    recipient_name="Maria Silva",
    recipient_address=SP.model_copy(update={"postal_code": "04538133"}),
    invoice_key="35261111222333000181550010000000011000000019",
    recipient_document="52998224725",
    recipient_phone="11999990000",
    recipient_email="maria@example.com",
    contents=(ParcelItem(sku="SKU-A", name="Caneca", quantity=2, unit_value=Decimal("49.95")),),
)


class FakeME:
    def __init__(self) -> None:
        self.shipments: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.bodies: dict[str, Any] = {}
        self.checkout_answer: httpx.Response | None = None
        self.expire_on_checkout = False

    def add(self, status: str, tracking: str | None = None, tag: str = REQUEST.order_id) -> str:
        self.made = getattr(self, "made", 0) + 1
        sid = f"s{self.made}"
        self.shipments[sid] = {
            "id": sid,
            "protocol": f"ORD-{sid}",
            "status": status,
            "tags": [{"tag": tag, "url": None}],
            "service": "PAC",
            "service_id": 1,
            "company": {"id": 1, "name": "Correios"},
            "price": "25.10",
            "tracking": tracking,
        }
        return sid

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/carrier/api/v2/me")
        self.calls.append(path)
        body = json.loads(request.content) if request.content else {}
        self.bodies[path] = body
        if path == "/orders/search":
            q = request.url.params["q"]
            return httpx.Response(
                200, json=[s for s in self.shipments.values() if s["tags"][0]["tag"] == q]
            )
        if path == "/cart":
            tag = body["options"]["tags"][0]["tag"]
            return httpx.Response(201, json=self.shipments[self.add("pending", tag=tag)])
        if path.startswith("/cart/") and request.method == "DELETE":
            self.shipments.pop(path.removeprefix("/cart/"), None)
            return httpx.Response(204)
        if path == "/shipment/checkout":
            if self.expire_on_checkout:  # the item outlived the cart while we waited
                self.expire_on_checkout = False
                self.shipments[body["orders"][0]]["status"] = "expired"
                return httpx.Response(422, json={"message": "The given data was invalid."})
            if self.checkout_answer is not None:
                return self.checkout_answer
            self.shipments[body["orders"][0]]["status"] = "released"
            return httpx.Response(200, json={"purchase": {"id": "p1"}})
        if path == "/shipment/generate":
            shipment = self.shipments[body["orders"][0]]
            shipment.update(status="generated", tracking=f"ME{len(self.calls):09d}BR")
            return httpx.Response(200, json={shipment["id"]: {"status": True}})
        if path == "/shipment/print":
            return httpx.Response(200, json={"url": f"https://me.test/{body['orders'][0]}.pdf"})
        if path == "/shipment/cancel":
            self.shipments[body["order"]["id"]]["status"] = "cancelled"
            return httpx.Response(200, json={body["order"]["id"]: {"canceled": True}})
        if path.startswith("/orders/"):
            return httpx.Response(200, json=self.shipments[path.removeprefix("/orders/")])
        if path == "/shipment/calculate":
            return httpx.Response(
                200,
                json=[
                    {"id": 1, "name": "PAC", "price": "25.10", "custom_price": "25.10",
                     "delivery_time": 6, "company": {"id": 1, "name": "Correios"}},
                    {"id": 3, "name": ".Package", "company": {"id": 2, "name": "Jadlog"},
                     "error": "Transportadora não atende este trecho."},
                ],
            )  # fmt: skip
        return httpx.Response(404, json={"message": "no route"})


@pytest.fixture
def me() -> FakeME:
    return FakeME()


@pytest.fixture
async def client(me: FakeME) -> AsyncIterator[CarrierClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(me)) as http:
        yield CarrierClient(http, "https://me.test/carrier", "tok", sender=SENDER)


async def test_quotes_keep_the_error_of_a_service_that_cannot_serve(
    client: CarrierClient, me: FakeME
) -> None:
    quotes = await client.quote(
        QuoteRequest(
            order_id="o", from_postal_code="01304001", to_postal_code="69005040", parcel=PARCEL
        )
    )

    assert quotes[0] == FreightQuote(
        service_id=1, carrier="Correios", service="PAC", price=Decimal("25.10"), delivery_days=6
    )
    assert quotes[1].error == "Transportadora não atende este trecho."
    assert quotes[1].price == Decimal("0")
    assert me.bodies["/shipment/calculate"]["package"] == {
        "height": 10,
        "width": 20,
        "length": 30,
        "weight": 1.5,
    }


async def test_first_booking_looks_then_carts_buys_generates_and_prints(
    client: CarrierClient, me: FakeME
) -> None:
    booking = await client.book(REQUEST)

    assert me.calls == [
        "/orders/search",
        "/cart",
        "/shipment/checkout",
        "/shipment/generate",
        "/shipment/print",
        "/orders/s1",
    ]
    cart = me.bodies["/cart"]
    # where the real API reads the order tag (a top-level `tag` is ignored there)
    assert cart["options"]["tags"] == [{"tag": REQUEST.order_id, "url": None}]
    assert "tag" not in cart
    # what a commercial shipment must carry
    assert cart["to"]["document"] == "52998224725"
    assert cart["to"]["phone"] == "11999990000"
    assert cart["from"]["state_register"] == "1"
    assert cart["products"] == [{"name": "Caneca", "quantity": 2, "unitary_value": 49.95}]
    assert cart["from"]["postal_code"] == "01304001"
    assert cart["from"]["company_document"] == "11222333000181"
    assert cart["to"]["postal_code"] == "04538133"
    assert cart["options"]["invoice"] == {"key": REQUEST.invoice_key}
    assert booking.shipment_id == "s1"
    assert booking.tracking_code.startswith("ME")
    assert booking.label_url == "https://me.test/s1.pdf"
    assert booking.price == Decimal("25.10")


async def test_booking_finds_a_carted_shipment_and_does_not_cart_again(
    client: CarrierClient, me: FakeME
) -> None:
    me.add("pending")

    await client.book(REQUEST)

    assert "/cart" not in me.calls
    assert me.calls.count("/shipment/checkout") == 1


async def test_booking_finds_a_purchased_shipment_and_does_not_buy_again(
    client: CarrierClient, me: FakeME
) -> None:
    me.add("released")

    booking = await client.book(REQUEST)

    assert "/cart" not in me.calls
    assert "/shipment/checkout" not in me.calls
    assert booking.shipment_id == "s1"


async def test_booking_finds_a_generated_label_and_only_prints_it(
    client: CarrierClient, me: FakeME
) -> None:
    me.add("generated", tracking="ME000000042BR")

    booking = await client.book(REQUEST)

    assert me.calls == ["/orders/search", "/shipment/print", "/orders/s1"]
    assert booking.tracking_code == "ME000000042BR"


async def test_cancelled_shipments_are_not_reused(client: CarrierClient, me: FakeME) -> None:
    me.add("cancelled", tracking="ME000000001BR")

    booking = await client.book(REQUEST)

    assert booking.shipment_id == "s2"


async def test_checkout_already_purchased_counts_as_done(client: CarrierClient, me: FakeME) -> None:
    me.add("pending")  # the search saw it before the lost checkout answer was recorded
    me.checkout_answer = httpx.Response(422, json={"detail": "already purchased: s1"})

    booking = await client.book(REQUEST)

    assert booking.shipment_id == "s1"


async def test_other_checkout_refusals_are_rejected(client: CarrierClient, me: FakeME) -> None:
    me.checkout_answer = httpx.Response(422, json={"message": "saldo insuficiente"})

    with pytest.raises(ProviderRejected, match="saldo insuficiente"):
        await client.book(REQUEST)


async def test_cancel_without_shipment_id_cancels_what_is_tagged(
    client: CarrierClient, me: FakeME
) -> None:
    me.add("released")
    me.add("cancelled")
    me.add("released", tag="order:store:9999")

    await client.cancel(REQUEST.order_id)

    assert me.calls.count("/shipment/cancel") == 1
    assert [s["status"] for s in me.shipments.values()] == ["cancelled", "cancelled", "released"]


async def test_an_expired_cart_item_is_removed_added_again_and_bought_once(
    client: CarrierClient, me: FakeME
) -> None:
    stale = me.add("pending")  # found by the search, expires before the checkout
    me.expire_on_checkout = True

    booking = await client.book(REQUEST)

    assert stale not in me.shipments  # taken out of the cart
    assert booking.shipment_id != stale
    assert [s["status"] for s in me.shipments.values()] == ["generated"]
    assert me.calls.count("/cart") == 1
    assert me.calls.count("/shipment/checkout") == 2


async def test_an_expired_cart_item_is_not_live(client: CarrierClient, me: FakeME) -> None:
    me.add("expired")

    assert await client.find(REQUEST.order_id) == []

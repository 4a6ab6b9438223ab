"""Each provider's webhook body -> OrderEvent, and malformed bodies naming the bad field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.events import EventKind
from domain.freight import TrackingStatus
from domain.orders import Channel, PaymentStatus
from integrations.carrier.webhooks import parse_carrier_webhook
from integrations.marketplace.webhooks import parse_marketplace_notification
from integrations.store.webhooks import parse_store_webhook
from integrations.webhooks import WebhookPayloadError

pytestmark = pytest.mark.unit

RECEIVED = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)

STORE_HOOK: dict[str, Any] = {
    "id": "evt_abc",
    "type": "order.created",
    "created_at": "2026-11-20T16:45:00Z",
    "data": {
        "id": "1001",
        "number": 1001,
        "created_at": "2026-11-20T13:45:00-03:00",
        "status": "open",
        "customer": {"name": "Maria Silva", "cpf": "529.982.247-25", "email": "m@example.com"},
        "shipping_address": {
            "street": "Avenida Paulista",
            "number": "1578",
            "neighborhood": "Bela Vista",
            "city": "Sao Paulo",
            "state": "SP",
            "zipcode": "01310-200",
        },
        "items": [{"sku": "CAFE-500", "quantity": 2, "price": "39.90"}],
        "shipping_cost": "15.00",
        "total": "94.80",
        "payment": {"method": "pix", "status": "paid", "id": "1300000001"},
    },
}


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def store_hook(path: str = "", value: Any = None, *, drop: bool = False) -> bytes:
    """The store webhook with `path` (dotted) set to `value` or dropped."""
    hook = copy.deepcopy(STORE_HOOK)
    if path:
        *parents, last = path.split(".")
        node: Any = hook
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if drop:
            del node[last]
        else:
            node[last] = value
    return body(hook)


def test_store_order_created_carries_the_full_order() -> None:
    event = parse_store_webhook(store_hook(), RECEIVED)

    assert event is not None
    assert event.event_id == "store:evt_abc"
    assert event.kind is EventKind.ORDER_PLACED
    assert (event.channel, event.external_id, event.received_at) == (
        Channel.STORE,
        "1001",
        RECEIVED,
    )
    order = event.order
    assert order is not None
    assert order.customer.cpf == "52998224725"
    assert order.customer.address.postal_code == "01310200"
    assert order.customer.address.district == "Bela Vista"
    assert order.total == Decimal("94.80")
    assert order.payment_status is PaymentStatus.APPROVED
    assert order.payment_id == "1300000001"
    assert order.customer.address.city_code == "3550308"  # looked up from "Sao Paulo", SP


@pytest.mark.parametrize(
    ("city", "state", "code"),
    [
        ("Belo Horizonte", "MG", "3106200"),
        ("GOIÂNIA", "go", "5208707"),
        ("recife", "PE", "2611606"),
    ],
)
def test_store_address_without_a_code_gets_its_citys_code(city: str, state: str, code: str):
    hook = copy.deepcopy(STORE_HOOK)
    hook["data"]["shipping_address"] |= {"city": city, "state": state}

    event = parse_store_webhook(body(hook), RECEIVED)

    assert event is not None
    assert event.order is not None
    assert event.order.customer.address.city_code == code


def test_store_address_with_its_own_code_keeps_it() -> None:
    event = parse_store_webhook(store_hook("data.shipping_address.city_code", 3550308), RECEIVED)

    assert event is not None
    assert event.order is not None
    assert event.order.customer.address.city_code == "3550308"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (
            store_hook("data.shipping_address.city", "Xyz"),
            "city",
            "city 'Xyz' not found in state SP",
        ),
        (
            store_hook("data.shipping_address.city_code", "3106200"),
            "city_code",
            "3106200 is Belo Horizonte, MG, not a city of SP",
        ),
        (store_hook("data.shipping_address.city_code", "3550309"), "city_code", "check digit"),
    ],
    ids=["unknown-city", "code-of-another-state", "bad-check-digit"],
)
def test_store_address_whose_city_cannot_be_coded_names_what_to_correct(raw, field, words):
    with pytest.raises(WebhookPayloadError) as caught:
        parse_store_webhook(raw, RECEIVED)

    assert caught.value.field == f"data.shipping_address.{field}"
    assert words in caught.value.message


def test_store_order_cancelled_is_an_order_cancelled_event() -> None:
    hook = copy.deepcopy(STORE_HOOK)
    hook["type"] = "order.cancelled"
    hook["data"] |= {"status": "cancelled", "cancel_reason": "customer_request"}

    event = parse_store_webhook(body(hook), RECEIVED)

    assert event is not None
    assert event.kind is EventKind.ORDER_CANCELLED
    assert event.reason == "customer_request"
    assert event.order is not None
    assert event.order.channel_cancelled


def test_store_unknown_type_is_ignored() -> None:
    assert parse_store_webhook(store_hook("type", "product.updated"), RECEIVED) is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (store_hook("data.customer.cpf", "123.456.789-00"), "data.customer.cpf"),
        (store_hook("data.shipping_address.zipcode", "0131"), "data.shipping_address.zipcode"),
        (store_hook("data.shipping_address.state", "XX"), "data.shipping_address.state"),
        (store_hook("data.items.0.quantity", 0), "data.items.0.quantity"),
        (store_hook("data.items.0.price", "abc"), "data.items.0.price"),
        (store_hook("data.total", "10.00"), "data.total"),
        (store_hook("data.created_at", "2026-11-20T13:45:00"), "data.created_at"),
        (store_hook("data.customer", drop=True), "data.customer"),
        (store_hook("data", drop=True), "data"),
        (b"not json", ""),
    ],
)
def test_store_malformed_body_names_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_store_webhook(raw, RECEIVED)

    assert caught.value.field == field
    assert "store webhook" in caught.value.message


def test_marketplace_orders_notification_names_the_order_to_fetch() -> None:
    note = {
        "_id": "f9f08571-1f65-4c46-9e0a-c0f43faac7ba",
        "resource": "/orders/2000000001",
        "user_id": 123456789,
        "topic": "orders_v2",
        "application_id": 5503910054141466,
        "attempts": 1,
        "sent": "2026-11-20T16:45:00.000Z",
        "received": "2026-11-20T16:45:00.000Z",
    }

    event = parse_marketplace_notification(body(note), RECEIVED)

    assert event is not None
    assert event.event_id == "marketplace:f9f08571-1f65-4c46-9e0a-c0f43faac7ba"
    assert event.kind is EventKind.ORDER_NOTIFIED
    assert (event.channel, event.external_id) == (Channel.MARKETPLACE, "2000000001")
    assert event.resource == "/orders/2000000001"
    assert event.order is None


def test_marketplace_other_topics_are_ignored() -> None:
    note = {"_id": "x", "resource": "/items/MLB1", "topic": "items", "user_id": 1}
    assert parse_marketplace_notification(body(note), RECEIVED) is None


@pytest.mark.parametrize(
    ("note", "field"),
    [
        ({"_id": "x", "resource": "/shipments/1", "topic": "orders_v2"}, "resource"),
        ({"resource": "/orders/1", "topic": "orders_v2"}, "_id"),
        ({"_id": "x", "topic": "orders_v2"}, "resource"),
    ],
)
def test_marketplace_malformed_notification_names_the_field(
    note: dict[str, Any], field: str
) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_marketplace_notification(body(note), RECEIVED)
    assert caught.value.field == field


def carrier_hook(**data: Any) -> dict[str, Any]:
    base = {
        "id": "9b1c7c2e-0000-4000-8000-000000000001",
        "protocol": "ORD-20261100000001",
        "status": "in_transit",
        "tracking": "ME100000001BR",
        "tag": "order:store:1001",
        "updated_at": "2026-11-20T16:45:00+00:00",
    }
    return {"id": "evt_track", "event": "order.in_transit", "data": base | data}


def test_carrier_tracking_event_reaches_the_order_named_by_the_tag() -> None:
    event = parse_carrier_webhook(body(carrier_hook()), RECEIVED)

    assert event is not None
    assert event.event_id == "carrier:evt_track"
    assert event.kind is EventKind.TRACKING
    assert (event.channel, event.external_id) == (Channel.STORE, "1001")
    assert event.tracking is not None
    assert event.tracking.status is TrackingStatus.IN_TRANSIT
    assert event.tracking.tracking_code == "ME100000001BR"
    assert event.tracking.shipment_id == "9b1c7c2e-0000-4000-8000-000000000001"


def test_carrier_tags_name_the_order_as_the_real_api_sends_them() -> None:
    hook = carrier_hook(tag="", tags=[{"tag": "loja-x", "url": None},
                                      {"tag": "order:marketplace:2001", "url": None}])  # fmt: skip
    event = parse_carrier_webhook(body(hook), RECEIVED)

    assert event is not None
    assert (event.channel, event.external_id) == (Channel.MARKETPLACE, "2001")


def test_a_replacement_shipment_reaches_its_order() -> None:
    hook = carrier_hook(tag="", tags=[{"tag": "order:store:1001#2", "url": None}])
    event = parse_carrier_webhook(body(hook), RECEIVED)

    assert event is not None
    assert (event.channel, event.external_id) == (Channel.STORE, "1001")


def test_carrier_non_tracking_events_are_ignored() -> None:
    assert parse_carrier_webhook(body(carrier_hook(status="released")), RECEIVED) is None


@pytest.mark.parametrize(
    ("hook", "field"),
    [
        (carrier_hook(tag="1001"), "data.tags"),
        (carrier_hook(tag="order:shopee:1001"), "data.tags"),
        (carrier_hook(tracking=None), "data.tracking"),
        (carrier_hook(updated_at="yesterday"), "data.updated_at"),
    ],
)
def test_carrier_malformed_body_names_the_field(hook: dict[str, Any], field: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        parse_carrier_webhook(body(hook), RECEIVED)
    assert caught.value.field == field

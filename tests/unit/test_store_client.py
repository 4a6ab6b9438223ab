"""StoreClient against httpx.MockTransport: requests it sends, errors it translates."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from domain.channels import CancelledNotice, ShippedNotice
from domain.errors import ProviderRejected, ProviderUnavailable
from domain.orders import Channel
from integrations.store.client import StoreClient

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011000000019"
SHIPPED = ShippedNotice(
    order_id="order:store:1001",
    idempotency_key="order:store:1001:notify_shipped",
    channel=Channel.STORE,
    external_id="1001",
    tracking_code="ME100000001BR",
    carrier="Correios",
    invoice_key=KEY,
)


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[StoreClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return StoreClient(http, "https://store.test/store/", "tok"), seen


async def test_push_stock_puts_the_absolute_level_with_the_bearer_token() -> None:
    client, seen = client_for(lambda r: httpx.Response(200, json={"sku": "A/1", "available": 5}))

    await client.push_stock("A/1", 5)

    (request,) = seen
    assert (request.method, request.url.raw_path) == ("PUT", b"/store/api/stock/A%2F1")
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == {"available": 5}


async def test_notify_shipped_posts_the_fulfilment() -> None:
    client, seen = client_for(lambda r: httpx.Response(201, json={"order_id": "1001"}))

    await client.notify_shipped(SHIPPED)

    (request,) = seen
    assert request.url.path == "/store/api/orders/1001/fulfillments"
    assert request.headers["Idempotency-Key"] == SHIPPED.idempotency_key
    assert json.loads(request.content) == {
        "tracking_code": "ME100000001BR",
        "carrier": "Correios",
        "invoice_key": KEY,
    }


async def test_notify_cancelled_posts_the_reason() -> None:
    client, seen = client_for(lambda r: httpx.Response(200, json={"order_id": "1001"}))
    notice = CancelledNotice(
        order_id="order:store:1001",
        idempotency_key="k",
        channel=Channel.STORE,
        external_id="1001",
        reason="payment not received",
    )

    await client.notify_cancelled(notice)

    assert seen[0].url.path == "/store/api/orders/1001/cancellation"
    assert json.loads(seen[0].content) == {"reason": "payment not received"}


async def test_server_error_is_unavailable() -> None:
    client, _ = client_for(lambda r: httpx.Response(503, json={"error": "down"}))

    with pytest.raises(ProviderUnavailable, match="down"):
        await client.push_stock("A", 1)


async def test_timeout_is_unavailable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = client_for(slow)

    with pytest.raises(ProviderUnavailable) as caught:
        await client.push_stock("A", 1)
    assert caught.value.code == "timeout"


async def test_bad_token_is_rejected() -> None:
    client, _ = client_for(lambda r: httpx.Response(401, json={"detail": "invalid bearer token"}))

    with pytest.raises(ProviderRejected, match="invalid bearer token"):
        await client.notify_shipped(SHIPPED)


async def test_unexpected_answer_is_rejected_naming_the_field() -> None:
    client, _ = client_for(lambda r: httpx.Response(200, json={"sku": "A"}))

    with pytest.raises(ProviderRejected, match="unexpected body \\(available: Field required"):
        await client.push_stock("A", 1)


async def test_non_json_answer_is_rejected() -> None:
    client, _ = client_for(lambda r: httpx.Response(200, text="<html>maintenance</html>"))

    with pytest.raises(ProviderRejected, match="not JSON"):
        await client.push_stock("A", 1)

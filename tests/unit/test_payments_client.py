"""PaymentsClient against httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.payments import Refund, RefundRequest
from integrations.payments.client import PaymentsClient

pytestmark = pytest.mark.unit

REQUEST = RefundRequest(
    order_id="order:store:1001",
    idempotency_key="order:store:1001:refund",
    payment_id="1300000001",
    amount=Decimal("12.34"),
)


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[PaymentsClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return PaymentsClient(http, "https://pay.test/payments", "tok"), seen


async def test_refund_sends_the_idempotency_key_and_amount_as_text() -> None:
    answer = {"id": 2100000001, "payment_id": 1300000001, "amount": 12.34, "status": "approved"}
    client, seen = client_for(lambda r: httpx.Response(201, json=answer))

    refund = await client.refund(REQUEST)

    (request,) = seen
    assert request.url.path == "/payments/v1/payments/1300000001/refunds"
    assert request.headers["X-Idempotency-Key"] == "order:store:1001:refund"
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == {"amount": "12.34"}
    assert refund == Refund(
        refund_id="2100000001", payment_id="1300000001", amount=Decimal("12.34"), status="approved"
    )


async def test_refund_beyond_the_paid_amount_is_rejected_with_the_gateway_message() -> None:
    client, _ = client_for(
        lambda r: httpx.Response(400, json={"detail": "refund of 12.34 exceeds what is left"})
    )

    with pytest.raises(ProviderRejected, match="exceeds what is left"):
        await client.refund(REQUEST)


async def test_rate_limited_refund_is_unavailable_with_retry_after() -> None:
    client, _ = client_for(lambda r: httpx.Response(429, headers={"Retry-After": "2"}))

    with pytest.raises(ProviderUnavailable) as caught:
        await client.refund(REQUEST)
    assert caught.value.retry_after == 2.0


async def test_get_payment_reads_status_and_amounts() -> None:
    answer = {
        "id": "1300000001",
        "status": "approved",
        "external_reference": "store:1001",
        "transaction_amount": "100.00",
        "transaction_amount_refunded": "12.34",
        "payment_method_id": "pix",
    }
    client, _ = client_for(lambda r: httpx.Response(200, json=answer))

    payment = await client.get_payment("1300000001")

    assert payment.status == "approved"
    assert payment.amount == Decimal("100.00")
    assert payment.refunded == Decimal("12.34")
    assert payment.external_reference == "store:1001"


async def test_payment_without_amount_is_rejected_naming_the_field() -> None:
    client, _ = client_for(lambda r: httpx.Response(200, json={"id": "1", "status": "approved"}))

    with pytest.raises(ProviderRejected, match="transaction_amount"):
        await client.get_payment("1")

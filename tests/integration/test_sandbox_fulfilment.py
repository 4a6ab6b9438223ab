"""The payment gateway and carrier simulators over real HTTP, driven through our adapters:
refunds exactly once, labels bought exactly once through lost responses, tracking."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import ProviderRejected, ProviderUnavailable
from domain.freight import (
    BookingRequest,
    FreightQuote,
    Parcel,
    ParcelItem,
    QuoteRequest,
    TrackingStatus,
    choose_quote,
)
from domain.orders import Address, Channel
from domain.payments import RefundRequest
from integrations.carrier.client import ALREADY_POSTED
from integrations.carrier.webhooks import parse_carrier_webhook
from integrations.payments.webhooks import parse_payment_notification, verify_notification
from integrations.webhooks import verify_signature
from sandbox.core import FaultConfig
from tests.support.sandbox import (
    SECRETS,
    World,
    sandbox_world,
)

pytestmark = pytest.mark.integration

RECIFE = Address(
    street="Rua da Aurora",
    number="300",
    district="Boa Vista",
    city="Recife",
    city_code="2611606",
    state="PE",
    postal_code="50050000",
)
PARCEL = Parcel(
    weight_g=1200, height_cm=10, width_cm=20, length_cm=30, declared_value=Decimal("150")
)
PAC = FreightQuote(service_id=1, carrier="Correios", service="PAC", price=Decimal("30"))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(seed=11, carrier_step_s=0.05) as w:
        yield w


async def approved_payment(world: World, amount: str) -> str:
    body = {"external_reference": "store:1001", "amount": amount, "approve_after_s": 0}
    created = await world.admin("/payments/admin/payments", body)
    ((headers, raw),) = await world.inbox.wait_headers("payments")
    verify_notification(SECRETS["payments"], raw, headers, now=time.time(), tolerance_s=300)
    notice = parse_payment_notification(raw, datetime.now(UTC))
    assert notice is not None
    assert notice.payment_id == created["id"]
    payment = await world.payments().get_payment(notice.payment_id)
    assert payment.status == "approved"
    assert payment.external_reference == "store:1001"
    assert payment.amount == Decimal(amount)
    return str(created["id"])


async def test_refund_repeated_with_same_key_refunds_once(world: World) -> None:
    payment_id = await approved_payment(world, "100.00")
    request = RefundRequest(
        order_id="order:store:1001",
        idempotency_key="order:store:1001:refund",
        payment_id=payment_id,
        amount=Decimal("40.00"),
    )
    client = world.payments()

    first = await client.refund(request)
    again = await client.refund(request)
    payment = await client.get_payment(payment_id)

    assert first == again
    assert first.amount == Decimal("40.00")
    assert [e["refund_id"] for e in await world.ledger("refund")] == [first.refund_id]
    assert payment.refunded == Decimal("40.00")
    assert payment.status == "approved"


async def test_refund_beyond_what_is_left_is_rejected_with_the_amounts(world: World) -> None:
    payment_id = await approved_payment(world, "50.00")
    client = world.payments()
    await client.refund(
        RefundRequest(order_id="o", idempotency_key="a", payment_id=payment_id, amount="30")
    )

    with pytest.raises(ProviderRejected) as caught:
        await client.refund(
            RefundRequest(order_id="o", idempotency_key="b", payment_id=payment_id, amount="30")
        )

    assert "20.00 of 50.00" in caught.value.message
    assert len(await world.ledger("refund")) == 1


async def test_quotes_cover_three_services_and_keep_route_errors(world: World) -> None:
    client = world.carrier()
    near = await client.quote(
        QuoteRequest(
            order_id="o", from_postal_code="01304001", to_postal_code="04538133", parcel=PARCEL
        )
    )
    far = await client.quote(
        QuoteRequest(
            order_id="o", from_postal_code="01304001", to_postal_code="69005040", parcel=PARCEL
        )
    )

    assert [q.service for q in near] == ["PAC", "SEDEX", ".Package"]
    assert all(q.error is None and q.price > 0 for q in near)
    assert near == await client.quote(
        QuoteRequest(
            order_id="o", from_postal_code="01304001", to_postal_code="04538133", parcel=PARCEL
        )
    )
    jadlog = far[2]
    assert jadlog.carrier == "Jadlog"
    assert jadlog.error is not None
    assert choose_quote(far).error is None


def booking(order_id: str = "order:store:1001") -> BookingRequest:
    return BookingRequest(
        order_id=order_id,
        idempotency_key=f"{order_id}:book",
        quote=PAC,
        parcel=PARCEL,
        recipient_name="Maria Silva",
        recipient_address=RECIFE,
        invoice_key="26261111222333000181550010000000011000000019",
        recipient_document="52998224725",
        recipient_phone="81999990000",
        contents=(ParcelItem(sku="SKU-A", name="Caneca", quantity=1, unit_value=Decimal("99.90")),),
    )


async def test_book_retried_after_lost_response_buys_one_label(world: World) -> None:
    client = world.carrier()
    await world.set_faults("carrier", FaultConfig(lost_response_rate=1.0))
    with pytest.raises(ProviderUnavailable):
        await client.book(booking())
    await world.set_faults("carrier", FaultConfig())

    booked = await client.book(booking())
    again = await client.book(booking())

    purchased = await world.ledger("label_purchased")
    assert [e["shipment_id"] for e in purchased] == [booked.shipment_id]
    assert again == booked
    assert booked.tracking_code.startswith("ME")
    assert booked.tracking_code.endswith("BR")


async def test_book_keeps_retrying_through_lost_responses_and_buys_once(world: World) -> None:
    client = world.carrier()
    await world.set_faults("carrier", FaultConfig(lost_response_rate=1.0))

    booked = None
    for _attempt in range(10):  # what Temporal's retry policy would do
        try:
            booked = await client.book(booking())
            break
        except ProviderUnavailable:
            continue

    assert booked is not None
    assert len(await world.ledger("label_purchased")) == 1
    assert len(await world.ledger("label_generated")) == 1


async def test_label_pdf_is_served(world: World) -> None:
    booked = await world.carrier().book(booking())

    response = await world.http.get(booked.label_url)

    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-1.4")
    assert b"%%EOF" in response.content


async def test_tracking_webhooks_follow_the_parcel_to_delivery(world: World) -> None:
    booked = await world.carrier().book(booking("order:marketplace:2000000001"))

    hooks = await world.inbox.wait("carrier", 4)
    events = [parse_carrier_webhook(body, datetime.now(UTC)) for _, body in hooks]
    for signature, body in hooks:
        verify_signature(SECRETS["carrier"], body, signature, now=time.time(), tolerance_s=300)

    assert all(e is not None and e.tracking is not None for e in events)
    tracked = [e.tracking for e in events if e and e.tracking]
    assert [t.status for t in tracked] == [
        TrackingStatus.POSTED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert {(e.channel, e.external_id) for e in events if e} == {
        (Channel.MARKETPLACE, "2000000001")
    }
    assert {t.tracking_code for t in tracked} == {booked.tracking_code}
    with pytest.raises(ProviderRejected, match="delivered"):
        await world.carrier().cancel("order:marketplace:2000000001", booked.shipment_id)


async def test_cancel_twice_cancels_once_and_stops_tracking(world: World) -> None:
    world.state.config.carrier_step_s = 0.3
    client = world.carrier()
    booked = await client.book(booking())

    await client.cancel(booked.order_id, booked.shipment_id)
    await client.cancel(booked.order_id)  # by tag: nothing live is left, nothing happens
    await client.cancel(booked.order_id, booked.shipment_id)
    await asyncio.sleep(0.5)

    assert len(await world.ledger("label_cancelled")) == 1
    assert await world.ledger("tracking") == []


async def test_a_posted_parcel_cannot_be_cancelled_and_ops_are_told_to_ask_for_a_return(
    world: World,
) -> None:
    world.state.config.carrier_step_s = 0.05
    client = world.carrier()
    booked = await client.book(booking())
    await world.inbox.wait("carrier", 1)  # posted: the carrier has the parcel

    with pytest.raises(ProviderRejected) as refused:
        await client.cancel(booked.order_id, booked.shipment_id)

    assert refused.value.code == ALREADY_POSTED
    assert "return" in refused.value.message
    assert booked.tracking_code in refused.value.message
    assert await world.ledger("label_cancelled") == []


async def test_a_label_not_yet_posted_can_be_cancelled(world: World) -> None:
    world.state.config.carrier_step_s = 30
    client = world.carrier()
    booked = await client.book(booking())

    await client.cancel(booked.order_id, booked.shipment_id)

    [cancelled] = await world.ledger("label_cancelled")
    assert cancelled["was"] == "generated"

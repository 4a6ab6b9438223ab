"""The carrier portal bot in a real Chromium against the sandbox portal over HTTP: the
happy path, an expired session, a maintenance page, a changed layout, and a lost
confirmation (booked, the page never came: the search before booking finds it)."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from domain.errors import ProviderUnavailable
from domain.freight import BookingRequest, CarrierKind, Parcel, QuoteRequest, TrackingStatus
from domain.orders import Address
from integrations.portals.browser import BrowserPool, chromium_path
from integrations.portals.carrier_portal import CarrierPortalBot, PortalError
from tests.support.sandbox import World, sandbox_world

pytestmark = pytest.mark.browser
USER, PASSWORD = "bot-user", "bot-secret-password"


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    try:
        chromium_path()
    except ProviderUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc} (CI=true: browser tests are mandatory)")
        pytest.skip(str(exc))
    async with AsyncExitStack() as stack:
        yield await BrowserPool.launch(stack, 2)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with sandbox_world(
        seed=5, portal_username=USER, portal_password=PASSWORD, carrier_step_s=60
    ) as world:
        yield world


def bot(pool: BrowserPool, world: World, **kw: Any) -> CarrierPortalBot:
    return CarrierPortalBot(pool, f"{world.url}/portal", USER, PASSWORD,
                            origin_postal_code="01304001", timeout_s=8, **kw)  # fmt: skip


async def configure(world: World, **config: Any) -> None:
    response = await world.http.put(f"{world.url}/portal/admin/config", json=config)
    assert response.status_code == 200, response.text


def booking(order_id: str = "order:store:5001") -> BookingRequest:
    from domain.freight import FreightQuote

    return BookingRequest(
        order_id=order_id,
        idempotency_key=f"{order_id}:booking",
        quote=FreightQuote(service_id=1, carrier="Expresso Serra", service="Rodoviário",
                           price=Decimal("15.25"), delivery_days=4, kind=CarrierKind.PORTAL),
        parcel=Parcel(weight_g=1500, height_cm=12, width_cm=20, length_cm=30,
                      declared_value=Decimal("119.80")),
        recipient_name="Maria Souza",
        recipient_address=Address(street="Rua das Flores", number="10", district="Centro",
                                  city="Campinas", state="SP", postal_code="13010000"),
        recipient_document="52998224725",
        recipient_phone="19999990000",
        invoice_key="35" + "0" * 42,
    )  # fmt: skip


async def booked(world: World) -> list[dict[str, Any]]:
    return [e for e in await world.ledger("pickup_booked") if e["provider"] == "portal"]


async def test_the_bot_quotes_books_once_and_downloads_the_label(
    pool: BrowserPool, world: World
) -> None:
    portal = bot(pool, world)
    parcel = booking().parcel
    quotes = await portal.quote(
        QuoteRequest(
            order_id="q", from_postal_code="01304001", to_postal_code="13010000", parcel=parcel
        )  # fmt: skip
    )
    assert {q.service for q in quotes} == {"Rodoviário", "Expresso"}
    assert all(q.kind is CarrierKind.PORTAL and q.price > 0 for q in quotes)
    far = await portal.quote(
        QuoteRequest(
            order_id="q", from_postal_code="01304001", to_postal_code="51011000", parcel=parcel
        )  # fmt: skip
    )
    assert [q.error for q in far] == ["Não atendemos este trecho."]

    first = await portal.book(booking())
    again = await portal.book(booking())  # a retry: found by the search, not booked twice

    assert first.booking.kind is CarrierKind.PORTAL
    assert first.booking.shipment_id.startswith("COL-")
    assert first.booking.tracking_code.startswith("ES")
    assert (first.found, again.found) == (False, True)
    assert again.booking == first.booking
    assert len(await booked(world)) == 1
    text = PdfReader(io.BytesIO(first.label)).pages[0].extract_text()
    assert first.booking.tracking_code in text
    assert portal.logins == 1  # the session was reused by the later tasks
    [pickup] = await portal.find("order:store:5001")
    assert pickup.status is None  # scheduled, not collected yet


async def test_an_expired_session_logs_in_again(pool: BrowserPool, world: World) -> None:
    portal = bot(pool, world)
    await portal.book(booking("order:store:5101"))
    # The kept session ends (as when its time is up; a 2 s clock raced a loaded machine).
    ended = (await world.http.delete(f"{world.url}/portal/admin/sessions")).json()
    assert ended["ended"] >= 1
    second = await portal.book(booking("order:store:5102"))

    assert second.found is False
    assert portal.logins >= 2
    assert len(await booked(world)) == 2


async def test_a_maintenance_page_is_retryable_and_leaves_a_screenshot(
    pool: BrowserPool, world: World
) -> None:
    await configure(world, maintenance_rate=1.0)
    portal = bot(pool, world)
    with pytest.raises(PortalError) as down:
        await portal.book(booking("order:store:5201"))
    assert down.value.code == "maintenance"
    assert down.value.artifacts["screenshot.png"].startswith(b"\x89PNG")
    assert down.value.artifacts["trace.zip"].startswith(b"PK")
    assert await booked(world) == []

    await configure(world)
    done = await portal.book(booking("order:store:5201"))
    assert done.found is False
    assert len(await booked(world)) == 1


async def test_a_changed_layout_is_still_filled_by_label(pool: BrowserPool, world: World) -> None:
    await configure(world, layout_change_rate=1.0)
    done = await bot(pool, world).book(booking("order:store:5301"))

    [entry] = await booked(world)
    assert entry["tag"] == "order:store:5301"
    pickups = (await world.http.get(f"{world.url}/portal/admin/pickups")).json()
    assert [p["layout"] for p in pickups] == [1]  # booked through the changed form
    assert pickups[0]["cep"] == "13010000"
    assert done.booking.service == "Rodoviário"


async def test_a_lost_confirmation_is_found_by_the_search_before_booking(
    pool: BrowserPool, world: World
) -> None:
    await configure(world, lost_confirmation_rate=1.0)
    portal = bot(pool, world)
    with pytest.raises(PortalError) as lost:
        await portal.book(booking("order:store:5401"))
    assert lost.value.code == "no_confirmation"
    assert len(await booked(world)) == 1  # booked all the same

    await configure(world)
    retry = await portal.book(booking("order:store:5401"))

    assert retry.found is True
    [entry] = await booked(world)
    assert retry.booking.shipment_id == entry["pickup"]
    assert retry.label.startswith(b"%PDF")


async def test_cancel_cancels_a_scheduled_pickup_once(pool: BrowserPool, world: World) -> None:
    portal = bot(pool, world)
    done = await portal.book(booking("order:store:5501"))
    assert await portal.cancel("order:store:5501") == [done.booking.shipment_id]
    assert await portal.cancel("order:store:5501") == []  # nothing live left
    [pickup] = await portal.find("order:store:5501")
    assert not pickup.live
    assert pickup.status is not TrackingStatus.DELIVERED


async def test_the_label_and_packing_slip_are_printed_to_pdf_by_chromium(
    pool: BrowserPool,
) -> None:
    from domain.carriers import ShippingDocumentsRequest
    from domain.freight import Booking
    from domain.orders import Channel, Customer, Order, OrderItem
    from integrations.documents.printing import ShippingPrinter
    from tests.support.sandbox import SENDER

    request = booking()
    order = Order(
        channel=Channel.STORE, external_id="5601", placed_at=datetime(2026, 12, 1, tzinfo=UTC),
        customer=Customer(name="Maria Souza", cpf="52998224725",
                          address=request.recipient_address),
        items=(OrderItem(sku="RTG-CAN-002", quantity=2, unit_price=Decimal("39.90")),),
        total=Decimal("79.80"),
    )  # fmt: skip
    shipment = Booking(order_id="order:store:5601", shipment_id="COL-000042",
                       tracking_code="ES700000042BR", carrier="Expresso Serra",
                       service="Rodoviário", price=Decimal("15.25"))  # fmt: skip
    printer = ShippingPrinter(pool, SENDER)
    docs = ShippingDocumentsRequest(order_id="order:store:5601", order=order, booking=shipment,
                                    invoice_key="35" + "1" * 42, invoice_number=42)  # fmt: skip

    assert "<svg" in printer.html("label.html", docs)  # the barcode, inline
    label = PdfReader(io.BytesIO(await printer.label(docs))).pages[0].extract_text()
    slip = PdfReader(io.BytesIO(await printer.packing_slip(docs))).pages[0].extract_text()

    assert "ES700000042BR" in label
    assert "13010-000" in label
    assert "Maria Souza" in label
    assert "Romaneio" in slip
    assert "RTG-CAN-002" in slip
    assert "R$ 79,80" in slip

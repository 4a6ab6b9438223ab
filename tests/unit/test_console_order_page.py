"""The order page shows what ops need to answer a customer: who and where, how they
paid, the documents, the tracking link and why this carrier, in pt-BR first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.console import OrderPage, render
from db.api_keys import ApiRole
from db.shipments import ShipmentView
from domain.carriers import promised_date, tracking_url
from domain.formats import mask_cpf
from domain.freight import Booking, CarrierKind, FreightChoice, FreightQuote, RejectedQuote
from domain.nfe_fields import payment_kind_and_brand
from domain.orders import Address, Customer, Order, OrderItem, PaymentStatus
from domain.steps import OrderState
from tests.unit.test_console_render import NOW, ORDER_ID, chrome, view

pytestmark = pytest.mark.unit

KEY = "35261111222333000181550010000000011724612128"


def held_order() -> Order:
    return Order(
        channel="store",
        external_id="7001",
        placed_at=NOW - timedelta(days=1),
        customer=Customer(
            name="Maria Souza",
            cpf="123.456.789-09",
            email="maria@example.com",
            phone="11987654321",
            address=Address(
                street="Rua das Flores", number="10", complement="apto 3", district="Centro",
                city="Campinas", state="SP", postal_code="13010000",
            ),
        ),
        items=(OrderItem(sku="MUG-1", quantity=1, unit_price=Decimal("1299.90")),),
        shipping_price=Decimal("15.00"),
        total=Decimal("1314.90"),
        payment_status=PaymentStatus.APPROVED,
        payment_method="visa",
        payment_id="MP-998877",
    )  # fmt: skip


def freight() -> FreightChoice:
    pac = FreightQuote(service_id=1, carrier="Correios", service="PAC", price=Decimal("23.50"),
                       delivery_days=3)  # fmt: skip
    sedex = FreightQuote(service_id=2, carrier="Correios", service="SEDEX",
                         price=Decimal("41.00"), delivery_days=1)  # fmt: skip
    portal = FreightQuote(service_id=0, carrier="Expresso Serra", service="Rodoviário",
                          error="portal in maintenance", kind=CarrierKind.PORTAL)  # fmt: skip
    return FreightChoice(
        kind=CarrierKind.API,
        quote=pac,
        reason="cheapest within 5 days",
        rejected=(
            RejectedQuote(quote=sedex, reason="R$ 17,50 dearer than PAC"),
            RejectedQuote(quote=portal, reason="could not be quoted: portal in maintenance"),
        ),
    )


def state() -> OrderState:
    booking = Booking(order_id=ORDER_ID, shipment_id="s-1", tracking_code="AA123456789BR",
                      carrier="Correios", service="PAC", price=Decimal("23.50"))  # fmt: skip
    return OrderState(
        order_id=ORDER_ID, channel="store", external_id="7001", status="shipped",
        order=held_order(), paid=True, payment_id="MP-998877", booking=booking, freight=freight(),
    )  # fmt: skip


def shipment() -> ShipmentView:
    booked = datetime(2024, 11, 29, 13, 0, tzinfo=UTC)  # a Friday, 10:00 in São Paulo
    return ShipmentView(
        order_id=ORDER_ID, shipment_id="s-1", tracking_code="AA123456789BR", carrier="Correios",
        service="PAC", price=Decimal("23.50"), label_url="", status="posted", status_at=booked,
        booked_at=booked, cancelled_at=None, delivered_at=None,
        label_document=f"shipping/{ORDER_ID}/label.pdf",
    )  # fmt: skip


def page(role: ApiRole = ApiRole.OPS, lang: str = "pt-BR") -> str:
    order = view().model_copy(update={"invoice_key": KEY, "total": Decimal("1314.90")})
    return render(OrderPage(chrome(role, lang=lang), order, state(), shipment=shipment()))


def test_the_order_page_shows_customer_address_payment_tracking_and_quotes_in_pt_br() -> None:
    html = page()
    assert 'lang="pt-BR"' in html
    assert "123.456.789-09" in html  # ops see the whole CPF: they correct it
    assert "Rua das Flores, 10 – apto 3" in html
    assert "Centro · Campinas/SP" in html
    assert "13010-000" in html
    assert "cartão de crédito · Visa" in html
    assert "R$ 1.314,90" in html
    assert "MP-998877" in html
    assert "3526 1111 2223 3300 0181 5500 1000 0000 0117 2461 2128" in html
    link = "https://rastreamento.correios.com.br/app/index.php?objetos=AA123456789BR"
    assert f'href="{link}"' in html
    assert f'href="/console/orders/{ORDER_ID}/shipping/label.pdf"' in html
    assert "Etiqueta (PDF)" in html
    # chosen and rejected, with price, promised day and why
    assert "escolhida" in html
    assert "R$ 23,50" in html
    assert "R$ 41,00" in html
    assert "04/12/2024" in html  # Friday + 3 business days
    assert "02/12/2024" in html  # SEDEX: 1 business day
    assert "R$ 17,50 dearer than PAC" in html
    assert "could not be quoted: portal in maintenance" in html


def test_the_order_page_is_available_in_english() -> None:
    html = page(lang="en")
    assert "credit card · Visa" in html
    assert "Delivery address" in html
    assert "2024-12-04" in html
    assert "chosen" in html


@pytest.mark.parametrize("role", [ApiRole.VIEWER, ApiRole.WAREHOUSE])
def test_roles_that_do_not_need_the_cpf_see_it_masked(role: ApiRole) -> None:
    html = page(role)
    assert "123.***.***-09" in html
    assert "123.456.789-09" not in html
    assert "12345678909" not in html


def test_mask_cpf_keeps_the_first_three_and_the_check_digits() -> None:
    assert mask_cpf("12345678909") == "123.***.***-09"
    assert mask_cpf("123.456.789-09") == "123.***.***-09"
    assert mask_cpf("") == ""
    assert mask_cpf("123") == "***"


def test_payment_kinds_and_brands_as_people_call_them() -> None:
    assert payment_kind_and_brand("visa") == ("credit card", "Visa")
    assert payment_kind_and_brand("debelo") == ("debit card", "Elo")
    assert payment_kind_and_brand("pix") == ("Pix", "")
    assert payment_kind_and_brand("bolbradesco") == ("boleto", "")


def test_tracking_links_only_for_known_carriers_and_plain_codes() -> None:
    assert tracking_url("Jadlog", "JD1").endswith("cte=JD1")
    assert tracking_url("Unknown carrier", "X1") == ""
    assert tracking_url("Correios", "AA1<script>") == ""


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 30))
def test_a_promise_lands_on_a_weekday_after_as_many_weekdays(start: date, days: int) -> None:
    end = promised_date(start, days)
    between = [start + timedelta(n) for n in range(1, (end - start).days + 1)]
    assert sum(d.weekday() < 5 for d in between) == days
    assert days == 0 or end.weekday() < 5


def test_plural_messages_come_out_in_pt_br() -> None:
    from api.console.i18n import language

    words = language("pt-BR")
    one = words.ngettext("%(num)s order found", "%(num)s orders found", 1)
    many = words.ngettext("%(num)s order found", "%(num)s orders found", 3)
    assert (one, many) == ("%(num)s pedido encontrado", "%(num)s pedidos encontrados")

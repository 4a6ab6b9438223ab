"""The books on SQLite and PostgreSQL: the margin per order line from the catalogue, the
receivable, the carrier's price and the stored NF-e; the cash position and projection
from bank statements, receivables, anticipations and payables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.orders import OrderActivities
from db.audit import AuditLog
from db.cashflow import CashRepository
from db.catalogue import CatalogueRepository
from db.margins import MarginRepository
from db.models import InvoiceRow, ReconciliationLine, ShipmentRow
from db.orders import OrderReadModel
from db.payables import PayableRepository
from db.receivables import ReceivableRepository
from db.shipments import ShipmentRepository
from domain.cashflow import MoveKind, project
from domain.orders import OrderItem, OrderStatus
from domain.receivables import default_terms
from domain.steps import StatusChange, StatusEntry
from integrations.channels import ChannelClients
from integrations.fiscal.nfe_read import item_taxes
from tests.unit.test_nfe_builder import NS, sample_builder, sample_request

pytestmark = pytest.mark.integration

PAID = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
PRODUCT: dict[str, Any] = {"ncm": "69120000", "weight_g": 400, "height_cm": 10,
                           "width_cm": 12, "length_cm": 12}  # fmt: skip


async def a_paid_order(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Store order A-1: 2 × CANECA-01 at 39.90 and 1 × CAFE-500 at 24.50, freight 15.00
    paid by the buyer, 22.00 charged by the carrier, its NF-e stored."""
    catalogue = CatalogueRepository(sessions)
    await catalogue.upsert_product(
        "CANECA-01",
        name="Caneca",
        price=Decimal("39.90"),
        cost=Decimal("12.00"),
        supplier="Ceramica Sul",
        **PRODUCT,
    )
    await catalogue.upsert_product(
        "CAFE-500",
        name="Cafe",
        price=Decimal("24.50"),
        cost=Decimal("9.00"),
        supplier="Torrefacao",
        **PRODUCT,
    )
    items = (OrderItem(sku="CANECA-01", quantity=2, unit_price=Decimal("39.90")),
             OrderItem(sku="CAFE-500", quantity=1, unit_price=Decimal("24.50")))  # fmt: skip
    order_id = "order:store:A-1"
    orders = OrderReadModel(sessions)
    await orders.upsert(order_id, "store", "A-1", status=OrderStatus.PAID, at=PAID,
                        total=Decimal("119.30"), items=items)  # fmt: skip
    xml = sample_builder(crt="3").build(sample_request(state="RJ")).xml
    async with sessions() as s:
        s.add(
            InvoiceRow(
                order_id=order_id,
                number=1,
                series=1,
                access_key="3" * 44,
                protocol="1",
                status="authorised",
                authorised_at=PAID,
                xml=xml,
            )
        )
        s.add(
            ShipmentRow(
                order_id=order_id,
                shipment_id="s1",
                tracking_code="T1",
                carrier="Correios",
                service="PAC",
                price=Decimal("22.00"),
                label_url="",
                status="posted",
                status_at=PAID,
                booked_at=PAID,
            )
        )
        await s.commit()  # fmt: skip
    await ReceivableRepository(sessions).accrue_orders([order_id], default_terms(), "UTC")
    return order_id


async def test_the_margin_of_an_order_is_price_less_cost_commission_freight_and_nfe_taxes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await a_paid_order(sessionmaker)
    margins = MarginRepository(sessionmaker)

    assert await margins.refresh(item_taxes, "UTC") == 1
    assert await margins.refresh(item_taxes, "UTC") == 0  # nothing changed since
    lines = await margins.lines(order_id)

    xml = sample_builder(crt="3").build(sample_request(state="RJ")).xml
    taxes = dict(item_taxes(xml))
    receivable = await ReceivableRepository(sessionmaker).get(order_id)
    assert receivable is not None
    mug, coffee = lines
    assert (mug.price, mug.cost, mug.taxes) == (Decimal("79.80"), Decimal("24.00"),
                                                taxes["CANECA-01"])  # fmt: skip
    assert (coffee.price, coffee.cost, coffee.taxes) == (Decimal("24.50"), Decimal("9.00"),
                                                         taxes["CAFE-500"])  # fmt: skip
    assert mug.commission + coffee.commission == receivable.commission + receivable.fixed_fee
    assert mug.freight + coffee.freight == Decimal("22.00") - Decimal("15.00")
    root = etree.fromstring(xml.encode())
    total_taxes = sum(
        Decimal(v) for name in ("vICMS", "vPIS", "vCOFINS", "vICMSUFDest", "vFCPUFDest")
        for v in root.xpath(f"//n:ICMSTot/n:{name}/text()", namespaces=NS)
    )  # fmt: skip
    assert mug.taxes + coffee.taxes == total_taxes

    by_supplier = {r.key: r for r in await margins.summary("supplier", TODAY, TODAY)}
    assert by_supplier["Ceramica Sul"].margin == mug.margin
    assert by_supplier["Torrefacao"].margin == coffee.margin
    (store,) = await margins.summary("channel", TODAY, TODAY)
    assert (store.key, store.orders, store.quantity) == ("store", 1, 3)
    assert store.margin == mug.margin + coffee.margin
    assert store.margin == (Decimal("104.30") - 33 - (mug.commission + coffee.commission)
                            - 7 - total_taxes)  # fmt: skip
    assert store.without_nfe == 0
    assert await margins.summary("sku", TODAY + timedelta(days=1), TODAY + timedelta(days=9)) == []


async def test_the_cash_flow_starts_from_the_bank_and_lays_out_what_comes_and_goes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await a_paid_order(sessionmaker)
    receivable = await ReceivableRepository(sessionmaker).get(order_id)
    assert receivable is not None
    async with sessionmaker() as s:
        for seq, (cls, amount) in enumerate(
            [("matched", "1000.00"), ("unmatched_line", "-12.90"),
             ("unmatched_expected", None)], 1,
        ):  # fmt: skip
            s.add(ReconciliationLine(
                kind="bank", day=TODAY - timedelta(days=1), seq=seq, cls=cls, key=f"k{seq}",
                description="", reference="",
                amount=Decimal(amount) if amount else None,
            ))  # fmt: skip
        await s.commit()
    payables = PayableRepository(sessionmaker)
    await payables.add("NF-77", "Ceramica Sul", TODAY + timedelta(days=3), Decimal("300"), "ana")
    await payables.add("NF-77", "Ceramica Sul", TODAY + timedelta(days=3), Decimal("999"), "ana")
    await payables.add("NF-60", "Torrefacao", TODAY - timedelta(days=2), Decimal("50"), "ana")
    await payables.add("NF-61", "Torrefacao", TODAY - timedelta(days=5), Decimal("70"), "ana")
    await payables.mark_paid("NF-61", TODAY - timedelta(days=4))
    cash = CashRepository(sessionmaker)

    position = await cash.position(TODAY, Decimal("500.00"), None)
    moves = await cash.moves(TODAY, TODAY + timedelta(days=29), 120)
    flow = project(position, TODAY, 30, moves)

    assert position == Decimal("500.00") + Decimal("1000.00") - Decimal("12.90")
    assert sorted((m.kind, m.reference, m.amount) for m in moves) == sorted([
        (MoveKind.RECEIVABLE, "store:A-1", receivable.net),
        (MoveKind.PAYABLE, "NF-77", Decimal("-300.00")),
        (MoveKind.PAYABLE, "NF-60", Decimal("-50.00")),
    ])  # fmt: skip
    assert flow.overdue_out == Decimal("50.00")
    released = flow.days[(receivable.expected_release - TODAY).days]
    assert released.inflow == receivable.net
    assert flow.closing == position + receivable.net - Decimal("350.00")
    assert await cash.position(TODAY, Decimal("0"), TODAY) == 0  # opening after the lines


async def test_the_receivable_follows_the_order_the_moment_it_is_paid_refunded_and_cancelled(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    receivables = ReceivableRepository(sessionmaker)

    async def accrue(order_id: str) -> object:
        return await receivables.accrue_orders([order_id], default_terms(), "UTC")

    orders = OrderReadModel(sessionmaker)
    audit = AuditLog(sessionmaker)
    activities = OrderActivities(
        orders, audit, ShipmentRepository(sessionmaker), ChannelClients({}), accrue
    )
    order_id = "order:store:P-1"
    await orders.upsert(order_id, "store", "P-1", status=OrderStatus.RECEIVED, at=PAID,
                        total=Decimal("200.00"))  # fmt: skip
    reached = (StatusEntry(status=OrderStatus.RESERVED, at=PAID),
               StatusEntry(status=OrderStatus.AWAITING_PAYMENT, at=PAID))  # fmt: skip
    await activities.record_status(
        StatusChange(order_id=order_id, status=OrderStatus.RESERVED, at=PAID, reached=reached)
    )
    assert await receivables.get(order_id) is None  # nothing paid yet

    later = PAID + timedelta(minutes=5)
    await activities.record_status(
        StatusChange(order_id=order_id, status=OrderStatus.PAID, at=later)
    )
    paid = await receivables.get(order_id)
    assert paid is not None
    assert (paid.gross, paid.refunded, paid.status) == (Decimal("200.00"), Decimal(0), "open")

    await audit.record("workflow", "refund", order_id, {"amount": "200.00"})
    await activities.record_status(
        StatusChange(order_id=order_id, status=OrderStatus.CANCELLED, at=later)
    )
    cancelled = await receivables.get(order_id)
    assert cancelled is not None
    assert (cancelled.refunded, cancelled.status) == (Decimal("200.00"), "refunded")


async def test_chargebacks_of_several_nights_add_up_and_a_rerun_replaces_its_own(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await a_paid_order(sessionmaker)
    receivables = ReceivableRepository(sessionmaker)
    first, second = TODAY, TODAY + timedelta(days=1)

    await receivables.record_chargebacks(first, {"store:A-1": Decimal("5.00")})
    await receivables.record_chargebacks(second, {"store:A-1": Decimal("3.10")})
    both = await receivables.get(order_id)
    await receivables.record_chargebacks(first, {})  # the first night again: it took nothing
    rerun = await receivables.get(order_id)
    await receivables.record_chargebacks(second, {"store:A-1": Decimal("3.10")})
    again = await receivables.get(order_id)

    assert both is not None
    assert rerun is not None
    assert again is not None
    assert (both.charged_back, rerun.charged_back, again.charged_back) == (
        Decimal("8.10"), Decimal("3.10"), Decimal("3.10"),
    )  # fmt: skip


async def test_a_chargeback_recomputes_the_orders_margin(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await a_paid_order(sessionmaker)
    margins = MarginRepository(sessionmaker)
    await margins.refresh(item_taxes, "UTC")
    before = sum(m.margin for m in await margins.lines(order_id))

    await ReceivableRepository(sessionmaker).record_chargebacks(
        TODAY, {"store:A-1": Decimal("104.30")}
    )
    assert await margins.refresh(item_taxes, "UTC") == 1
    after = await margins.lines(order_id)

    assert sum(m.price for m in after) == 0  # all the goods' price went back
    assert sum(m.margin for m in after) == before - Decimal("104.30")

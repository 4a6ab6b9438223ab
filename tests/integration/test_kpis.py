"""The KPIs computed in SQL from the read model, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.kpis import KpiRepository
from db.orders import OrderReadModel
from db.warehouse import WarehouseRepository
from domain.orders import OrderStatus
from domain.steps import StatusChange
from domain.warehouse import WarehouseRecord, WarehouseStep

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # Black Friday, 09:00 in São Paulo
FLOW = [
    (OrderStatus.PAID, 10),
    (OrderStatus.INVOICED, 15),
    (OrderStatus.PICKING, 16),
    (OrderStatus.PICKED, 45),
    (OrderStatus.PACKED, 50),
    (OrderStatus.CHECKED, 55),
    (OrderStatus.SHIPPED, 60),
]


async def order(
    orders: OrderReadModel,
    warehouse: WarehouseRepository,
    n: int,
    *,
    delivered_after: timedelta | None = timedelta(days=2),
    cancelled: bool = False,
    operator: str = "ana",
    shift: str = "manha",
    slow: int = 0,
) -> str:
    order_id = f"order:store:{n}"
    await orders.upsert(
        order_id, "store", str(n), status=OrderStatus.RECEIVED, at=T0,
        customer_name=f"Cliente {n}", customer_cpf="52998224725" if n == 1 else None,
        items=[{"sku": f"SKU-{n}", "quantity": 1, "price": "10.00"}],
    )  # fmt: skip
    await warehouse.create_task(order_id, {f"SKU-{n}": 1}, T0)
    for status, minutes in FLOW if not cancelled else FLOW[:2]:
        at = T0 + timedelta(minutes=minutes + (slow if status is OrderStatus.PICKED else 0))
        await orders.record(StatusChange(order_id=order_id, status=status, at=at))
        step = {OrderStatus.PICKED: WarehouseStep.PICK, OrderStatus.PACKED: WarehouseStep.PACK,
                OrderStatus.CHECKED: WarehouseStep.CHECK}.get(status)  # fmt: skip
        if step is not None:
            record = WarehouseRecord(step=step, operator=operator, shift=shift, at=at)
            await warehouse.record_step(order_id, record)
    if cancelled:
        at = T0 + timedelta(hours=1)
        await orders.record(StatusChange(order_id=order_id, status=OrderStatus.CANCELLED, at=at))
    elif delivered_after is not None:
        at = T0 + delivered_after
        await orders.record(StatusChange(order_id=order_id, status=OrderStatus.DELIVERED, at=at))
    return order_id


async def test_kpis_count_perfect_orders_phases_days_operators_and_shifts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    orders, warehouse = OrderReadModel(sessionmaker), WarehouseRepository(sessionmaker)
    await order(orders, warehouse, 1)  # perfect
    mismatch = await order(orders, warehouse, 2, operator="bia", shift="tarde", slow=60)
    await warehouse.record_mistake(mismatch, "bia", "tarde", ["SKU-2: expected 1, scanned 2"],
                                   T0 + timedelta(minutes=52), key="k1")  # fmt: skip
    again = await warehouse.record_mistake(
        mismatch, "bia", "tarde", ["x"], T0 + timedelta(minutes=52), key="k1"
    )
    assert again is False  # the same check screen posted twice counts once
    await order(orders, warehouse, 3, delivered_after=timedelta(days=10))  # late
    await order(orders, warehouse, 4, cancelled=True)  # cancelled after payment
    await order(orders, warehouse, 5, delivered_after=None)  # still travelling

    kpis = KpiRepository(sessionmaker)
    report = await kpis.report(T0 - timedelta(days=1), T0 + timedelta(days=30))
    assert (report.orders_closed, report.orders_perfect) == (4, 1)
    assert report.perfect_order_rate == 0.25
    assert (report.late, report.with_check_mismatch, report.cancelled_after_payment) == (1, 1, 1)
    assert report.check_mistakes_caught == 1
    assert report.phases["payment"].p50_min == 10.0
    assert report.phases["payment"].orders == 5
    picking = report.phases["picking"]  # 30 min for three orders, 90 for one
    assert (picking.p50_min, picking.p90_min, picking.orders) == (30.0, 90.0, 4)
    assert report.phases["delivery"].orders == 3
    assert report.picked_per_day == {"2026-11-27": 4}
    assert report.dispatched_per_day == {"2026-11-27": 4}
    assert report.by_operator["ana"].picked == 3
    assert report.by_operator["bia"].model_dump() == {
        "picked": 1, "packed": 1, "checked": 1, "mistakes_caught": 1
    }  # fmt: skip
    assert report.by_shift["tarde"].mistakes_caught == 1

    marketplace = await kpis.report(T0 - timedelta(days=1), T0 + timedelta(days=30), "marketplace")
    assert marketplace.orders_closed == 0
    assert marketplace.perfect_order_rate is None
    assert marketplace.by_operator == {}
    before = await kpis.report(T0 - timedelta(days=3), T0 - timedelta(days=2))
    assert before.picked_per_day == {}
    assert before.phases["picking"].p50_min is None

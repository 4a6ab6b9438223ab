"""The order read model: upserts that can be repeated and never go back in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from db.orders import OrderReadModel
from domain.attention import StepFailure
from domain.orders import Channel, OrderStatus

pytestmark = pytest.mark.integration

T0 = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)
OID = "order:store:1001"


async def test_upserting_twice_changes_nothing(sessionmaker) -> None:
    orders = OrderReadModel(sessionmaker)
    items = [{"sku": "A", "quantity": 2, "unit_price": Decimal("10.00")}]

    first = await orders.upsert(
        OID, Channel.STORE, "1001", status=OrderStatus.RECEIVED, at=T0,
        customer_name="Maria Silva", total=Decimal("20"), items=items,
    )  # fmt: skip
    again = await orders.upsert(
        OID, Channel.STORE, "1001", status=OrderStatus.RECEIVED, at=T0,
        customer_name="Maria Silva", total=Decimal("20"), items=items,
    )  # fmt: skip

    assert first == again
    assert again.total == Decimal("20.00")
    assert again.items == [{"sku": "A", "quantity": 2, "unit_price": "10.00"}]
    assert again.phase_times == {"received": T0}


async def test_phase_times_keep_the_first_time_and_stale_writes_do_not_regress(
    sessionmaker,
) -> None:
    orders = OrderReadModel(sessionmaker)
    await orders.upsert(OID, "store", "1001", at=T0)
    await orders.set_status(OID, OrderStatus.RESERVED, T0 + timedelta(seconds=1))
    await orders.set_status(OID, OrderStatus.INVOICED, T0 + timedelta(seconds=5))
    await orders.set_status(OID, OrderStatus.INVOICED, T0 + timedelta(seconds=9))  # repeat
    stale = await orders.set_status(OID, OrderStatus.RESERVED, T0 + timedelta(seconds=2))

    assert stale.status is OrderStatus.INVOICED
    assert stale.updated_at == T0 + timedelta(seconds=9)
    assert stale.phase_times == {
        "received": T0,
        "reserved": T0 + timedelta(seconds=1),
        "invoiced": T0 + timedelta(seconds=5),
    }


async def test_a_failure_flags_the_order_until_ops_clear_it(sessionmaker) -> None:
    orders = OrderReadModel(sessionmaker)
    await orders.upsert(OID, "store", "1001", status=OrderStatus.PAID, at=T0)
    failure = StepFailure(
        step="invoice", error_type="ProviderRejected", message="539 duplicity", attempts=3,
        at=T0 + timedelta(minutes=1),
    )  # fmt: skip

    flagged = await orders.record_failure(OID, failure)
    assert flagged.needs_attention
    assert flagged.stuck_step == "invoice"
    assert flagged.failure == failure
    assert [o.order_id for o in await orders.list(needs_attention=True)] == [OID]

    cleared = await orders.clear_attention(OID)
    assert cleared is not None
    assert not cleared.needs_attention
    assert cleared.failure is None
    assert await orders.list(needs_attention=True) == []


async def test_listing_filters_and_counts(sessionmaker) -> None:
    orders = OrderReadModel(sessionmaker)
    for n, (channel, status) in enumerate(
        [("store", "paid"), ("marketplace", "paid"), ("store", "shipped")]
    ):
        oid = f"order:{channel}:{n}"
        await orders.upsert(oid, channel, str(n), status=status, at=T0 + timedelta(minutes=n))

    assert [o.order_id for o in await orders.list()] == [
        "order:store:2", "order:marketplace:1", "order:store:0",
    ]  # fmt: skip
    assert [o.order_id for o in await orders.list(status="paid", channel="store")] == [
        "order:store:0"
    ]
    assert [o.order_id for o in await orders.list(limit=1, offset=1)] == ["order:marketplace:1"]
    assert await orders.count_by_status() == {"paid": 2, "shipped": 1}
    assert await orders.get("order:store:404") is None
    with pytest.raises(TypeError):
        await orders.upsert(OID, "store", "1001", at=T0, colour="blue")

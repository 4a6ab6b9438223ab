"""Shipments and warehouse tasks: recorded once, and never moved backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from db.shipments import ShipmentRepository
from db.warehouse import WarehouseRepository
from domain.errors import InvalidTransition
from domain.freight import Booking, TrackingStatus
from domain.warehouse import WarehouseRecord, WarehouseStep

pytestmark = pytest.mark.integration

T0 = datetime(2024, 11, 29, 12, 0, tzinfo=UTC)
OID = "order:store:1001"


def booking(tracking_code: str = "ME123456789BR") -> Booking:
    return Booking(
        order_id=OID,
        shipment_id="shp-1",
        tracking_code=tracking_code,
        carrier="Correios",
        service="SEDEX",
        price=Decimal("23.5"),
    )


async def test_a_booking_is_recorded_once(sessionmaker) -> None:
    shipments = ShipmentRepository(sessionmaker)
    first = await shipments.record_booking(booking(), T0)
    again = await shipments.record_booking(booking("OTHER"), T0 + timedelta(minutes=1))

    assert first == again
    assert first.status == "booked"
    assert first.price == Decimal("23.50")


async def test_tracking_ignores_stale_events_and_stops_at_delivery(sessionmaker) -> None:
    shipments = ShipmentRepository(sessionmaker)
    await shipments.record_booking(booking(), T0)

    await shipments.record_tracking(OID, TrackingStatus.IN_TRANSIT, T0 + timedelta(hours=5))
    stale = await shipments.record_tracking(OID, TrackingStatus.POSTED, T0 + timedelta(hours=1))
    assert stale is not None
    assert stale.status == "in_transit"

    delivered = await shipments.record_tracking(OID, TrackingStatus.DELIVERED, T0 + timedelta(1))
    after = await shipments.record_tracking(OID, TrackingStatus.FAILED, T0 + timedelta(2))
    cancelled = await shipments.record_cancelled(OID, T0 + timedelta(3))

    assert delivered == after == cancelled
    assert delivered is not None
    assert delivered.delivered_at == T0 + timedelta(1)


async def test_cancelling_a_pickup_twice_keeps_the_first_time(sessionmaker) -> None:
    shipments = ShipmentRepository(sessionmaker)
    await shipments.record_booking(booking(), T0)
    first = await shipments.record_cancelled(OID, T0 + timedelta(hours=1))
    again = await shipments.record_cancelled(OID, T0 + timedelta(hours=2))
    assert first == again
    assert first is not None
    assert first.cancelled_at == T0 + timedelta(hours=1)
    assert await shipments.get("order:store:404") is None


def step(kind: WarehouseStep, minutes: int, operator: str = "ana") -> WarehouseRecord:
    return WarehouseRecord(
        step=kind, operator=operator, shift="morning", at=T0 + timedelta(minutes=minutes)
    )


async def test_a_task_moves_through_its_steps_once_each(sessionmaker) -> None:
    warehouse = WarehouseRepository(sessionmaker)
    created = await warehouse.create_task(OID, {"B": 1, "A": 2}, T0)
    assert created == await warehouse.create_task(OID, {"Z": 9}, T0 + timedelta(minutes=1))
    assert created.items == {"A": 2, "B": 1}
    assert created.next_step is WarehouseStep.PICK

    picked = await warehouse.record_step(OID, step(WarehouseStep.PICK, 5))
    repeated = await warehouse.record_step(OID, step(WarehouseStep.PICK, 7, "bia"))
    assert picked == repeated
    assert picked.status == "picked"
    assert picked.next_step is WarehouseStep.PACK
    assert picked.steps[0].operator == "ana"

    await warehouse.record_step(OID, step(WarehouseStep.PACK, 9))
    assert [t.order_id for t in await warehouse.open_tasks()] == [OID]
    checked = await warehouse.record_step(OID, step(WarehouseStep.CHECK, 12))
    assert checked.status == "checked"
    assert checked.next_step is None
    assert await warehouse.open_tasks() == []


async def test_open_tasks_are_oldest_first_and_cancelled_ones_leave_the_floor(
    sessionmaker,
) -> None:
    warehouse = WarehouseRepository(sessionmaker)
    for n in (3, 1, 2):
        await warehouse.create_task(f"order:store:{n}", {"A": 1}, T0 + timedelta(minutes=n))

    assert [t.order_id for t in await warehouse.open_tasks(limit=2)] == [
        "order:store:1",
        "order:store:2",
    ]
    cancelled = await warehouse.cancel_task("order:store:1", T0 + timedelta(hours=1))
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert cancelled == await warehouse.cancel_task("order:store:1", T0 + timedelta(hours=2))
    assert [t.order_id for t in await warehouse.open_tasks()] == [
        "order:store:2",
        "order:store:3",
    ]
    with pytest.raises(InvalidTransition):
        await warehouse.record_step("order:store:1", step(WarehouseStep.PICK, 90))
    with pytest.raises(InvalidTransition):
        await warehouse.record_step("order:store:404", step(WarehouseStep.PICK, 90))

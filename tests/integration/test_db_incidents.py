"""Shipping incidents on SQLite and PostgreSQL: recorded once per shipment with the
claim, resolved once (a reship names its replacement), and a returned parcel's items back
on hand once, the movement ledger still adding up."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from db.incidents import IncidentRepository
from db.stock import StockRepository, StockRow
from domain.freight import CarrierKind, TrackingStatus
from domain.incidents import IncidentRecord, IncidentResolution, RestockRequest
from domain.stock import ReserveRequest
from tests.support.databases import seed_stock

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ORDER = "order:store:77"


def lost(shipment_no: int = 1) -> IncidentRecord:
    return IncidentRecord(
        order_id=ORDER, shipment_no=shipment_no, reference=ORDER, status=TrackingStatus.LOST,
        carrier="Correios", kind=CarrierKind.API, shipment_id="s1",
        tracking_code="ME100000001BR", claim_amount=Decimal("149.90"), at=NOW,
    )  # fmt: skip


async def test_an_incident_is_recorded_once_and_resolved_once(sessionmaker) -> None:
    incidents = IncidentRepository(sessionmaker)
    await incidents.record(lost())
    await incidents.record(lost())  # a retried local activity
    reship = IncidentResolution(
        order_id=ORDER, shipment_no=1, resolution="reship", replacement=f"{ORDER}#2",
        decided_by="ops:ana", at=NOW,
    )  # fmt: skip
    await incidents.resolve(reship)
    await incidents.resolve(reship.model_copy(update={"resolution": "closed"}))

    [found] = await incidents.of_order(ORDER)
    assert found.claim_amount == Decimal("149.90")
    assert (found.resolution, found.replacement, found.decided_by) == (
        "reship",
        f"{ORDER}#2",
        "ops:ana",
    )


async def test_a_returned_parcel_is_restocked_once(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 5, "B": 2})
    stock = StockRepository(sessionmaker)
    await stock.reserve(
        ReserveRequest(order_id=ORDER, idempotency_key="k", quantities={"A": 2, "B": 1})
    )
    await stock.ship(ORDER)
    back = RestockRequest(order_id=ORDER, reference=ORDER, quantities={"A": 2, "B": 1}, at=NOW)

    assert await stock.restock(back) == ["A", "B"]
    assert await stock.restock(back) == []

    assert await stock.snapshot() == [StockRow("A", 5, 0), StockRow("B", 2, 0)]
    totals = await stock.movement_totals()
    assert {r.sku: r for r in await stock.snapshot()} == totals

"""Lots in the database: receipts put units in a lot and bin, picks are allocated first
expiry first across open orders, kept on reload, consumed on shipping, given back on
release."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from db.catalogue import CatalogueRepository, LotReceipt
from db.lots import LotRepository
from db.stock import StockRepository
from domain.stock import ReserveRequest
from tests.support.databases import seed_stock

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 2)


async def test_picks_take_the_first_expiry_across_orders_and_shipping_consumes_the_lot(
    sessionmaker,
) -> None:
    await seed_stock(sessionmaker, {"LOT-1": 0})
    catalogue, lots = CatalogueRepository(sessionmaker), LotRepository(sessionmaker)
    stock = StockRepository(sessionmaker)
    late = LotReceipt("L-LATE", TODAY + timedelta(days=200), "B-1")
    soon = LotReceipt("L-SOON", TODAY + timedelta(days=20), "A-1")
    await catalogue.receive_stock("LOT-1", 5, key="r1", lot=late)
    await catalogue.receive_stock("LOT-1", 3, key="r2", lot=soon)
    await catalogue.receive_stock("LOT-1", 3, key="r2", lot=soon)  # a resent receipt
    assert [(x.lot, x.available) for x in await lots.on_hand("LOT-1")] == [
        ("L-SOON", 3), ("L-LATE", 5),
    ]  # fmt: skip

    for order in ("order:store:L1", "order:store:L2"):
        reserved = await stock.reserve(
            ReserveRequest(order_id=order, idempotency_key=order, quantities={"LOT-1": 2})
        )
        assert reserved.reserved
    first = await lots.pick_list("order:store:L1", {"LOT-1": 2}, {}, TODAY)
    second = await lots.pick_list("order:store:L2", {"LOT-1": 2}, {}, TODAY)
    assert [(p.lot, p.bin, p.quantity) for p in first["LOT-1"]] == [("L-SOON", "A-1", 2)]
    assert [(p.lot, p.quantity) for p in second["LOT-1"]] == [("L-SOON", 1), ("L-LATE", 1)]
    assert await lots.pick_list("order:store:L1", {"LOT-1": 2}, {}, TODAY) == first  # kept

    await stock.ship("order:store:L1")
    await stock.release("order:store:L2")
    assert [(x.lot, x.available) for x in await lots.on_hand("LOT-1")] == [
        ("L-SOON", 1), ("L-LATE", 5),
    ]  # fmt: skip
    again = await lots.pick_list("order:store:L3", {"LOT-1": 2}, {}, TODAY)
    assert [(p.lot, p.quantity) for p in again["LOT-1"]] == [("L-SOON", 1), ("L-LATE", 1)]


async def test_an_expired_lot_is_not_picked_and_units_without_a_lot_are_named(
    sessionmaker,
) -> None:
    await seed_stock(sessionmaker, {"LOT-2": 1})  # one unit from before lots were kept
    catalogue, lots = CatalogueRepository(sessionmaker), LotRepository(sessionmaker)
    old = LotReceipt("L-OLD", TODAY - timedelta(days=1), "A-9")
    await catalogue.receive_stock("LOT-2", 4, key="r3", lot=old)
    picks = await lots.pick_list("order:store:L4", {"LOT-2": 2}, {"LOT-2": "C-1"}, TODAY)
    assert [(p.lot, p.bin, p.quantity) for p in picks["LOT-2"]] == [("", "C-1", 2)]

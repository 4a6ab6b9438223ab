"""Stock and catalogue repositories on SQLite and PostgreSQL: idempotent, all or nothing,
and the movement ledger always adds up to the stock rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.catalogue import CatalogueRepository
from db.stock import StockRepository, StockRow
from domain.errors import DomainError
from domain.stock import ReserveRequest, Shortage
from tests.support.databases import seed_stock

pytestmark = pytest.mark.integration


def request(order_id: str, **quantities: int) -> ReserveRequest:
    return ReserveRequest(
        order_id=order_id, idempotency_key=f"{order_id}:reserve", quantities=quantities
    )


async def assert_ledger_balances(stock: StockRepository) -> None:
    totals = await stock.movement_totals()
    assert {r.sku: r for r in await stock.snapshot()} == totals


async def test_reserving_twice_for_one_order_reserves_once(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"CAM-P": 5, "CAM-M": 3})
    stock = StockRepository(sessionmaker)

    first = await stock.reserve(request("order:store:1", **{"CAM-P": 2, "CAM-M": 1}))
    again = await stock.reserve(request("order:store:1", **{"CAM-P": 2, "CAM-M": 1}))

    assert first.reserved
    assert again.reserved
    assert first.available_after == again.available_after == {"CAM-M": 2, "CAM-P": 3}
    assert [p.sku for p in first.products] == ["CAM-M", "CAM-P"]
    assert first.products == again.products
    assert first.products[0].ncm == "61091000"
    assert await stock.snapshot() == [StockRow("CAM-M", 3, 1), StockRow("CAM-P", 5, 2)]
    await assert_ledger_balances(stock)


async def test_a_short_line_reserves_nothing_and_reports_every_shortage(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 5, "B": 1})
    stock = StockRepository(sessionmaker)

    result = await stock.reserve(request("order:store:2", A=2, B=3, ZZ=1))

    assert not result.reserved
    assert result.shortages == (
        Shortage(sku="B", requested=3, available=1),
        Shortage(sku="ZZ", requested=1, available=0),
    )
    assert await stock.availability(["A", "B", "ZZ"]) == {"A": 5, "B": 1, "ZZ": 0}
    assert await stock.reservations("order:store:2") == {}
    await assert_ledger_balances(stock)


async def test_a_failed_reservation_can_be_retried_once_stock_arrives(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 0})
    stock = StockRepository(sessionmaker)
    assert not (await stock.reserve(request("order:store:3", A=1))).reserved

    await CatalogueRepository(sessionmaker).receive_stock("A", 1)

    assert (await stock.reserve(request("order:store:3", A=1))).reserved


async def test_releasing_twice_gives_the_stock_back_once(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 4, "B": 4})
    stock = StockRepository(sessionmaker)
    await stock.reserve(request("order:store:4", A=3, B=1))

    assert await stock.release("order:store:4") == ["A", "B"]
    assert await stock.release("order:store:4") == []

    assert await stock.availability(["A", "B"]) == {"A": 4, "B": 4}
    assert await stock.reservations("order:store:4") == {"A": (3, "released"), "B": (1, "released")}
    await assert_ledger_balances(stock)


async def test_shipping_consumes_the_reservation_once_and_release_then_does_nothing(
    sessionmaker,
) -> None:
    await seed_stock(sessionmaker, {"A": 4})
    stock = StockRepository(sessionmaker)
    await stock.reserve(request("order:store:5", A=3))

    assert await stock.ship("order:store:5") == ["A"]
    assert await stock.ship("order:store:5") == []
    assert await stock.release("order:store:5") == []

    assert await stock.snapshot() == [StockRow("A", 1, 0)]
    await assert_ledger_balances(stock)


async def test_non_positive_quantities_are_refused(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 4})
    with pytest.raises(DomainError):
        await StockRepository(sessionmaker).reserve(request("order:store:6", A=0))


async def test_a_receipt_with_a_key_is_counted_once(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 0})
    catalogue = CatalogueRepository(sessionmaker)

    assert await catalogue.receive_stock("A", 10, key="po:7") == StockRow("A", 10, 0)
    assert await catalogue.receive_stock("A", 10, key="po:7") == StockRow("A", 10, 0)
    assert await catalogue.set_on_hand("A", 8) == StockRow("A", 8, 0)
    assert await catalogue.set_on_hand("A", 8) == StockRow("A", 8, 0)
    await assert_ledger_balances(StockRepository(sessionmaker))


async def test_on_hand_cannot_drop_below_what_is_reserved(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 5})
    await StockRepository(sessionmaker).reserve(request("order:store:8", A=4))
    catalogue = CatalogueRepository(sessionmaker)

    with pytest.raises(DomainError, match="4 are reserved"):
        await catalogue.set_on_hand("A", 3)
    with pytest.raises(DomainError, match="unknown SKU"):
        await catalogue.receive_stock("NOPE", 1)


async def test_products_are_upserted_and_read_back_as_domain_info(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 2})
    catalogue = CatalogueRepository(sessionmaker)
    updated = await catalogue.upsert_product(
        "A",
        name="Camiseta azul",
        ncm="61091000",
        price=Decimal("79.9"),
        cost=Decimal("30"),
        weight_g=250,
        height_cm=3,
        width_cm=20,
        length_cm=28,
    )

    assert updated.price == Decimal("79.90")
    assert updated.on_hand == 2
    assert (await catalogue.get_products(["A", "B"]))["A"].name == "Camiseta azul"
    assert [p.sku for p in await catalogue.list_products()] == ["A"]


async def test_a_product_origin_and_gtin_reach_the_reserved_product_info(sessionmaker) -> None:
    await seed_stock(sessionmaker, {"A": 2})
    catalogue = CatalogueRepository(sessionmaker)
    await catalogue.upsert_product(
        "A",
        name="Fone bluetooth",
        ncm="85183000",
        price=Decimal("149.90"),
        cost=Decimal("60"),
        weight_g=250,
        height_cm=6,
        width_cm=15,
        length_cm=18,
        origin="2",
        gtin="7891000100035",
    )

    reservation = await StockRepository(sessionmaker).reserve(request("order:store:9", A=1))

    [info] = reservation.products
    assert (info.origin, info.gtin) == ("2", "7891000100035")
    assert (await catalogue.get_product("A")).origin == "2"  # type: ignore[union-attr]

"""No oversell and no deadlock when many orders race for the same stock.

Every reserve() runs on its own engine (its own connection), as separate API and worker
processes would; one test uses real separate processes on one SQLite file.
"""

from __future__ import annotations

import asyncio
import random
import sys
import textwrap
from collections.abc import Awaitable, Callable

import pytest

from db.session import create_engine, create_sessionmaker
from db.stock import StockRepository, StockRow
from domain.stock import Reservation, ReserveRequest
from tests.support.databases import seed_stock

pytestmark = pytest.mark.integration


async def _on_own_engine(
    url: str, action: Callable[[StockRepository], Awaitable[Reservation]]
) -> Reservation:
    engine = create_engine(url)
    try:
        return await action(StockRepository(create_sessionmaker(engine)))
    finally:
        await engine.dispose()


async def _race(url: str, orders: dict[str, dict[str, int]]) -> dict[str, Reservation]:
    async def one(order_id: str, quantities: dict[str, int]) -> Reservation:
        req = ReserveRequest(order_id=order_id, idempotency_key=order_id, quantities=quantities)
        return await _on_own_engine(url, lambda stock: stock.reserve(req))

    results = await asyncio.wait_for(
        asyncio.gather(*(one(oid, q) for oid, q in orders.items())), timeout=120
    )
    return dict(zip(orders, results, strict=True))


async def test_twenty_concurrent_orders_for_five_units_reserve_exactly_five(
    db_url, sessionmaker
) -> None:
    await seed_stock(sessionmaker, {"HOT": 5})
    orders = {f"order:store:{n}": {"HOT": 1} for n in range(20)}

    results = await _race(db_url, orders)

    won = [r for r in results.values() if r.reserved]
    lost = [r for r in results.values() if not r.reserved]
    assert len(won) == 5
    assert len(lost) == 15
    assert all(r.shortages[0].sku == "HOT" and r.shortages[0].available == 0 for r in lost)
    stock = StockRepository(sessionmaker)
    assert await stock.snapshot() == [StockRow("HOT", 5, 5)]
    assert await stock.movement_totals() == {"HOT": StockRow("HOT", 5, 5)}


async def test_multi_sku_orders_in_any_sku_order_neither_deadlock_nor_oversell(
    db_url, sessionmaker
) -> None:
    skus = ["A", "B", "C", "D"]
    await seed_stock(sessionmaker, dict.fromkeys(skus, 6))
    rng = random.Random(7)
    orders: dict[str, dict[str, int]] = {}
    for n in range(20):
        lines = rng.sample(skus, k=rng.randint(2, 4))  # random order of SKUs in the request
        orders[f"order:marketplace:{n}"] = {sku: rng.randint(1, 2) for sku in lines}

    results = await _race(db_url, orders)

    stock = StockRepository(sessionmaker)
    reserved = dict.fromkeys(skus, 0)
    for order_id, result in results.items():
        held = await stock.reservations(order_id)
        if result.reserved:
            assert held == {sku: (q, "reserved") for sku, q in orders[order_id].items()}
            for sku, q in orders[order_id].items():
                reserved[sku] += q
        else:
            assert held == {}  # all or nothing
    snapshot = await stock.snapshot()
    assert snapshot == [StockRow(sku, 6, reserved[sku]) for sku in skus]
    assert all(row.reserved <= row.on_hand for row in snapshot)
    assert any(r.reserved for r in results.values())
    assert await stock.movement_totals() == {row.sku: row for row in snapshot}


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from db.session import create_engine, create_sessionmaker
    from db.stock import StockRepository
    from domain.stock import ReserveRequest

    async def main(url, prefix):
        engine = create_engine(url)
        stock = StockRepository(create_sessionmaker(engine))
        won = 0
        for n in range(10):
            oid = f"order:store:{prefix}-{n}"
            req = ReserveRequest(order_id=oid, idempotency_key=oid, quantities={"HOT": 1})
            won += (await stock.reserve(req)).reserved
        await engine.dispose()
        print(won)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_two_processes_share_one_sqlite_file_without_overselling(
    sqlite_url, tmp_path
) -> None:
    engine = create_engine(sqlite_url)
    await seed_stock(create_sessionmaker(engine), {"HOT": 7})
    await engine.dispose()

    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, sqlite_url, name, stdout=asyncio.subprocess.PIPE
        )
        for name in ("api", "worker")
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)

    assert [p.returncode for p in procs] == [0, 0]
    assert sum(int(out.strip()) for out, _ in outputs) == 7
    engine = create_engine(sqlite_url)
    stock = StockRepository(create_sessionmaker(engine))
    assert await stock.snapshot() == [StockRow("HOT", 7, 7)]
    await engine.dispose()

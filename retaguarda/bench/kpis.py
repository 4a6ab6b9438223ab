"""`retaguarda bench kpis`: the KPI queries over a read model of N orders (default 1 M).

Method: a fresh, migrated database (a SQLite file under var/bench/, or --db-url) is filled
with N orders spread evenly over a year (every phase column set as the workflow would,
minutes apart, one in 50 with a check mismatch, one in 40 cancelled after payment, one in
20 delivered late) and their warehouse task, three warehouse events (pick, pack, check;
8 operators, 3 shifts) and mistakes. Then `KpiRepository.report` — the code `GET /kpis`
runs — is timed `runs` times for each window (a day, a week, 30 days, a year), and the
median and the slowest are reported."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.kpis import KpiRepository
from db.migrate import upgrade
from db.models import OrderRow, WarehouseEvent, WarehouseMistake, WarehouseTask
from db.session import create_engine, create_sessionmaker

START = datetime(2026, 1, 1, 3, tzinfo=UTC)
YEAR_S = 365 * 86400
BATCH = 20_000
WINDOWS = {"day": 1, "week": 7, "30 days": 30, "year": 365}


@dataclass(frozen=True)
class KpiBench:
    orders: int
    database: str
    seed_s: float
    runs: int
    median_ms: dict[str, float]
    max_ms: dict[str, float]
    orders_closed: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _rows(first: int, count: int, every_s: float, rng: random.Random) -> dict[str, list[Any]]:
    orders: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    mistakes: list[dict[str, Any]] = []
    for n in range(first, first + count):
        t0 = int(START.timestamp() + n * every_s)
        at = datetime.fromtimestamp(t0, UTC)
        oid = f"order:store:{n}"
        paid = t0 + rng.randint(1, 30) * 60
        invoiced = paid + rng.randint(1, 5) * 60
        picked = invoiced + rng.randint(5, 240) * 60
        packed = picked + rng.randint(2, 15) * 60
        checked = packed + rng.randint(1, 10) * 60
        shipped = checked + rng.randint(30, 600) * 60
        late = n % 20 == 0
        delivered = shipped + (9 if late else rng.randint(1, 5)) * 86400
        cancelled = n % 40 == 1
        operator, shift = f"op{n % 8}", ("manha", "tarde", "noite")[n % 3]
        orders.append(
            {
                "order_id": oid, "channel": "store" if n % 3 else "marketplace",
                "external_id": str(n), "status": "cancelled" if cancelled else "delivered",
                "items": [{"sku": f"SKU-{n % 500}", "quantity": 1, "price": "10.00"}],
                "needs_attention": False, "phase_times": {}, "created_at": at, "updated_at": at,
                "t_received": t0, "t_paid": paid, "t_invoiced": invoiced,
                "t_picked": None if cancelled else picked,
                "t_packed": None if cancelled else packed,
                "t_checked": None if cancelled else checked,
                "t_shipped": None if cancelled else shipped,
                "t_delivered": None if cancelled else delivered,
                "t_cancelled": invoiced + 60 if cancelled else None,
                "check_mismatches": 1 if n % 50 == 0 else 0,
            }
        )  # fmt: skip
        tasks.append(
            {"order_id": oid, "items": {"SKU": 1}, "status": "cancelled" if cancelled else
             "checked", "created_at": at, "updated_at": at}
        )  # fmt: skip
        if not cancelled:
            for step, moment in (("pick", picked), ("pack", packed), ("check", checked)):
                events.append(
                    {"order_id": oid, "step": step, "operator": operator, "shift": shift,
                     "at": datetime.fromtimestamp(moment, UTC)}
                )  # fmt: skip
        if n % 50 == 0:
            mistakes.append(
                {"order_id": oid, "operator": operator, "shift": shift,
                 "at": datetime.fromtimestamp(packed + 30, UTC), "differences": ["SKU: 1/2"]}
            )  # fmt: skip
    return {"orders": orders, "tasks": tasks, "events": events, "mistakes": mistakes}


async def _seed(engine: AsyncEngine, orders: int, seed: int) -> None:
    rng = random.Random(seed)
    every_s = YEAR_S / orders
    tables: dict[str, type[Any]] = {
        "orders": OrderRow,
        "tasks": WarehouseTask,
        "events": WarehouseEvent,
        "mistakes": WarehouseMistake,
    }
    for first in range(0, orders, BATCH):
        rows = _rows(first, min(BATCH, orders - first), every_s, rng)
        async with engine.begin() as conn:
            for name in ("orders", "tasks", "events", "mistakes"):
                if rows[name]:
                    await conn.execute(insert(tables[name]), rows[name])


async def run(orders: int, db_url: str | None, var_dir: Path, runs: int, seed: int) -> KpiBench:
    if db_url is None:
        path = var_dir / "bench" / f"kpis-{orders}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        db_url = f"sqlite+aiosqlite:///{path}"
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        began = time.perf_counter()
        await _seed(engine, orders, seed)
        seeded = time.perf_counter() - began
        async with engine.begin() as conn:  # fresh statistics, as a live database has
            await conn.exec_driver_sql("ANALYZE")
        kpis = KpiRepository(create_sessionmaker(engine))
        medians, slowest, closed = {}, {}, {}
        middle = START + timedelta(days=180)
        for name, days in WINDOWS.items():
            since, until = middle, middle + timedelta(days=days)
            if days == 365:
                since, until = START, START + timedelta(days=365)
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                report = await kpis.report(since, until)
                times.append((time.perf_counter() - began) * 1000)
            medians[name] = round(statistics.median(times), 1)
            slowest[name] = round(max(times), 1)
            closed[name] = report.orders_closed
    finally:
        await engine.dispose()
    return KpiBench(orders, engine.dialect.name, round(seeded, 1), runs, medians, slowest, closed)


def run_kpis_bench(
    var_dir: Path, *, orders: int, db_url: str | None = None, runs: int = 5, seed: int = 7
) -> KpiBench:
    return asyncio.run(run(orders, db_url, var_dir, runs, seed))

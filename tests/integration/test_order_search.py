"""Ops search over the read model: CPF, name, SKU, numbers, dates, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.order_search import OrderSearch
from db.orders import OrderReadModel
from db.warehouse import WarehouseRepository
from tests.integration.test_kpis import T0, order

pytestmark = pytest.mark.integration


async def test_ops_find_orders_by_cpf_name_sku_number_and_dates(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    orders, warehouse = OrderReadModel(sessionmaker), WarehouseRepository(sessionmaker)
    for n in range(1, 6):
        await order(orders, warehouse, n)
    await orders.set_status(
        "order:store:5", "shipped", T0 + timedelta(hours=2), tracking_code="BR123456789",
        invoice_key="35241112345678000195550010000012341000012345",
    )  # fmt: skip
    search = OrderSearch(sessionmaker)
    by_cpf = await search.search("529.982.247-25")
    assert [o.order_id for o in by_cpf.orders] == ["order:store:1"]
    assert (await search.search("cliente")).total == 5
    assert [o.order_id for o in (await search.search("SKU-3")).orders] == ["order:store:3"]
    assert [o.order_id for o in (await search.search("4")).orders] == ["order:store:4"]
    assert (await search.search("br123456789")).orders[0].order_id == "order:store:5"
    key = "3524 1112 3456 7800 0195 5500 1000 0012 3410 0001 2345"
    assert (await search.search(key)).orders[0].order_id == "order:store:5"
    assert (await search.search("50%")).total == 0  # LIKE wildcards are literal
    assert (await search.search("cliente", since=T0 + timedelta(days=1))).total == 0
    page = await search.search("cliente", limit=2, offset=2)
    assert (len(page.orders), page.total) == (2, 5)

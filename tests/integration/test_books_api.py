"""The books through the API (role finance) and the console pages over real HTTP."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from db.api_keys import ApiKeyRepository, ApiRole
from db.models import ReconciliationLine
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from tests.integration.test_books import TODAY, a_paid_order
from tests.integration.test_intake import admin_key, make_settings
from tests.support.servers import serve

pytestmark = pytest.mark.integration


async def test_finance_reads_and_records_the_books_and_the_console_shows_them(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    settings.finance.timezone = "UTC"
    engine = create_engine(sqlite_url)
    sessions = create_sessionmaker(engine)
    try:
        order_id = await a_paid_order(sessions)
        results = ReconciliationRepository(sessions)
        await results.begin("marketplace", TODAY, "release-report.csv")
        async with sessions() as s:
            s.add_all([
                ReconciliationLine(kind="marketplace", day=TODAY, seq=1, cls="matched",
                                   key="store:A-1", order_id=order_id, description="payment",
                                   reference="1", amount=Decimal("113.35")),
                ReconciliationLine(kind="marketplace", day=TODAY, seq=2, cls="missing_payout",
                                   key="store:B-2", order_id="order:store:B-2",
                                   description="payment", reference="",
                                   expected_net=Decimal("10.00")),
            ])  # fmt: skip
            await s.commit()
        await results.finish("marketplace", TODAY, 2, {"matched": 1, "missing_payout": 1}, 1)
        finance = await ApiKeyRepository(sessions).create("ana", ApiRole.FINANCE)
        viewer = await ApiKeyRepository(sessions).create("vera", ApiRole.VIEWER)
    finally:
        await engine.dispose()
    day = TODAY.isoformat()
    async with serve(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": finance}) as api:
            bill = {
                "reference": "NF-9",
                "supplier": "Ceramica Sul",
                "due_on": (TODAY + timedelta(days=2)).isoformat(),
                "amount": "40.00",
            }
            added = await api.post("/finance/payables", json=bill)
            refreshed = await api.post("/finance/margin/refresh")
            by_sku = await api.get("/finance/margin", params={"by": "sku", "from": day, "to": day})
            order = await api.get(f"/finance/margin/orders/{order_id}")
            flow = await api.get("/finance/cashflow", params={"from": day, "days": 10})
            refused = await api.post("/finance/payables", json=bill, headers={"X-API-Key": viewer})
        async with httpx.AsyncClient(base_url=url, cookies={"rtg_console": viewer}) as http:
            index = await http.get("/console/finance")
            report = await http.get(f"/console/finance/marketplace/{day}")
            only = await http.get(f"/console/finance/marketplace/{day}", params={"cls": "matched"})
            download = await http.get(f"/console/finance/marketplace/{day}.csv")
            cash = await http.get("/console/finance/cashflow", params={"start": day, "days": 5})
            margin = await http.get(
                "/console/finance/margin", params={"by": "supplier", "start": day, "end": day}
            )
            missing = await http.get("/console/finance/bank/2020-01-01")
        async with httpx.AsyncClient(
            base_url=url, cookies={"rtg_console": admin_key(settings)}
        ) as http:
            dashboard = await http.get("/console")

    assert added.status_code == 201
    assert refreshed.json() == {"orders": 1}
    skus = {r["key"]: r for r in by_sku.json()}
    assert set(skus) == {"CANECA-01", "CAFE-500"}
    assert Decimal(skus["CANECA-01"]["cost"]) == Decimal("24.00")
    assert len(order.json()) == 2
    body = flow.json()
    assert len(body["days"]) == 10
    assert Decimal(body["days"][2]["outflow"]) == Decimal("40.00")
    assert refused.status_code == 403

    assert index.status_code == 200
    assert f'href="/console/finance/marketplace/{day}"' in index.text
    assert report.status_code == 200
    assert "cobre o repasse" in report.text  # the advice for a missing payout, in pt-BR
    assert "order:store:B-2" in report.text
    assert "order:store:B-2" not in only.text.split('id="alerts-title"')[1].split("<h2>")[1]
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0][:4] == ["kind", "day", "seq", "class"]
    assert [r[3] for r in rows[1:]] == ["matched", "missing_payout"]
    assert "attachment" in download.headers["content-disposition"]
    assert cash.status_code == 200
    assert "R$ 40,00" in cash.text
    assert margin.status_code == 200
    assert "Ceramica Sul" in margin.text
    assert missing.status_code == 404
    assert "retaguarda reconcile bank --date 2020-01-01" in missing.text
    assert 'href="/console/finance"' in dashboard.text
    assert date.fromisoformat(day) == TODAY

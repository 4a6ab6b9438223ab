"""The sandbox's release report speaks Mercado Pago's CSV: its column names, release
records between the balance rows, the bearer token, a divergence of every kind seeded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from sandbox.settlement import COLUMNS, SEEDED_KINDS
from tests.support.sandbox import TOKENS, sandbox_world

pytestmark = pytest.mark.integration


async def test_the_release_report_has_mercado_pagos_columns_and_every_seeded_kind() -> None:
    async with sandbox_world(seed=3) as world:
        for n in range(6):
            payment = await world.admin(
                "/payments/admin/payments",
                {"external_reference": f"store:R{n}", "amount": "80.00", "approve": False},
            )
            await world.admin(f"/payments/admin/payments/{payment['id']}/approve")
        day = datetime.now(UTC).date().isoformat()
        url = f"{world.url}/payments/v1/account/release_report/release-report-{day}.csv"
        refused = await world.http.get(url)
        assert refused.status_code == 401
        response = await world.http.get(
            url, headers={"Authorization": f"Bearer {TOKENS['payments']}"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert tuple(rows[0]) == COLUMNS
        kinds = [r["RECORD_TYPE"] for r in rows]
        assert kinds[0] == "initial_available_balance"
        assert kinds[-2:] == ["total", "available_balance"]
        assert set(kinds[1:-2]) == {"release"}
        seeded = await world.http.get(f"{world.url}/payments/admin/release_report/{day}/seeded")
        assert {s["kind"] for s in seeded.json()} == {*SEEDED_KINDS, "unexpected_payout"}
        credits = sum(
            float(r["NET_CREDIT_AMOUNT"]) - float(r["NET_DEBIT_AMOUNT"]) for r in rows[1:-2]
        )
        assert rows[-2]["NET_CREDIT_AMOUNT"] == f"{credits:.2f}"
        missing = await world.http.get(
            f"{world.url}/payments/v1/account/release_report/report.csv",
            headers={"Authorization": f"Bearer {TOKENS['payments']}"},
        )
        assert missing.status_code == 404
        assert "release-report-YYYY-MM-DD.csv" in missing.text

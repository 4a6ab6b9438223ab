"""Closing a month: the nights reconciled and those that ended without a run, what each
class of line adds up to (compact lines read whole), the anticipations taken, through
the API (role finance and viewers) and the console page, in pt-BR."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from db.api_keys import ApiKeyRepository, ApiRole
from db.models import AnticipationRow, ReconciliationLine
from db.month_close import MonthCloseRepository
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from domain.month_close import MonthClose
from domain.reconciliation import ReconKind
from tests.integration.test_intake import make_settings
from tests.support.servers import serve

pytestmark = pytest.mark.integration

NIGHT = date(2026, 11, 10)
TODAY = date(2026, 12, 3)


async def a_reconciled_night(sessions: async_sessionmaker[AsyncSession]) -> None:
    results = ReconciliationRepository(sessions)
    await results.begin("marketplace", NIGHT, "release-report.csv")
    async with sessions() as s:
        s.add_all([
            # stored compact, as the matcher writes a matched line: its expected net is
            # its own amount, read back whole
            ReconciliationLine(kind="marketplace", day=NIGHT, seq=1, cls="matched",
                               key="store:A-1", description="payment", reference="1",
                               amount=Decimal("113.35"), line_gross=Decimal("120.00"),
                               line_fees=Decimal("-6.65")),
            ReconciliationLine(kind="marketplace", day=NIGHT, seq=2, cls="fee_divergence",
                               key="store:A-2", description="payment", reference="2",
                               amount=Decimal("94.64"), line_gross=Decimal("100.00"),
                               line_fees=Decimal("-5.36"), expected_gross=Decimal("100.00"),
                               expected_fees=Decimal("-4.99"), expected_net=Decimal("95.01")),
            ReconciliationLine(kind="marketplace", day=NIGHT, seq=3, cls="missing_payout",
                               key="store:B-2", description="payment", reference="",
                               expected_net=Decimal("10.00")),
            # a dispute takes money back: its receivable's figures are no amount it expects
            ReconciliationLine(kind="marketplace", day=NIGHT, seq=4, cls="chargeback",
                               key="store:A-1", description="chargeback", reference="4",
                               amount=Decimal("-50.00"), expected_gross=Decimal("120.00"),
                               expected_fees=Decimal("-6.65"), expected_net=Decimal("113.35")),
            AnticipationRow(reference="MP-ADV-1", taken_on=date(2026, 11, 20),
                            gross=Decimal("1000.00"), discount_rate=Decimal("0.0299"),
                            fee=Decimal("29.90"), net=Decimal("970.10"), created_by="ana",
                            created_at=datetime(2026, 11, 20, 12, tzinfo=UTC)),
        ])  # fmt: skip
        await s.commit()
    counts = {"matched": 1, "fee_divergence": 1, "missing_payout": 1, "chargeback": 1}
    await results.finish("marketplace", NIGHT, 4, counts, 3)


@pytest.mark.parametrize("db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
async def test_the_month_sums_its_classes_and_names_the_nights_left(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await a_reconciled_night(create_sessionmaker(engine))
        close = await MonthCloseRepository(create_sessionmaker(engine)).summary("2026-11", TODAY)
    finally:
        await engine.dispose()
    totals = {
        (t.kind.value, t.cls): (t.lines, t.amount, t.expected, t.difference) for t in close.classes
    }
    paid, zero = Decimal("113.35"), Decimal("0.00")
    assert totals == {
        ("marketplace", "matched"): (1, paid, paid, zero),
        ("marketplace", "fee_divergence"): (1, Decimal("94.64"), Decimal("95.01"),
                                            Decimal("-0.37")),
        ("marketplace", "missing_payout"): (1, zero, Decimal("10.00"), Decimal("-10.00")),
        ("marketplace", "chargeback"): (1, Decimal("-50.00"), None, None),
    }  # fmt: skip
    missing = close.not_reconciled
    assert NIGHT not in missing[ReconKind.MARKETPLACE]
    assert len(missing[ReconKind.MARKETPLACE]) == 29  # November's other nights
    assert len(missing[ReconKind.BANK]) == 30
    assert (close.advances.count, close.advances.cost) == (1, Decimal("29.90"))
    assert close.alerts == 3
    assert close.closed is False


async def test_the_month_close_reads_through_the_api_and_the_console(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    engine = create_engine(sqlite_url)
    sessions = create_sessionmaker(engine)
    try:
        await a_reconciled_night(sessions)
        viewer = await ApiKeyRepository(sessions).create("vera", ApiRole.VIEWER)
    finally:
        await engine.dispose()
    async with serve(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": viewer}) as api:
            month = await api.get("/finance/month", params={"month": "2026-11"})
            bad = await api.get("/finance/month", params={"month": "11/2026"})
        async with httpx.AsyncClient(base_url=url, cookies={"rtg_console": viewer}) as http:
            page = await http.get("/console/finance/month", params={"month": "2026-11"})
            refused = await http.get("/console/finance/month", params={"month": "novembro"})
            sheet = await http.get("/console/finance/month.csv", params={"month": "2026-11"})
            index = await http.get("/console/finance")

    assert month.status_code == 200, month.text
    body = month.json()
    assert body["month"] == "2026-11"
    assert body["closed"] is False
    assert body["alerts"] == 3
    assert body["advances"] == {"count": 1, "gross": "1000.00", "net": "970.10", "cost": "29.90"}
    assert "2026-11-10" not in body["not_reconciled"]["marketplace"]
    assert bad.status_code == 422
    assert "YYYY-MM" in bad.json()["message"]
    assert page.status_code == 200
    assert "Fechamento do mês: 2026-11" in page.text
    assert "R$ 29,90" in page.text  # the advance's cost
    assert "R$ 95,01" in page.text  # what the fee-divergent line was expected to bring
    assert "R$ -0,37" in page.text  # and how much short it came
    assert "retaguarda reconcile bank --date 2026-11-01" in page.text
    assert refused.status_code == 422
    assert "AAAA-MM" in refused.text
    assert 'href="/console/finance/month"' in index.text
    assert sheet.status_code == 200
    assert "attachment" in sheet.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sheet.text)))
    assert rows[0] == [
        "month", "kind", "class", "night", "lines", "amount", "expected", "difference"
    ]  # fmt: skip
    assert ["2026-11", "marketplace", "fee_divergence", "", "1", "94.64", "95.01",
            "-0.37"] in rows  # fmt: skip
    assert ["2026-11", "marketplace", "chargeback", "", "1", "-50.00", "", ""] in rows
    assert ["2026-11", "bank", "not_reconciled", "2026-11-01", "0", "", "", ""] in rows


async def test_a_done_nights_totals_are_summed_once_and_summed_again_when_it_runs_anew(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url)
    sessions = create_sessionmaker(engine)
    months = MonthCloseRepository(sessions)
    results = ReconciliationRepository(sessions)

    def matched(close: MonthClose) -> Decimal:
        (total,) = [t.amount for t in close.classes if t.cls == "matched"]
        return total

    try:
        await a_reconciled_night(sessions)
        first = await months.summary("2026-11", TODAY)
        kept = await results.run("marketplace", NIGHT)
        async with sessions() as s:  # the lines change behind the kept totals' back
            await s.execute(
                update(ReconciliationLine)
                .where(ReconciliationLine.seq == 1)
                .values(amount=Decimal("1.00"))
            )
            await s.commit()
        again = await months.summary("2026-11", TODAY)
        await results.begin("marketplace", NIGHT, "release-report.csv")  # run anew
        running = await months.summary("2026-11", TODAY)
        await results.finish("marketplace", NIGHT, 4, kept.classified if kept else {}, 3)
        rerun = await months.summary("2026-11", TODAY)
    finally:
        await engine.dispose()
    assert matched(first) == matched(again) == Decimal("113.35")  # read from the run row
    assert matched(running) == Decimal("1.00")  # a running night is summed afresh
    assert matched(rerun) == Decimal("1.00")  # and a night run anew is summed again

"""The finance console pages render from view data alone (no browser, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from api.console import Chrome, csrf_token, render
from api.console.finance import CashFlowPage, FinancePage, MarginPage, RunPage
from db.api_keys import ApiPrincipal, ApiRole
from db.margins import MarginRow
from db.reconciliation import LineView, RunView
from domain.cashflow import CashMove, MoveKind, project

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)


def chrome(role: ApiRole = ApiRole.FINANCE, lang: str = "en") -> Chrome:
    return Chrome(ApiPrincipal("ana", role), csrf_token("secret"), NOW, lang=lang)


def test_the_finance_pages_are_in_pt_br_by_default() -> None:
    html = render(FinancePage(chrome(lang="pt-BR"), [run()]))
    assert 'lang="pt-BR"' in html
    assert "<b>2</b>linhas precisam de uma pessoa" in html
    assert "Conciliações noturnas" in html


def run(alerts: int = 2) -> RunView:
    return RunView(
        kind="marketplace", day=DAY, status="done", source="release-report-2026-12-01.csv",
        lines=5, classified={"matched": 3, "fee_divergence": 1, "chargeback": 1,
                             "missing_payout": 0},
        alerts=alerts, started_at=NOW, finished_at=NOW,
    )  # fmt: skip


def line(seq: int, cls: str, key: str = "store:1001", **kw: object) -> LineView:
    base: dict[str, object] = {
        "seq": seq, "cls": cls, "key": key, "order_id": f"order:{key}", "description": "payment",
        "reference": f"1300{seq}", "amount": Decimal("95.01"), "line_gross": Decimal("100.00"),
        "line_fees": Decimal("-4.99"), "expected_gross": Decimal("100.00"),
        "expected_fees": Decimal("-4.99"), "expected_net": Decimal("95.01"),
    }  # fmt: skip
    return LineView.model_validate(base | kw)


def test_the_finance_page_lists_the_nights_and_what_needs_a_person() -> None:
    html = render(FinancePage(chrome(), [run(), run(0).model_copy(update={"kind": "bank"})]))

    assert 'href="/console/finance/marketplace/2026-12-01"' in html
    assert 'href="/console/finance/bank/2026-12-01"' in html
    assert "<b>2</b>lines need a person" in html
    assert 'href="/console/finance">Finance</a>' in html  # the navigation offers it


def test_the_report_shows_the_classes_the_alerts_with_advice_and_the_csv() -> None:
    fee = line(4, "fee_divergence", line_fees=Decimal("-5.36"))
    charged = line(5, "chargeback", key="store:<b>9</b>", description="chargeback")
    page = RunPage(chrome(), run(), [fee, charged], [line(1, "matched"), fee, charged])

    html = render(page)

    assert 'href="/console/finance/marketplace/2026-12-01.csv"' in html
    assert 'href="?cls=fee_divergence"><b>1</b>fee divergence' in html  # the class by name
    assert "fees -5.36, expected -4.99" in html
    assert "ask the marketplace why its fees differ" in html
    assert "answer the dispute before the deadline" in html
    assert "store:&lt;b&gt;9&lt;/b&gt;" in html  # escaped
    assert "<b>9</b>" not in html
    assert "R$ 95,01" in html
    assert "1–3 of 5" in html


def test_the_report_of_a_quiet_night_says_nothing_to_chase() -> None:
    html = render(RunPage(chrome(), run(0), [], [line(1, "matched")]))
    assert "Nothing to chase this night." in html


def test_the_cash_flow_page_shows_the_position_the_lowest_day_and_each_day() -> None:
    flow = project(
        Decimal("1000.00"), DAY, 3,
        [CashMove(on=date(2026, 12, 2), kind=MoveKind.PAYABLE, amount=Decimal("-1500.00")),
         CashMove(on=date(2026, 11, 28), kind=MoveKind.RECEIVABLE, amount=Decimal("80.00"))],
    )  # fmt: skip
    html = render(CashFlowPage(chrome(), flow))

    assert '<b id="position">R$ 1.000,00</b>' in html
    assert '<b id="closing">R$ -420,00</b>' in html
    assert "lowest, on 2026-12-02" in html
    assert "<b>R$ 80,00</b>payouts overdue" in html
    assert html.count('<tr class="warn">') == 2  # the days the cash is negative


def test_the_margin_page_sums_the_rows_and_flags_a_loss() -> None:
    rows = [
        MarginRow(key="store", orders=2, quantity=3, price=Decimal("104.30"),
                  cost=Decimal("33.00"), commission=Decimal("5.95"), freight=Decimal("7.00"),
                  taxes=Decimal("20.00"), margin=Decimal("38.35")),
        MarginRow(key="marketplace", orders=1, quantity=1, price=Decimal("30.00"),
                  cost=Decimal("25.00"), commission=Decimal("9.90"), freight=Decimal("0"),
                  taxes=Decimal("5.40"), margin=Decimal("-10.30"), without_nfe=1),
    ]  # fmt: skip
    html = render(MarginPage(chrome(ApiRole.VIEWER), rows, "channel", DAY, DAY))

    assert "<b>R$ 38,35</b>" in html
    assert "36.8" in html  # 38.35 / 104.30
    assert '<tr class="warn">' in html
    assert "1 without NF-e" in html
    assert "<th>R$ 28,05</th>" in html  # the total margin
    assert '<option value="supplier" >supplier</option>' in html or "supplier</option>" in html


def test_a_warehouse_key_is_not_offered_the_books() -> None:
    html = render(FinancePage(chrome(ApiRole.WAREHOUSE), []))
    assert 'href="/console/finance">Finance</a>' not in html

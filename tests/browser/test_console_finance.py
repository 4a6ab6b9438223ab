"""The finance console in a real Chromium: from the finance page to a night's report,
filter a class, download the CSV, then the cash flow and the margin."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from api.app import create_app
from db.models import ReconciliationLine
from db.reconciliation import ReconciliationRepository
from db.session import create_engine, create_sessionmaker
from tests.browser.test_console import browser, login
from tests.integration.test_books import TODAY, a_paid_order
from tests.integration.test_intake import admin_key, make_settings
from tests.support.servers import serve

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the module's Chromium fixture


async def test_finance_reads_a_night_downloads_it_and_sees_cash_and_margin(
    browser: Browser, sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path)
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
                ReconciliationLine(kind="marketplace", day=TODAY, seq=2, cls="fee_divergence",
                                   key="store:C-3", order_id="order:store:C-3",
                                   description="payment", reference="2",
                                   line_fees=Decimal("-5.36"), expected_fees=Decimal("-4.99")),
            ])  # fmt: skip
            await s.commit()
        await results.finish("marketplace", TODAY, 2, {"matched": 1, "fee_divergence": 1}, 1)
    finally:
        await engine.dispose()
    async with serve(create_app(settings)) as base:
        context = await browser.new_context(accept_downloads=True)
        page = await context.new_page()
        try:
            await login(page, base, admin_key(settings))
            await page.get_by_role("link", name="Finance", exact=True).click()
            await expect(page.get_by_role("heading", name="Finance")).to_be_visible()
            await page.get_by_role("link", name=TODAY.isoformat()).click()
            alerts = page.locator("table.alerts")
            await expect(alerts).to_contain_text("fees -5.36, expected -4.99")
            await expect(alerts).to_contain_text("ask the marketplace why its fees differ")
            await page.locator("#classes").get_by_role("link", name="matched").click()
            await expect(page.locator("table.lines")).not_to_contain_text("store:C-3")
            async with page.expect_download() as info:
                await page.locator("#csv").click()
            download = await info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert saved.name == f"reconciliation-marketplace-{TODAY.isoformat()}.csv"
            assert "fee_divergence" in saved.read_text()
            await page.goto(f"{base}/console/finance/cashflow?start={TODAY.isoformat()}&days=7")
            await expect(page.locator("#days tbody tr")).to_have_count(7)
            await page.goto(f"{base}/console/finance/margin?by=sku&start={TODAY.isoformat()}")
            await expect(page.locator("#margin")).to_contain_text("No paid order")
            await page.get_by_role("button", name="Recompute orders changed since").click()
            await expect(page.locator(".flash.ok")).to_contain_text("margin of 1 order(s)")
            await expect(page.locator("#margin")).to_contain_text("CANECA-01")
            await expect(page.locator("#margin")).to_contain_text("CAFE-500")
        finally:
            await context.close()

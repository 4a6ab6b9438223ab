"""Ops in a real Chromium against the live stack: find a stuck order by the customer's
CPF, read what it means and what to do, fix it in place (receive the missing stock and
retry in one form) and see it move on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from tests.browser.test_console import (
    CHROMIUM_ARGS,
    assert_png,
    find_chromium,
    login,
    reload_until,
    stuck_order,
)
from tests.browser.test_station import artifacts
from tests.support.live import live_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        executable = find_chromium(pw.chromium.executable_path)
        browser = await pw.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def test_ops_finds_a_stuck_order_by_cpf_receives_the_stock_and_retries_in_place(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    shots = artifacts(tmp_path)
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        order_id = await stuck_order(live, "8101", "FIX-1")
        context = await browser.new_context(viewport={"width": 1366, "height": 768})
        page = await context.new_page()
        try:
            await login(page, base, live.settings.secrets.bootstrap_admin_key.get_secret_value())
            await page.get_by_role("link", name="Search").click()
            await page.get_by_label("Order, customer, CPF").fill("529.982.247-25")
            await page.get_by_role("button", name="Search").click()
            await expect(page.locator("#result-count")).to_contain_text("1 order found")
            row = page.locator(f"[id='result-{order_id}']")
            await expect(row).to_contain_text("stuck at reserve_stock")
            await page.screenshot(path=shots / "ops-1-search-by-cpf.png", full_page=True)
            await row.get_by_role("link", name=order_id).click()

            await expect(page.locator("#runbook")).to_contain_text("Not enough stock")
            await expect(page.locator("#runbook")).to_contain_text("What to do")
            form = page.locator("#receive-stock")
            await expect(form.get_by_label("FIX-1 received")).to_have_value("1")
            csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
            assert csrf
            unconfirmed = await page.request.post(
                f"{base}/console/orders/{order_id}/decide",
                form={"csrf": csrf, "action": "compensate", "reason": "customer gave up"},
            )
            assert "Nothing was done" in await unconfirmed.text()
            await page.reload()
            await page.screenshot(path=shots / "ops-2-stuck-order.png", full_page=True)
            await form.get_by_role("button", name="Receive and retry").click()
            await expect(page.locator(".flash.ok")).to_contain_text("Received 1 × FIX-1")
            await expect(page.locator(".flash.ok")).to_contain_text("retry accepted (admin)")

            async def moved_on() -> bool:
                text = await page.locator("#order-status").get_attribute("data-status")
                return await page.locator("#failure").count() == 0 and text not in (
                    "received", "reserved"
                )  # fmt: skip

            await reload_until(page, f"{base}/console/orders/{order_id}", moved_on, "the retry")
            await page.screenshot(path=shots / "ops-3-moved-on.png", full_page=True)
        finally:
            await context.close()
        order = await live.order(order_id)
        assert order is not None
        assert order["needs_attention"] is False
        product = (await live.api.get("/products")).json()
        assert [p["on_hand"] for p in product if p["sku"] == "FIX-1"] == [1]
    for name in ("ops-1-search-by-cpf", "ops-2-stuck-order", "ops-3-moved-on"):
        assert_png(shots / f"{name}.png")

"""The warehouse station on a 390×844 handheld in a real Chromium against the live stack:
pick by scan (a wrong item refused), pack with the box suggested and the parcel weighed,
a blind check whose mismatch reopens pick, then print the label and the DANFE. No
screen scrolls sideways; every screen is kept as a screenshot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from db.api_keys import ApiKeyRepository, ApiRole
from db.session import create_engine, create_sessionmaker
from tests.browser.test_console import CHROMIUM_ARGS, PRODUCT, assert_png, find_chromium, login
from tests.support.live import live_stack

pytestmark = pytest.mark.browser

HANDHELD: ViewportSize = {"width": 390, "height": 844}
MUG = {**PRODUCT, "gtin": "7891234567895", "bin": "B-10-1"}
PLATE = {**PRODUCT, "name": "Prato raso", "gtin": "7894900011517", "bin": "A-02-3"}


def artifacts(tmp_path: Path) -> Path:
    """Screenshots kept after the run: var/test-artifacts/station (gitignored), or
    RETAGUARDA_TEST_ARTIFACTS."""
    root = Path(os.environ.get("RETAGUARDA_TEST_ARTIFACTS", "var/test-artifacts"))
    folder = root / "station"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


def order_body(external_id: str) -> dict[str, Any]:
    return {
        "id": external_id,
        "customer": {"name": "Maria Souza", "cpf": "52998224725", "email": "m@example.com"},
        "shipping_address": {
            "street": "Rua das Flores", "number": "10", "neighborhood": "Centro",
            "city": "Campinas", "state": "SP", "zipcode": "13010000",
        },
        "items": [
            {"sku": "ST-MUG", "quantity": 2, "price": "39.90"},
            {"sku": "ST-PLATE", "quantity": 1, "price": "39.90"},
        ],
        "shipping_cost": "10.00",
        "payment": {"method": "pix", "status": "paid", "id": f"pay-{external_id}"},
    }  # fmt: skip


async def no_sideways_scroll(page: Page, shots: Path, name: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= HANDHELD["width"], f"{name}: the page is {width} px wide"
    await page.screenshot(path=shots / f"{name}.png", full_page=True)
    assert_png(shots / f"{name}.png")


async def scan(page: Page, code: str) -> None:
    """What a scanner does: types the code into the focused field and presses Enter."""
    field = page.locator("#code")
    await expect(field).to_be_focused()
    await page.keyboard.type(code)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_an_operator_picks_packs_checks_and_prints_an_order_on_a_handheld(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    engine = create_engine(sqlite_url)
    try:
        key = await ApiKeyRepository(create_sessionmaker(engine)).create("ana", ApiRole.WAREHOUSE)
    finally:
        await engine.dispose()
    shots = artifacts(tmp_path)
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        soon = (datetime.now(UTC) + timedelta(days=30)).date()
        later = (datetime.now(UTC) + timedelta(days=300)).date()
        receipts: dict[str, list[dict[str, Any]]] = {
            "ST-MUG": [{"quantity": 5}],  # received before lots were kept: no lot
            "ST-PLATE": [  # two lots: the pick takes the one that expires first
                {"quantity": 3, "lot": "PR-NEW", "expires_on": later.isoformat(), "bin": "A-02-4"},
                {"quantity": 2, "lot": "PR-OLD", "expires_on": soon.isoformat(), "bin": "A-02-3"},
            ],
        }
        for sku, product in (("ST-MUG", MUG), ("ST-PLATE", PLATE)):
            assert (await live.api.put(f"/products/{sku}", json=product)).status_code == 200
            for receipt in receipts[sku]:
                r = await live.api.post(f"/products/{sku}/receipts", json=receipt)
                assert r.is_success, r.text
        r = await live.sandbox.post("/store/admin/orders", json=order_body("9101"))
        assert r.status_code == 201, r.text
        order_id = "order:store:9101"

        async def task_open() -> bool:
            tasks = (await live.api.get("/warehouse/tasks")).json()
            return any(t["order_id"] == order_id for t in tasks)

        await live.until(task_open, f"the warehouse task of {order_id}")
        context = await browser.new_context(viewport=HANDHELD, is_mobile=True, has_touch=True)
        page = await context.new_page()
        try:
            await login(page, base, key, lang="pt-BR")
            await page.goto(f"{base}/console/station")
            await expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
            await no_sideways_scroll(page, shots, "1-home")
            await page.locator(f"[id='task-{order_id}']").click()

            # Pick: the walk starts at aisle A; a wrong item is refused.
            await expect(page.get_by_role("heading", name="Separar")).to_be_visible()
            cards = page.locator("[id^=line-]")
            await expect(cards.first).to_contain_text("A-02-3")
            await expect(cards.first).to_contain_text("Prato raso")
            await expect(cards.first).to_contain_text(
                f"lote PR-OLD · validade {soon:%d/%m/%Y} · 1 un."
            )
            await expect(cards.first).not_to_contain_text("PR-NEW")
            await expect(cards.nth(1)).to_contain_text("lote: nenhum")
            await scan(page, "7890000000000")
            await expect(page.locator("#message")).to_contain_text("Item errado")
            await no_sideways_scroll(page, shots, "2-pick-wrong-item")
            for code in ("7894900011517", "7891234567895", "ST-MUG"):
                await scan(page, code)
            await expect(page.locator("#progress")).to_have_text("3/3")
            await no_sideways_scroll(page, shots, "3-pick-complete")
            await page.get_by_role("button", name="Concluir separação").click()

            # Pack: the box suggested from the items, the weight typed in.
            await expect(page.get_by_role("heading", name="Embalar")).to_be_visible()
            await expect(page.locator("#box")).to_contain_text("cm")
            await page.get_by_label("Peso da caixa fechada (g)").fill("1350")
            await no_sideways_scroll(page, shots, "4-pack")
            await page.get_by_role("button", name="Concluir embalagem").click()

            # A pick posted again (a lost answer) gets the same answer, not a second step.
            csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
            assert csrf
            again = await page.request.post(
                f"{base}/console/station/{order_id}/pick", form={"csrf": csrf}, max_redirects=0
            )
            assert again.status == 303

            # Blind check: the expected quantities are never shown; one mug is missing.
            await page.goto(f"{base}/console/station/{order_id}")
            await expect(page.get_by_role("heading", name="Conferir")).to_be_visible()
            assert "× 2" not in await page.locator("main").inner_text()
            await scan(page, "7891234567895")
            await scan(page, "7894900011517")
            await no_sideways_scroll(page, shots, "5-check")
            await page.get_by_role("button", name="Concluir conferência").click()
            await expect(page.get_by_role("heading", name="Separação reaberta")).to_be_visible()
            await expect(page.locator("#diff-ST-MUG")).to_contain_text("Faltando: 1")
            await expect(page.locator("#differences")).not_to_contain_text("Prato raso")
            await no_sideways_scroll(page, shots, "6-check-mismatch")
            await page.get_by_role("link", name="Conferir a caixa de novo").click()
            for code in ("7891234567895", "7894900011517", "7891234567895"):
                await scan(page, code)
            await page.get_by_role("button", name="Concluir conferência").click()

            # Print: the DANFE from the document store and the carrier's label.
            await expect(page.get_by_role("heading", name="Imprimir")).to_be_visible()
            await expect(page.locator("#print-label")).to_be_visible(timeout=30_000)
            await no_sideways_scroll(page, shots, "7-print")
            for link in ("#print-danfe", "#print-label"):
                href = await page.locator(link).get_attribute("href")
                assert href
                printed = await page.request.get(href if "://" in href else f"{base}{href}")
                assert printed.headers["content-type"] == "application/pdf", link
        finally:
            await context.close()

        detail = (await live.api.get(f"/orders/{order_id}")).json()
        steps = {s["step"]: s for s in detail["live"]["warehouse"]}
        assert steps["pack"]["parcel"]["weight_g"] == 1350
        assert {s["operator"] for s in steps.values()} == {"ana"}
        assert all(s["shift"] in ("manha", "tarde", "noite") for s in steps.values())
        assert detail["order"]["check_mismatches"] == 1

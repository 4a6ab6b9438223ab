"""The ops console in a real Chromium against the live stack (Temporal dev server, worker,
sandbox over HTTP, SQLite): unstick an order, work it through the warehouse, see it
delivered; and a warehouse key cannot decide."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from db.api_keys import ApiKeyRepository, ApiRole
from db.session import create_engine, create_sessionmaker
from tests.support.live import Live, live_stack

pytestmark = pytest.mark.browser

# The system's Chromium (scripts/install-chromium.sh prefers it); Playwright's own build
# only if that script had to fall back to downloading it.
SYSTEM_CHROMIUMS = (Path("/usr/bin/chromium"), Path("/usr/bin/chromium-browser"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRODUCT = {
    "name": "Caneca ceramica", "ncm": "69120000", "price": "39.90", "cost": "15.00",
    "weight_g": 400, "height_cm": 10, "width_cm": 12, "length_cm": 12,
}  # fmt: skip


def find_chromium(playwright_build: str) -> str:
    for candidate in (*SYSTEM_CHROMIUMS, Path(playwright_build)):
        if candidate.exists():
            return str(candidate)
    reason = (
        f"no Chromium at {SYSTEM_CHROMIUMS[0]}: install the distribution's chromium package "
        "(scripts/install-chromium.sh)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests are mandatory)")
    pytest.skip(reason)


def assert_png(path: Path) -> None:
    assert path.exists(), path
    assert path.stat().st_size > 0, path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


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


def store_order(external_id: str, sku: str) -> dict[str, Any]:
    return {
        "id": external_id,
        "customer": {"name": "Maria Souza", "cpf": "52998224725", "email": "m@example.com"},
        "shipping_address": {
            "street": "Rua das Flores", "number": "10", "neighborhood": "Centro",
            "city": "Campinas", "state": "SP", "zipcode": "13010000",
        },
        "items": [{"sku": sku, "quantity": 1, "price": "39.90"}],
        "shipping_cost": "10.00",
        "payment": {"method": "pix", "status": "paid", "id": f"pay-{external_id}"},
    }  # fmt: skip


async def stuck_order(live: Live, external_id: str, sku: str) -> str:
    """A paid store order for a product with no stock: it gets stuck at reserve_stock."""
    assert (await live.api.put(f"/products/{sku}", json=PRODUCT)).status_code == 200
    r = await live.sandbox.post("/store/admin/orders", json=store_order(external_id, sku))
    assert r.status_code == 201, r.text
    order_id = f"order:store:{external_id}"

    async def stuck() -> bool:
        rows = (await live.api.get("/ops/stuck")).json()
        return any(r["order_id"] == order_id and r["stuck_step"] == "reserve_stock" for r in rows)

    await live.until(stuck, f"{order_id} stuck at reserve_stock", seconds=30)
    return order_id


SIGN_IN = {"en": ("API key", "Sign in", "Dashboard"), "pt-BR": ("Chave de API", "Entrar", "Painel")}


async def login(page: Page, base_url: str, key: str, lang: str = "en") -> None:
    """Sign in through the form, in `lang` (the console's language cookie; pt-BR is what a
    first visit gets)."""
    if lang != "pt-BR":
        await page.context.add_cookies(
            [{"name": "rtg_lang", "value": lang, "url": f"{base_url}/console"}]
        )
    await page.goto(f"{base_url}/console")
    assert "/console/login" in page.url  # no session yet: sent to the login form
    label, button, heading = SIGN_IN[lang]
    await page.get_by_label(label).fill(key)
    await page.get_by_role("button", name=button).click()
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()


async def reload_until(
    page: Page, url: str, check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await page.goto(url)
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what} on {url}")
        await asyncio.sleep(0.3)


async def test_ops_retries_a_stuck_order_and_the_warehouse_works_it_to_delivery(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        order_id = await stuck_order(live, "8001", "CONS-1")
        context = await browser.new_context(viewport={"width": 1366, "height": 900})
        page = await context.new_page()
        try:
            await login(page, base, live.settings.secrets.bootstrap_admin_key.get_secret_value())

            row = page.locator("#stuck-orders tr", has_text=order_id)
            await expect(row).to_contain_text("reserve_stock")
            await expect(row).to_contain_text("OutOfStock")
            await expect(row).to_contain_text("CONS-1: 1 requested, 0 available")
            await page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

            receipt = await live.api.post("/products/CONS-1/receipts", json={"quantity": 3})
            assert receipt.status_code == 200, receipt.text
            await row.get_by_role("link", name=order_id).click()
            await expect(page.locator("#failure")).to_contain_text(
                "Stuck at Reserving stock reserve_stock"
            )
            await page.screenshot(path=tmp_path / "order.png", full_page=True)

            csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
            assert csrf
            await page.request.post(
                f"{base}/console/orders/{order_id}/decide",
                form={"csrf": csrf, "action": "skip", "data": "{not json"},
                max_redirects=0,
            )
            await page.reload()
            await expect(page.locator(".flash.error")).to_contain_text(
                "The manual result is not valid JSON"
            )

            retry = page.locator("#decide form").filter(has=page.locator("input[value=retry]"))
            await retry.get_by_label("Reason").fill("stock received")
            await retry.get_by_role("button", name="Retry").click()
            await expect(page.locator(".flash.ok")).to_contain_text("retry accepted (admin)")

            stuck_rows = page.locator("#stuck-orders tr", has_text=order_id)

            async def left_stuck_table() -> bool:
                return await stuck_rows.count() == 0

            await reload_until(page, f"{base}/console", left_stuck_table, "the retry")

            task = page.locator(f"tr[id='task-{order_id}']")

            async def has_task() -> bool:
                return await task.count() == 1

            await reload_until(page, f"{base}/console/warehouse", has_task, "a warehouse task")
            for step in ("pick", "pack"):
                await task.get_by_label("Shift").fill("A")
                await task.get_by_role("button", name=step.capitalize()).click()
                await expect(page.locator(".flash.ok")).to_contain_text(f"{step} recorded (admin")
            scanned = task.get_by_label("CONS-1 scanned")
            await scanned.fill("2")
            await task.get_by_role("button", name="Check").click()
            await expect(page.locator(".flash.error")).to_contain_text(
                "check refused: check failed: CONS-1: expected 1, scanned 2"
            )
            await scanned.fill("1")
            await task.get_by_role("button", name="Check").click()
            await expect(page.locator(".flash.ok")).to_contain_text("check recorded")
            await expect(task).to_have_count(0)  # the task left the open list

            status = page.locator("#order-status")

            async def delivered() -> bool:
                return (await status.get_attribute("data-status")) == "delivered"

            await reload_until(
                page, f"{base}/console/orders/{order_id}", delivered, "delivery", seconds=60
            )
            await expect(page.locator("#warehouse")).to_contain_text("check")
            await expect(page.locator("#audit")).to_contain_text("ops:retry")
            danfe = page.locator("#documents").get_by_role("link", name="DANFE (PDF)")
            href = await danfe.get_attribute("href")
            assert href is not None
            assert href.startswith("/console/documents/nfe/")
            printed = await page.request.get(f"{base}{href}")
            assert printed.headers["content-type"] == "application/pdf"
            key = href.removeprefix("/console/documents/nfe/").removesuffix("-danfe.pdf")
            pages = PdfReader(io.BytesIO(await printed.body())).pages
            assert key in "".join(p.extract_text() for p in pages).replace(" ", "")
            await page.screenshot(path=tmp_path / "order-delivered.png", full_page=True)
        finally:
            await context.close()

    for name in ("dashboard.png", "order.png", "order-delivered.png"):
        assert_png(tmp_path / name)


async def test_ops_sends_a_correction_letter_from_the_order_page_and_sees_it_registered(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        assert (await live.api.put("/products/CCE-1", json=PRODUCT)).status_code == 200
        receipt = await live.api.post("/products/CCE-1/receipts", json={"quantity": 2})
        assert receipt.status_code == 200, receipt.text
        r = await live.sandbox.post("/store/admin/orders", json=store_order("8003", "CCE-1"))
        assert r.status_code == 201, r.text
        order_id = "order:store:8003"

        async def invoiced() -> str:
            order = await live.order(order_id)
            return str(order.get("invoice_key") or "") if order else ""

        key = await live.until(invoiced, f"the NF-e of {order_id}")
        context = await browser.new_context(viewport={"width": 1366, "height": 900})
        page = await context.new_page()
        try:
            await login(page, base, live.settings.secrets.bootstrap_admin_key.get_secret_value())
            await page.goto(f"{base}/console/orders/{order_id}")
            panel = page.locator("#invoice")
            await expect(panel.locator("#invoice-status")).to_have_text("authorised")
            await expect(panel).to_contain_text(key)
            await expect(panel.locator("#corrections")).to_contain_text("none sent")

            form = page.locator("#correct")
            forbidden = "Valor unitario correto e 35,00 por unidade"
            await form.get_by_label("Correction (CC-e)").fill(forbidden)
            await form.get_by_role("button", name="Send CC-e").click()
            await expect(page.locator(".flash.error")).to_contain_text(
                "CC-e not sent: it may not change values, prices, quantities"
            )
            await expect(form.get_by_label("Correction (CC-e)")).to_have_value(forbidden)

            text = "Endereco de entrega: casa dos fundos, portao azul, tocar a campainha"
            await form.get_by_label("Correction (CC-e)").fill(text)
            await form.get_by_role("button", name="Send CC-e").click()
            await expect(page.locator(".flash.ok")).to_contain_text(
                "CC-e nº 1 registered by SEFAZ, protocol"
            )
            row = page.locator("#correction-1")
            await expect(row).to_contain_text(text)
            await expect(row).to_contain_text("registered")
            await expect(row).to_contain_text("admin")
            listed = (await live.api.get(f"/orders/{order_id}/invoice/corrections")).json()
            assert [(c["sequence"], c["status"]) for c in listed] == [(1, "registered")]
            await expect(row).to_contain_text(listed[0]["protocol"])
            await expect(page.locator("#audit")).to_contain_text("fiscal:correction")
            await expect(page.locator("#documents")).to_contain_text("110110")
            await page.screenshot(path=tmp_path / "order-cce.png", full_page=True)
        finally:
            await context.close()
    assert_png(tmp_path / "order-cce.png")


async def test_a_warehouse_key_sees_no_decide_forms_and_cannot_post_a_decision(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    engine = create_engine(sqlite_url)
    try:
        key = await ApiKeyRepository(create_sessionmaker(engine)).create("joao", ApiRole.WAREHOUSE)
    finally:
        await engine.dispose()
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        order_id = await stuck_order(live, "8002", "CONS-2")
        context = await browser.new_context()
        page = await context.new_page()
        try:
            await page.goto(f"{base}/console/login")
            await expect(page.locator("html")).to_have_attribute("lang", "pt-BR")  # first visit
            await page.get_by_label("Chave de API").fill("rtg_not-a-key")
            await page.get_by_role("button", name="Entrar").click()
            await expect(page.locator(".flash.error")).to_contain_text("ou foi revogada")
            no_nonce = await page.request.post(
                f"{base}/console/login", form={"api_key": key, "csrf": "guess"}, max_redirects=0
            )
            assert no_nonce.status == 403  # a login form not served by the console

            await login(page, base, key)
            await page.get_by_role("link", name=order_id).click()
            await expect(page.locator("#failure")).to_contain_text(
                "Stuck at Reserving stock reserve_stock"
            )
            await expect(page.locator("#failure")).to_contain_text("can see this order but not")
            await expect(page.locator("#decide")).to_have_count(0)

            csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
            assert csrf
            response = await page.request.post(
                f"{base}/console/orders/{order_id}/decide",
                form={"csrf": csrf, "action": "retry", "reason": "trying"},
                max_redirects=0,
            )
            assert response.status == 403
            body = await response.text()
            assert "Your role (warehouse) cannot decide on stuck orders" in body
            assert "Traceback" not in body

            forged = await page.request.post(
                f"{base}/console/orders/{order_id}/decide",
                form={"csrf": "forged", "action": "retry"},
                max_redirects=0,
            )
            assert forged.status == 403
            assert "did not come from the console" in await forged.text()
            correction = await page.request.post(
                f"{base}/console/orders/{order_id}/corrections",
                form={"csrf": csrf, "text": "Endereco de entrega: casa dos fundos"},
                max_redirects=0,
            )
            assert correction.status == 403
            assert "cannot send correction letters" in await correction.text()

            await page.goto(f"{base}/console/warehouse")
            await expect(page.get_by_role("heading", name="Warehouse")).to_be_visible()
            missing = await page.goto(f"{base}/console/orders/order:store:404")
            assert missing is not None
            assert missing.status == 404
            await expect(page.locator("main")).to_contain_text("There is no order order:store:404")
        finally:
            await context.close()
        still = await live.order(order_id)
        assert still is not None
        assert still["needs_attention"] is True

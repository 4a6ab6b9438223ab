"""Ops in a real Chromium against the live stack, in pt-BR: find the order SEFAZ refused
by the customer's CPF, correct its address in place (typed fields, checked by the
server) and see the NF-e authorised with the corrected address and the order move on."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import order_policy
from api.gateway import TemporalGateway
from config.temporal import EncryptionCodec
from domain.events import EventKind, OrderEvent
from domain.orders import Address, Channel, Customer, Order, OrderItem, PaymentStatus
from tests.browser.test_console import (
    CHROMIUM_ARGS,
    PRODUCT,
    assert_png,
    find_chromium,
    login,
    reload_until,
)
from tests.browser.test_station import artifacts
from tests.support.live import Live, live_stack

pytestmark = pytest.mark.browser

CPF = "11144477735"


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


async def order_sefaz_refuses(live: Live, external_id: str, sku: str) -> str:
    """A paid order recorded before city codes were looked up (Rio de Janeiro with São
    Paulo's IBGE code): today's intake refuses such an address, the workflow still holds
    it, and SEFAZ rejects its NF-e with 275."""
    assert (await live.api.put(f"/products/{sku}", json=PRODUCT)).status_code == 200
    assert (await live.api.post(f"/products/{sku}/receipts", json={"quantity": 5})).is_success
    address = Address(
        street="Av Rio Branco", number="1", district="Centro", city="Rio de Janeiro",
        state="RJ", postal_code="20040002", city_code="3550308",
    )  # fmt: skip
    order = Order(
        channel=Channel.STORE, external_id=external_id, placed_at=datetime.now(UTC),
        customer=Customer(name="Joana Lima", cpf=CPF, email="j@example.com", address=address),
        items=(OrderItem(sku=sku, quantity=1, unit_price=Decimal("39.90")),),
        shipping_price=Decimal("10.00"), total=Decimal("49.90"),
        payment_status=PaymentStatus.APPROVED, payment_id=f"pay-{external_id}",
    )  # fmt: skip
    settings = live.settings

    async def connect() -> Client:
        return live.temporal

    codec = EncryptionCodec(base64.b64decode(settings.secrets.codec_key.get_secret_value()))
    gateway = TemporalGateway(
        connect, settings.temporal.task_queues(), order_policy(settings), codec
    )
    order_id = await gateway.deliver(
        OrderEvent(
            event_id=f"store:legacy-{external_id}", kind=EventKind.ORDER_PLACED,
            channel=Channel.STORE, external_id=external_id, received_at=datetime.now(UTC),
            order=order,
        )
    )  # fmt: skip

    async def stuck() -> bool:
        rows = (await live.api.get("/ops/stuck")).json()
        return any(r["order_id"] == order_id and r["stuck_step"] == "emit_invoice" for r in rows)

    await live.until(stuck, f"{order_id} stuck at emit_invoice", seconds=60)
    return order_id


async def test_ops_find_an_order_by_cpf_correct_its_address_and_the_nfe_is_authorised(
    browser: Browser, tmp_path: Path, sqlite_url: str, dev_env: WorkflowEnvironment
) -> None:
    shots = artifacts(tmp_path)
    async with live_stack(tmp_path, sqlite_url, dev_env.client) as live:
        base = live.settings.api.url
        order_id = await order_sefaz_refuses(live, "8301", "FIXADDR-1")
        context = await browser.new_context(viewport={"width": 1366, "height": 768})
        page = await context.new_page()
        try:
            key = live.settings.secrets.bootstrap_admin_key.get_secret_value()
            await login(page, base, key, lang="pt-BR")
            await page.get_by_role("link", name="Buscar").click()
            await page.get_by_label("Pedido, cliente, CPF").fill("111.444.777-35")
            await page.get_by_role("button", name="Buscar").click()
            await expect(page.locator("#result-count")).to_contain_text("1 pedido encontrado")
            await page.screenshot(path=shots / "fix-address-1-search-by-cpf.png", full_page=True)
            await (
                page.locator(f"[id='result-{order_id}']").get_by_role("link", name=order_id).click()
            )

            await expect(page.locator("#failure")).to_contain_text("sefaz_275")
            await expect(page.locator("#runbook")).to_contain_text("275")
            await expect(page.locator("#address")).to_contain_text("Rio de Janeiro/RJ")
            await expect(page.locator("#customer-cpf")).to_contain_text("111.444.777-35")
            form = page.locator("#correct-customer")
            await expect(form.get_by_label("CEP")).to_have_value("20040-002")
            # a wrong CEP is refused with what is wrong, and what was typed is kept
            await form.get_by_label("CEP").evaluate("e => e.removeAttribute('pattern')")
            await form.get_by_label("CEP").fill("2004")
            await form.get_by_label("Logradouro").fill("Avenida Rio Branco")
            await form.get_by_role("button", name="Corrigir e tentar de novo").click()
            await expect(page.locator(".flash.error")).to_contain_text("CEP: a CEP has 8 digits")
            await expect(form.get_by_label("Logradouro")).to_have_value("Avenida Rio Branco")

            await form.get_by_label("CEP").fill("20040-002")
            await form.get_by_label("Bairro").fill("Centro")
            await form.get_by_label("Cidade").fill("Rio de Janeiro")
            await form.get_by_label("Estado (UF)").select_option("RJ")
            await form.get_by_label("Motivo").fill("confirmado com a cliente")
            await page.screenshot(path=shots / "fix-address-2-form.png", full_page=True)
            await form.get_by_role("button", name="Corrigir e tentar de novo").click()
            await expect(page.locator(".flash.ok")).to_contain_text("Endereço corrigido")

            async def moved_on() -> bool:
                status = await page.locator("#order-status").get_attribute("data-status")
                return await page.locator("#failure").count() == 0 and status not in (
                    "paid", "reserved", "received"
                )  # fmt: skip

            await reload_until(page, f"{base}/console/orders/{order_id}", moved_on, "the retry")
            await expect(page.locator("#address")).to_contain_text("Avenida Rio Branco, 1")
            await expect(page.locator("#address")).to_contain_text("3304557")
            corrections = page.locator("#customer-corrections")
            await expect(corrections).to_contain_text("admin")
            await expect(corrections).to_contain_text("IBGE 3550308")  # what it was
            await expect(page.locator("#nfe-key")).not_to_have_text("ainda não")
            await page.screenshot(path=shots / "fix-address-3-moved-on.png", full_page=True)
        finally:
            await context.close()
        order = await live.order(order_id)
        assert order is not None
        assert order["needs_attention"] is False
        xml = await live.api.get(f"/documents/nfe/{order['invoice_key']}-procNFe.xml")
        assert xml.status_code == 200
        dest = xml.text.split("<enderDest>", 1)[1].split("</enderDest>", 1)[0]
        assert "<cMun>3304557</cMun>" in dest
        assert "Avenida Rio Branco" in dest
        audit = (await live.api.get("/ops/audit", params={"order_id": order_id})).json()
        assert any(a["action"] == "ops:correct" for a in audit)
    for name in ("fix-address-1-search-by-cpf", "fix-address-2-form", "fix-address-3-moved-on"):
        assert_png(shots / f"{name}.png")

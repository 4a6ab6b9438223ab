"""The Temporal UI as `retaguarda up` starts it (its `temporal server start-dev` command,
the codec endpoint pointed at the API) decodes an order's encrypted input in a real
Chromium for a person signed into the console with the admin key, and shows nothing in
clear to someone who is not signed in."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.client import Client

from config.settings import ApiSettings, Settings, TemporalSettings
from config.temporal import data_converter
from retaguarda.stack import temporal_command
from tests.browser.test_console import (
    CHROMIUM_ARGS,
    PRODUCT,
    assert_png,
    find_chromium,
    login,
    store_order,
)
from tests.browser.test_station import artifacts
from tests.support.live import live_stack
from tests.support.servers import free_port

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


async def _port_open(port: int, seconds: float = 60) -> None:
    for _ in range(int(seconds / 0.2)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return
    raise AssertionError(f"nothing listens on {port}")


async def use_codec_with_credentials(page: Page, ui: str, codec: str) -> None:
    """The UI's per-browser codec setting "include cross-origin credentials" (what a
    person ticks once in the UI's Codec Server dialog), so the console's cookie goes."""
    await page.goto(ui)
    await page.evaluate(
        """([endpoint]) => {
            localStorage.setItem('endpoint', JSON.stringify(endpoint));
            localStorage.setItem('includeCredentials', 'true');
            localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
        }""",
        [codec],
    )


async def test_the_temporal_ui_shows_a_decoded_order_input_to_the_admin_only(
    browser: Browser, tmp_path: Path, sqlite_url: str
) -> None:
    api_port, frontend, ui_port = free_port(), free_port(), free_port()
    settings = Settings(
        var_dir=tmp_path,
        api=ApiSettings(port=api_port),
        temporal=TemporalSettings(address=f"127.0.0.1:{frontend}", ui_port=ui_port),
    )
    command = temporal_command(settings, ui=True, log_level="error")
    assert command[command.index("--ui-codec-endpoint") + 1] == f"{settings.api.url}/codec"
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for by its ports
        command, start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        await _port_open(frontend)
        await _port_open(ui_port)
        client = await Client.connect(f"127.0.0.1:{frontend}", data_converter=data_converter())
        async with live_stack(
            tmp_path, sqlite_url, client, api_port=api_port, ui_port=ui_port
        ) as live:
            assert (await live.api.put("/products/UI-1", json=PRODUCT)).status_code == 200
            r = await live.sandbox.post("/store/admin/orders", json=store_order("9301", "UI-1"))
            assert r.status_code == 201, r.text
            order_id = "order:store:9301"

            async def started() -> str:
                try:
                    return (await client.get_workflow_handle(order_id).describe()).run_id
                except Exception:  # noqa: BLE001 - not started yet
                    return ""

            run_id = await live.until(started, f"the workflow {order_id}")
            ui = f"http://127.0.0.1:{ui_port}"
            history = f"{ui}/namespaces/default/workflows/{order_id}/{run_id}/history"
            shots = artifacts(tmp_path)

            stranger = await browser.new_context(viewport={"width": 1366, "height": 900})
            page = await stranger.new_page()
            try:
                await use_codec_with_credentials(page, ui, f"{settings.api.url}/codec")
                await page.goto(history)
                refused = page.locator("#content").get_by_text("Codec Server could not connect")
                await expect(refused).to_be_visible(timeout=30_000)  # the codec said 401
                assert '"external_id"' not in await page.locator("body").inner_text()
                await page.screenshot(path=shots / "temporal-ui-not-signed-in.png")
            finally:
                await stranger.close()

            admin = await browser.new_context(viewport={"width": 1366, "height": 900})
            page = await admin.new_page()
            try:
                key = live.settings.secrets.bootstrap_admin_key.get_secret_value()
                await login(page, live.settings.api.url, key)
                await use_codec_with_credentials(page, ui, f"{settings.api.url}/codec")
                await page.goto(history)
                await expect(page.get_by_text('"external_id": "9301"').first).to_be_visible(
                    timeout=30_000
                )
                await page.screenshot(path=shots / "temporal-ui-decoded.png")
            finally:
                await admin.close()
        assert_png(shots / "temporal-ui-decoded.png")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

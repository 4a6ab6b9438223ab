"""A whole Retaguarda in the test's process: sandbox and API over real HTTP on free
ports, the orders and rpa workers (each on task queues of its own, as the Temporal dev
server is shared by the session), a real Temporal dev server, a real database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from api.app import create_app
from config.settings import (
    ApiSettings,
    DatabaseSettings,
    Durations,
    SandboxSettings,
    Settings,
    TemporalSettings,
)
from retaguarda.sandbox_config import sandbox_config
from sandbox.app import create_sandbox_app
from tests.support.servers import free_port, serve
from workers.orders import run as run_worker
from workers.rpa import run as run_rpa_worker


@dataclass
class Live:
    settings: Settings
    api: httpx.AsyncClient
    sandbox: httpx.AsyncClient
    temporal: Client

    async def until(
        self, check: Callable[[], Awaitable[Any]], what: str, seconds: float = 60
    ) -> Any:
        for _ in range(int(seconds / 0.2)):
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    async def order(self, order_id: str) -> dict[str, Any] | None:
        response = await self.api.get(f"/orders/{order_id}")
        return response.json()["order"] if response.status_code == 200 else None


@asynccontextmanager
async def live_stack(
    tmp_path: Path,
    db_url: str,
    temporal: Client,
    *,
    api_port: int | None = None,
    ui_port: int = 8233,
) -> AsyncIterator[Live]:
    api_port, sandbox_port = api_port or free_port(), free_port()
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        var_dir=tmp_path,
        db=DatabaseSettings(url=db_url),
        api=ApiSettings(port=api_port),
        sandbox=SandboxSettings(port=sandbox_port, carrier_step_s=0.2),
        temporal=TemporalSettings(
            orders_queue=f"orders-{run}",
            rpa_queue=f"rpa-{run}",
            finance_queue=f"finance-{run}",
            ui_port=ui_port,
        ),
        durations=Durations(payment_window_s=60, late_payment_grace_s=1, tracking_poll_s=2),
    )
    sandbox_app = create_sandbox_app(sandbox_config(settings))
    api_app = create_app(settings, temporal_client=temporal, relay_interval_s=0.2)
    key = settings.secrets.bootstrap_admin_key.get_secret_value()
    async with (
        serve(sandbox_app, sandbox_port) as sandbox_url,
        serve(api_app, api_port) as api_url,
        httpx.AsyncClient(base_url=api_url, headers={"X-API-Key": key}, timeout=30) as api,
        httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox,
    ):
        workers = [
            asyncio.create_task(run_worker(settings, client=temporal)),
            asyncio.create_task(run_rpa_worker(settings, client=temporal)),
        ]
        try:
            yield Live(settings, api, sandbox, temporal)
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

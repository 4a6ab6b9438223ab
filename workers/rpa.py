"""The `rpa` worker's composition root: one Chromium for the process (a browser pool of
`RETAGUARDA_RPA__POOL_SIZE` contexts), the portal bots that use it, and the steps of the
`rpa` queue, run `pool size` at a time."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from temporalio.client import Client

from config.settings import Settings
from integrations.portals.browser import BrowserPool
from workers.runtime import run_worker
from workflows.steps import Queue

# Each portal bot is built from the process's browser pool. None is declared yet.
PORTAL_BOTS: tuple[Callable[[BrowserPool], object], ...] = ()


async def build_holders(settings: Settings, stack: AsyncExitStack, client: Client) -> list[object]:
    """Every activity holder of the `rpa` queue, sharing one browser pool."""
    pool = await BrowserPool.launch(stack, settings.rpa.pool_size, settings.rpa.chromium_path)
    return [bot(pool) for bot in PORTAL_BOTS]


async def run(settings: Settings, client: Client | None = None) -> None:
    """Run the `rpa` worker until cancelled."""
    tuning = {"max_concurrent_activities": settings.rpa.pool_size}
    await run_worker(settings, Queue.RPA, build_holders, client=client, tuning=tuning)

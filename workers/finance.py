"""The `finance` worker's composition root: the database and the steps of the `finance`
queue (reconciliation, heavy data), away from the order flow's worker."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from config.settings import Settings
from db.session import create_engine, create_sessionmaker
from workers.runtime import run_worker
from workflows.steps import Queue

# Each finance holder is built from the database sessions. None is declared yet.
FINANCE_HOLDERS: tuple[Callable[[async_sessionmaker[AsyncSession]], object], ...] = ()


async def build_holders(settings: Settings, stack: AsyncExitStack, client: Client) -> list[object]:
    """Every activity holder of the `finance` queue."""
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    sessions = create_sessionmaker(engine)
    return [holder(sessions) for holder in FINANCE_HOLDERS]


async def run(settings: Settings, client: Client | None = None) -> None:
    """Run the `finance` worker until cancelled."""
    await run_worker(settings, Queue.FINANCE, build_holders, client=client)

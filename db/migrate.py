"""Run the Alembic migrations programmatically (no alembic.ini, no working-directory
assumptions: the scripts are found next to this module, also when installed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from db.session import create_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_ID = 0x5245_5441  # "RETA": one migrator at a time on a shared PostgreSQL


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.attributes["url"] = normalise_url(url)
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``. Safe to run from several processes at
    once: SQLite serialises on BEGIN IMMEDIATE, PostgreSQL on an advisory lock."""
    await _run(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


def upgrade_sync(url: str, revision: str = "head") -> None:
    """For sync callers (CLI); must not be called from inside a running event loop."""
    asyncio.run(upgrade(url, revision))


async def _run(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
            await connection.run_sync(_apply, url, action)
    finally:
        await engine.dispose()


def _apply(connection: Connection, url: str, action: Callable[[Config], None]) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    action(config)

"""The Alembic migrations create exactly the schema the models declare."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from db.migrate import MIGRATIONS, downgrade, upgrade
from db.models import Base
from db.session import create_engine

pytestmark = pytest.mark.integration


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def _schema_diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


async def test_migrations_create_the_schema_the_models_declare(db_url: str) -> None:
    await upgrade(db_url)  # already at head: a second run is a no-op
    assert await _schema_diff(db_url) == []


async def test_migrations_go_down_to_nothing_and_back_up(sqlite_url: str) -> None:
    await downgrade(sqlite_url, "base")
    engine = create_engine(sqlite_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    await engine.dispose()
    assert tables == ["alembic_version"]
    await upgrade(sqlite_url)
    assert await _schema_diff(sqlite_url) == []


def test_migration_scripts_are_found_next_to_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert list((MIGRATIONS / "versions").glob("0001_*.py"))

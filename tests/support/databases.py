"""Database fixtures (SQLite file per test, PostgreSQL database per session).

- ``sqlite_url``: a fresh, migrated SQLite file in the test's tmp_path (copied from a
  template migrated once per session).
- ``pg_url``: a fresh database ``retaguarda_test_<random>`` on 127.0.0.1:5432 (user
  postgres, created through the ``test`` database), migrated once per session, dropped at
  the end. Unreachable: skipped, unless CI=true, where it fails.
  Override the server with RETAGUARDA_TEST_PG_ADMIN_URL.
- ``pg_clean_url``: ``pg_url`` with every table truncated, for a test that needs it empty.
- ``db_url``: parametrised over "sqlite" (``sqlite_url``) and "postgres" (``pg_clean_url``,
  marked ``postgres``): every test starts with an empty, migrated database.
- ``sessionmaker``: an ``async_sessionmaker`` on ``db_url`` (engine disposed afterwards).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from db.catalogue import CatalogueRepository
from db.migrate import upgrade
from db.models import Base
from db.session import create_engine, create_sessionmaker

PG_ADMIN_URL = os.environ.get(
    "RETAGUARDA_TEST_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def sqlite_file_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
async def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    await upgrade(sqlite_file_url(path))
    return path


@pytest.fixture
async def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "retaguarda.db"
    shutil.copyfile(_sqlite_template, path)
    return sqlite_file_url(path)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"retaguarda_test_{secrets.token_hex(6)}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # connection refused, auth failure, missing database
        await admin.dispose()
        message = f"PostgreSQL unreachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: PostgreSQL tests are mandatory)")
        pytest.skip(message)
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade(url)
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def pg_clean_url(pg_url: str) -> str:
    """``pg_url`` with every table emptied first."""
    await truncate_all(pg_url)
    return pg_url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    # Sync on purpose: getfixturevalue() of an async fixture cannot run inside a running loop.
    name = "sqlite_url" if request.param == "sqlite" else "pg_clean_url"
    return str(request.getfixturevalue(name))


async def truncate_all(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def sessionmaker(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def seed_stock(
    sessionmaker: async_sessionmaker[AsyncSession], on_hand: Mapping[str, int]
) -> None:
    """Products with plausible data and the given stock on hand."""
    catalogue = CatalogueRepository(sessionmaker)
    for sku, quantity in on_hand.items():
        await catalogue.upsert_product(
            sku,
            name=f"Produto {sku}",
            ncm="61091000",
            price=Decimal("59.90"),
            cost=Decimal("21.30"),
            weight_g=300,
            height_cm=4,
            width_cm=20,
            length_cm=30,
        )
        if quantity:
            await catalogue.receive_stock(sku, quantity, key=f"seed:{sku}")

"""Engines and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite: WAL (readers never block the writer), a 30 s busy timeout, foreign keys on, and
SQLAlchemy emits BEGIN itself: ``BEGIN IMMEDIATE`` by default, so a write transaction
takes the database write lock when it starts instead of upgrading a read lock later (the
upgrade is what fails with "database is locked" when two processes write at once).
Read-only work opts into ``BEGIN DEFERRED`` with :func:`read_session`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

BUSY_TIMEOUT_S: Final = 30
SQLITE_BEGIN: Final = "sqlite_begin"
"""Execution option read by the SQLite ``begin`` hook: "IMMEDIATE" (default) or "DEFERRED"."""

READ_ONLY: Final[dict[str, Any]] = {SQLITE_BEGIN: "DEFERRED"}


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database URL {parsed.render_as_string()!r}")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, **kwargs)
        _configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def sqlite_thread_engine(engine: AsyncEngine) -> Engine | None:
    """For an SQLite async engine, a synchronous engine on the same file with the same
    pragmas, for work that runs whole in one thread (one hop instead of one per call);
    None for other databases."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    sync = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    _configure_sqlite(sync)
    return sync


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not emit BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def read_session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for reads only: on SQLite its transaction takes no write lock."""
    async with sessionmaker() as session:
        await session.connection(execution_options=READ_ONLY)
        yield session


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)

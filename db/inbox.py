"""Durable intake: every accepted webhook is stored here before anything else happens.

``add`` is idempotent on (source, event_id) through INSERT ... ON CONFLICT DO NOTHING, so a
provider's duplicate delivery is recognised and starts nothing new.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import INBOX_STATUSES, InboxRow
from db.session import dialect_insert, read_session
from db.types import utcnow


class InboxEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    source: str
    event_id: str
    workflow_id: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    status: str
    attempts: int
    last_error: str | None
    started_at: datetime | None


def _entry(row: InboxRow) -> InboxEntry:
    return InboxEntry(
        id=row.id,
        source=row.source,
        event_id=row.event_id,
        workflow_id=row.workflow_id,
        kind=row.kind,
        payload=row.payload,
        received_at=row.received_at,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        started_at=row.started_at,
    )


class InboxRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def add(
        self,
        source: str,
        event_id: str,
        workflow_id: str,
        kind: str,
        payload: dict[str, Any],
        *,
        at: datetime | None = None,
    ) -> tuple[int, bool]:
        """Store the event; returns (id, is_new). A duplicate returns the first id, False."""
        async with self._sessionmaker() as s:
            inserted = await s.scalar(
                dialect_insert(s, InboxRow)
                .values(
                    source=source,
                    event_id=event_id,
                    workflow_id=workflow_id,
                    kind=kind,
                    payload=payload,
                    received_at=at or utcnow(),
                    status="pending",
                    attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["source", "event_id"])
                .returning(InboxRow.id)
            )
            if inserted is not None:
                await s.commit()
                return int(inserted), True
            existing = await s.scalar(
                select(InboxRow.id).where(InboxRow.source == source, InboxRow.event_id == event_id)
            )
            await s.commit()
        if existing is None:  # pragma: no cover - the conflicting row vanished
            raise RuntimeError(f"inbox {source}/{event_id} conflicted but cannot be found")
        return int(existing), False

    async def pending(self, limit: int = 100, older_than_s: float = 0) -> builtins.list[InboxEntry]:
        """Entries still to start (pending, or failed and retryable), oldest first,
        received at least ``older_than_s`` seconds ago."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(InboxRow)
                .where(InboxRow.status.in_(("pending", "failed")), InboxRow.received_at <= cutoff)
                .order_by(InboxRow.received_at, InboxRow.id)
                .limit(limit)
            )
            return [_entry(r) for r in rows]

    async def mark_started(self, entry_id: int, *, at: datetime | None = None) -> None:
        """Idempotent: the first start time is kept."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status != "started")
                .values(status="started", started_at=at or utcnow(), last_error=None)
            )
            await s.commit()

    async def mark_failed(self, entry_id: int, error: str) -> None:
        """Record a failed start attempt (attempts += 1); the entry stays retryable."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status.in_(("pending", "failed")))
                .values(status="failed", attempts=InboxRow.attempts + 1, last_error=error[:2000])
            )
            await s.commit()

    async def mark_ignored(self, entry_id: int, reason: str) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status != "started")
                .values(status="ignored", last_error=reason[:2000])
            )
            await s.commit()

    async def counts(self) -> dict[str, int]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(select(InboxRow.status, func.count()).group_by(InboxRow.status))
            found = {status: int(n) for status, n in rows}
        return {status: found.get(status, 0) for status in INBOX_STATUSES}

    async def get(self, entry_id: int) -> InboxEntry | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(InboxRow, entry_id)
            return None if row is None else _entry(row)

    async def find(self, source: str, event_id: str) -> InboxEntry | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.scalar(
                select(InboxRow).where(InboxRow.source == source, InboxRow.event_id == event_id)
            )
            return None if row is None else _entry(row)

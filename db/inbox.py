"""Durable intake: every accepted webhook is stored here before anything else happens.

``add`` is idempotent on (source, event_id) through INSERT ... ON CONFLICT DO NOTHING, so a
provider's duplicate delivery is recognised and starts nothing new.

Hand-over to Temporal is claimed: ``claim`` marks up to N entries with the relay's name
and a lease (``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``:
on PostgreSQL concurrent relays skip each other's rows, on SQLite the write lock
serialises them), so two relays never hold the same entry; a crashed relay's lease
expires and the entry is claimed again.

A signed event that fails validation is kept as a ``quarantined`` entry (raw body, the
problem, the field): see db/quarantine.py.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import INBOX_STATUSES, InboxRow
from db.session import dialect_insert, read_session
from db.types import utcnow

DELIVERABLE = ("pending", "failed")


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
    claimed_by: str | None = None
    claimed_until: datetime | None = None


def entry(row: InboxRow) -> InboxEntry:
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
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
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
        """Store the event; returns (id, is_new). A duplicate returns the first id, False.
        An event waiting in quarantine under the same id (the channel sent it again,
        valid this time) becomes this pending entry: new, resolution "redelivered"."""
        now = at or utcnow()
        async with self._sessionmaker() as s:
            inserted = await s.scalar(
                dialect_insert(s, InboxRow)
                .values(
                    source=source,
                    event_id=event_id,
                    workflow_id=workflow_id,
                    kind=kind,
                    payload=payload,
                    received_at=now,
                    status="pending",
                    attempts=0,
                )
                .on_conflict_do_nothing(index_elements=["source", "event_id"])
                .returning(InboxRow.id)
            )
            if inserted is not None:
                await s.commit()
                return int(inserted), True
            existing = (
                await s.execute(
                    select(InboxRow.id, InboxRow.status).where(
                        InboxRow.source == source, InboxRow.event_id == event_id
                    )
                )
            ).one_or_none()
            if existing is not None and existing.status == "quarantined":
                redelivered = await s.scalar(
                    update(InboxRow)
                    .where(InboxRow.id == existing.id, InboxRow.status == "quarantined")
                    .values(
                        workflow_id=workflow_id,
                        kind=kind,
                        payload=payload,
                        status="pending",
                        deliveries=InboxRow.deliveries + 1,
                        resolution="redelivered",
                        resolved_by=f"channel:{source}",
                        resolved_at=now,
                    )
                    .returning(InboxRow.id),
                    execution_options={"synchronize_session": False},
                )
                await s.commit()
                return int(existing.id), redelivered is not None
            await s.commit()
        if existing is None:  # pragma: no cover - the conflicting row vanished
            raise RuntimeError(f"inbox {source}/{event_id} conflicted but cannot be found")
        return int(existing.id), False

    async def claim(
        self, owner: str, *, limit: int = 100, lease_s: float = 60, now: datetime | None = None
    ) -> builtins.list[InboxEntry]:
        """Claim up to ``limit`` entries to hand over (pending, or failed and due again),
        oldest first, for ``lease_s`` seconds. No other claim gets them meanwhile."""
        now = now or utcnow()
        due = (
            select(InboxRow.id)
            .where(
                InboxRow.status.in_(DELIVERABLE),
                (InboxRow.claimed_until.is_(None)) | (InboxRow.claimed_until <= now),
            )
            .order_by(InboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._sessionmaker() as s:
            rows = await s.scalars(
                update(InboxRow)
                .where(InboxRow.id.in_(due.scalar_subquery()))
                .values(claimed_by=owner, claimed_until=now + timedelta(seconds=lease_s))
                .returning(InboxRow),
                execution_options={"synchronize_session": False},
            )
            claimed = sorted((entry(r) for r in rows), key=lambda e: e.id)
            await s.commit()
        return claimed

    async def mark_started(self, *entry_ids: int, at: datetime | None = None) -> None:
        """Idempotent: the first start time is kept; the claim is dropped."""
        if not entry_ids:
            return
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id.in_(entry_ids), InboxRow.status != "started")
                .values(
                    status="started",
                    started_at=at or utcnow(),
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                ),
                execution_options={"synchronize_session": False},
            )
            await s.commit()

    async def mark_failed(
        self,
        entry_ids: Collection[int],
        error: str,
        *,
        retry_at: datetime | None = None,
        owner: str | None = None,
    ) -> None:
        """Record a failed attempt (attempts += 1); the entries stay deliverable from
        ``retry_at`` on (now when omitted). With ``owner``, only its own claims change."""
        await self._release(entry_ids, owner, retry_at, error=error[:2000])

    async def release(self, entry_ids: Collection[int], *, owner: str | None = None) -> None:
        """Give claimed entries back untouched (not attempted): claimable at once."""
        await self._release(entry_ids, owner, None, error=None)

    async def _release(
        self,
        entry_ids: Collection[int],
        owner: str | None,
        retry_at: datetime | None,
        *,
        error: str | None,
    ) -> None:
        if not entry_ids:
            return
        values: dict[str, Any] = {"claimed_by": None, "claimed_until": retry_at}
        if error is not None:
            values.update(status="failed", attempts=InboxRow.attempts + 1, last_error=error)
        conditions: list[ColumnElement[bool]] = [
            InboxRow.id.in_(entry_ids),
            InboxRow.status.in_(DELIVERABLE),
        ]
        if owner is not None:
            conditions.append(InboxRow.claimed_by == owner)
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow).where(*conditions).values(**values),
                execution_options={"synchronize_session": False},
            )
            await s.commit()

    async def mark_ignored(self, entry_id: int, reason: str) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status != "started")
                .values(
                    status="ignored", last_error=reason[:2000], claimed_by=None, claimed_until=None
                )
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
            return None if row is None else entry(row)

    async def find(self, source: str, event_id: str) -> InboxEntry | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.scalar(
                select(InboxRow).where(InboxRow.source == source, InboxRow.event_id == event_id)
            )
            return None if row is None else entry(row)

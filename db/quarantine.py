"""The quarantine: signed webhooks that did not validate, kept as inbox rows with status
``quarantined`` (the raw body as received, the problem, the field) until ops fix them
(a corrected body) or re-drive them (parse the stored body again); either way the row
becomes a normal pending inbox entry, which the relay hands to its workflow.

Keyed like every inbox entry by (source, event id), so a channel repeating a broken
event is stored once (``deliveries`` counts the repeats); when the channel later sends
it valid, ``InboxRepository.add`` turns the row into that entry.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import InboxRow
from db.session import dialect_insert, read_session
from db.types import utcnow
from domain.errors import DomainError

QUARANTINED = "quarantined"
PROBLEM_MAX = 2000


class AlreadyResolved(DomainError):
    """The quarantined entry was fixed, re-driven or redelivered already."""


class QuarantineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    source: str
    event_id: str
    received_at: datetime
    deliveries: int
    problem: str
    field: str
    body: str  # the raw body as text (undecodable bytes shown as U+FFFD)
    body_bytes: int
    status: str  # quarantined while open; the entry's status once resolved
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    workflow_id: str | None


class Kept(BaseModel):
    """What storing a quarantined event did: a new row, or a repeat of an existing one."""

    id: int
    is_new: bool
    status: str


class Resolved(BaseModel):
    inbox_id: int
    status: str  # pending (handed over next) | ignored (nothing to do) | duplicate
    workflow_id: str = ""
    detail: str = ""


def _view(row: InboxRow) -> QuarantineEntry:
    raw = row.raw_body or b""
    return QuarantineEntry(
        id=row.id,
        source=row.source,
        event_id=row.event_id,
        received_at=row.received_at,
        deliveries=row.deliveries,
        problem=row.problem or "",
        field=row.problem_field or "",
        body=raw.decode("utf-8", errors="replace"),
        body_bytes=len(raw),
        status=row.status,
        resolution=row.resolution,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        workflow_id=row.workflow_id or None,
    )


class QuarantineRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def keep(
        self,
        source: str,
        event_id: str,
        raw_body: bytes,
        problem: str,
        field: str,
        *,
        at: datetime | None = None,
    ) -> Kept:
        """Store a signed event that did not validate. A repeat (same source and event
        id) stores nothing new and counts one more delivery."""
        async with self._sessionmaker() as s:
            insert = dialect_insert(s, InboxRow).values(
                source=source,
                event_id=event_id,
                workflow_id="",
                kind="",
                payload={},
                received_at=at or utcnow(),
                status=QUARANTINED,
                attempts=0,
                raw_body=raw_body,
                problem=problem[:PROBLEM_MAX],
                problem_field=field[:200],
                deliveries=1,
            )
            inserted = await s.scalar(
                insert.on_conflict_do_nothing(index_elements=["source", "event_id"]).returning(
                    InboxRow.id
                )
            )
            if inserted is not None:
                await s.commit()
                return Kept(id=int(inserted), is_new=True, status=QUARANTINED)
            row = (
                await s.execute(
                    update(InboxRow)
                    .where(InboxRow.source == source, InboxRow.event_id == event_id)
                    .values(deliveries=InboxRow.deliveries + 1)
                    .returning(InboxRow.id, InboxRow.status),
                    execution_options={"synchronize_session": False},
                )
            ).one()
            await s.commit()
        return Kept(id=int(row.id), is_new=False, status=row.status)

    async def list(
        self, *, include_resolved: bool = False, limit: int = 100, offset: int = 0
    ) -> builtins.list[QuarantineEntry]:
        """Open entries (or every entry that was ever quarantined), newest first."""
        stmt = select(InboxRow).order_by(InboxRow.id.desc()).limit(limit).offset(offset)
        if include_resolved:
            stmt = stmt.where((InboxRow.status == QUARANTINED) | InboxRow.resolution.is_not(None))
        else:
            stmt = stmt.where(InboxRow.status == QUARANTINED)
        async with read_session(self._sessionmaker) as s:
            return [_view(r) for r in await s.scalars(stmt)]

    async def get(self, entry_id: int) -> QuarantineEntry | None:
        """A quarantined entry, open or resolved; None for any other inbox entry."""
        async with read_session(self._sessionmaker) as s:
            row = await s.get(InboxRow, entry_id)
            if row is None or (row.status != QUARANTINED and row.resolution is None):
                return None
            return _view(row)

    async def raw_body(self, entry_id: int) -> bytes | None:
        async with read_session(self._sessionmaker) as s:
            body: bytes | None = await s.scalar(
                select(InboxRow.raw_body).where(
                    InboxRow.id == entry_id, InboxRow.status == QUARANTINED
                )
            )
            return body

    async def note_problem(self, entry_id: int, problem: str, field: str) -> None:
        """Record what a re-drive found wrong this time (the parser may have changed)."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status == QUARANTINED)
                .values(problem=problem[:PROBLEM_MAX], problem_field=field[:200])
            )
            await s.commit()

    async def resolve(
        self,
        entry_id: int,
        *,
        resolution: str,
        by: str,
        event_id: str,
        workflow_id: str,
        kind: str,
        payload: dict[str, Any],
        at: datetime | None = None,
    ) -> Resolved:
        """Turn the quarantined entry into a pending inbox entry carrying the parsed event.
        When the event's id is already in the inbox under another entry (the corrected
        body names another event, or it arrived valid meanwhile), the quarantined row is
        closed as ignored and the existing entry's id returned as a duplicate."""
        now = at or utcnow()
        async with self._sessionmaker() as s:
            row = await s.get(InboxRow, entry_id)
            if row is None or row.status != QUARANTINED:
                raise self._not_open(entry_id, row)
            closing = {"resolution": resolution, "resolved_by": by[:60], "resolved_at": now}
            if event_id != row.event_id:
                other = await s.scalar(
                    select(InboxRow.id).where(
                        InboxRow.source == row.source, InboxRow.event_id == event_id
                    )
                )
                if other is not None:
                    row.status, row.last_error = "ignored", f"duplicate of inbox entry {other}"
                    for name, value in closing.items():
                        setattr(row, name, value)
                    await s.commit()
                    return Resolved(
                        inbox_id=int(other),
                        status="duplicate",
                        workflow_id=workflow_id,
                        detail=f"event {event_id} is already inbox entry {other}",
                    )
            row.event_id, row.workflow_id, row.kind, row.payload = (
                event_id,
                workflow_id,
                kind,
                payload,
            )
            row.status, row.attempts, row.claimed_by, row.claimed_until = "pending", 0, None, None
            for name, value in closing.items():
                setattr(row, name, value)
            await s.commit()
        return Resolved(inbox_id=entry_id, status="pending", workflow_id=workflow_id)

    async def close_ignored(self, entry_id: int, *, resolution: str, by: str, reason: str) -> None:
        """The corrected or re-parsed event is one this system does not act on."""
        async with self._sessionmaker() as s:
            done = await s.scalar(
                update(InboxRow)
                .where(InboxRow.id == entry_id, InboxRow.status == QUARANTINED)
                .values(
                    status="ignored",
                    last_error=reason[:PROBLEM_MAX],
                    resolution=resolution,
                    resolved_by=by[:60],
                    resolved_at=utcnow(),
                )
                .returning(InboxRow.id)
            )
            if done is None:
                row = await s.get(InboxRow, entry_id)
                raise self._not_open(entry_id, row)
            await s.commit()

    @staticmethod
    def _not_open(entry_id: int, row: InboxRow | None) -> DomainError:
        if row is None or row.resolution is None and row.status != QUARANTINED:
            return AlreadyResolved(
                f"inbox entry {entry_id} is not in quarantine", code="not_quarantined"
            )
        return AlreadyResolved(
            f"quarantined entry {entry_id} was already {row.resolution} by {row.resolved_by} "
            f"at {row.resolved_at:%Y-%m-%d %H:%M:%S} UTC; it is now {row.status}",
            code="already_resolved",
        )

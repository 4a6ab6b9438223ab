"""Audit log: who did what to which order (ops decisions, key management, manual data)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditRow
from db.session import dialect_insert, read_session
from db.types import utcnow


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor: str
    action: str
    order_id: str | None
    details: dict[str, Any] | None


class AuditLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(
        self,
        actor: str,
        action: str,
        order_id: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
        *,
        key: str | None = None,
    ) -> int:
        """Append an entry; returns its id. With ``key`` (an idempotency key, e.g. from an
        activity) a repeat returns the first entry's id and appends nothing."""
        async with self._sessionmaker() as s:
            entry_id = await s.scalar(
                dialect_insert(s, AuditRow)
                .values(
                    at=at or utcnow(),
                    actor=actor,
                    action=action,
                    order_id=order_id,
                    details=details,
                    key=key,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(AuditRow.id)
            )
            if entry_id is None:
                entry_id = await s.scalar(select(AuditRow.id).where(AuditRow.key == key))
            await s.commit()
        assert entry_id is not None
        return int(entry_id)

    async def list(
        self, order_id: str | None = None, limit: int = 100
    ) -> builtins.list[AuditEntry]:
        """Newest first."""
        stmt = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        if order_id is not None:
            stmt = stmt.where(AuditRow.order_id == order_id)
        async with read_session(self._sessionmaker) as s:
            return [
                AuditEntry(
                    id=r.id,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    order_id=r.order_id,
                    details=r.details,
                )
                for r in await s.scalars(stmt)
            ]

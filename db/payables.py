"""Payables: what we owe suppliers, by due date (idempotent by the bill's reference)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import PayableRow
from db.session import dialect_insert, read_session
from domain.money import cents


class PayableView(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    reference: str
    supplier: str
    description: str
    due_on: date
    amount: Decimal
    paid_on: date | None
    created_by: str


class PayableRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def add(
        self,
        reference: str,
        supplier: str,
        due_on: date,
        amount: Decimal,
        actor: str,
        description: str = "",
        now: datetime | None = None,
    ) -> PayableView:
        """Record a bill once: the same reference again returns the first one."""
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, PayableRow)
                .values(
                    reference=reference, supplier=supplier, description=description,
                    due_on=due_on, amount=cents(amount), created_by=actor,
                    created_at=now or datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["reference"])
            )  # fmt: skip
            row = await s.scalar(select(PayableRow).where(PayableRow.reference == reference))
            assert row is not None
            view = PayableView.model_validate(row)
            await s.commit()
        return view

    async def mark_paid(self, reference: str, paid_on: date) -> PayableView | None:
        async with self._sessionmaker() as s:
            await s.execute(
                update(PayableRow)
                .where(PayableRow.reference == reference, PayableRow.paid_on.is_(None))
                .values(paid_on=paid_on)
            )
            row = await s.scalar(select(PayableRow).where(PayableRow.reference == reference))
            view = None if row is None else PayableView.model_validate(row)
            await s.commit()
        return view

    async def list(self, *, open_only: bool = False, limit: int = 500) -> list[PayableView]:
        query = select(PayableRow).order_by(PayableRow.due_on, PayableRow.reference)
        if open_only:
            query = query.where(PayableRow.paid_on.is_(None))
        async with read_session(self._sessionmaker) as s:
            return [PayableView.model_validate(r) for r in await s.scalars(query.limit(limit))]

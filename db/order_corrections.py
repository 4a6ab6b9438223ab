"""The customer's data corrected by ops (db side of domain/customer_fix.py): each
correction with what it replaced, who and when; a corrected CPF also moves the order's
searchable CPF, so the order is found by the CPF it now carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import OrderCorrectionRow, OrderRow
from db.session import dialect_insert, read_session


@dataclass(frozen=True, slots=True)
class CorrectionView:
    order_id: str
    kind: str  # address | cpf
    original: dict[str, Any]
    corrected: dict[str, Any]
    step: str
    error_type: str
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NewCorrection:
    kind: str
    original: dict[str, Any]
    corrected: dict[str, Any]


class OrderCorrectionRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(
        self,
        order_id: str,
        corrections: list[NewCorrection],
        *,
        step: str,
        error_type: str,
        actor: str,
        reason: str,
        at: datetime,
        key: str | None = None,
    ) -> None:
        """Keep each correction (a resent form, same `key`, keeps nothing twice)."""
        async with self._sessionmaker() as s:
            for c in corrections:
                await s.execute(
                    dialect_insert(s, OrderCorrectionRow)
                    .values(
                        order_id=order_id, kind=c.kind, original=c.original,
                        corrected=c.corrected, step=step, error_type=error_type, actor=actor,
                        reason=reason, at=at, key=f"{key}:{c.kind}" if key else None,
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                )  # fmt: skip
                if c.kind == "cpf":
                    await s.execute(
                        update(OrderRow)
                        .where(OrderRow.order_id == order_id)
                        .values(customer_cpf=str(c.corrected["cpf"]))
                    )
            await s.commit()

    async def of_order(self, order_id: str) -> list[CorrectionView]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(OrderCorrectionRow)
                .where(OrderCorrectionRow.order_id == order_id)
                .order_by(OrderCorrectionRow.id)
            )
            return [
                CorrectionView(
                    r.order_id, r.kind, dict(r.original), dict(r.corrected), r.step,
                    r.error_type, r.actor, r.reason, r.at,
                )
                for r in rows
            ]  # fmt: skip

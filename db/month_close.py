"""A month's close, read from the reconciliation runs and lines and the anticipations:
every figure summed by the database (domain/month_close.py holds the rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AnticipationRow, ReconciliationRun
from db.reconciliation import ReconciliationRepository
from db.session import read_session
from domain.money import cents
from domain.month_close import (
    AdvanceTotals,
    ClassTotal,
    MonthClose,
    NightStatus,
    month_bounds,
    nights_not_reconciled,
)
from domain.reconciliation import ReconKind


class MonthCloseRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._results = ReconciliationRepository(sessionmaker)

    async def summary(self, month: str, today: date) -> MonthClose:
        start, end = month_bounds(month)
        run = ReconciliationRun
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(run.kind, run.day, run.status, run.lines, run.alerts)
                .where(run.day.between(start, end))
                .order_by(run.day, run.kind)
            )
            nights = [
                NightStatus(kind=ReconKind(k), day=d, status=st, lines=n, alerts=a)
                for k, d, st, n, a in rows
            ]
            advance = AnticipationRow
            count, gross, net = (
                await s.execute(
                    select(func.count(), func.sum(advance.gross), func.sum(advance.net)).where(
                        advance.taken_on.between(start, end)
                    )
                )
            ).one()
        classes = [
            ClassTotal(
                kind=ReconKind(k),
                cls=c,
                lines=n,
                amount=_money(a),
                expected=None if e is None else _money(e),
            )  # fmt: skip
            for k, c, n, a, e in await self._results.class_totals(start, end)
        ]
        done = {kind: {n.day for n in nights if n.kind is kind and n.status == "done"}
                for kind in ReconKind}  # fmt: skip
        return MonthClose(
            month=f"{start:%Y-%m}", start=start, end=end, nights=nights,
            not_reconciled={k: nights_not_reconciled(start, end, today, done[k]) for k in done},
            classes=classes,
            advances=AdvanceTotals(count=int(count), gross=_money(gross), net=_money(net)),
        )  # fmt: skip


def _money(value: Any) -> Decimal:
    return cents(Decimal(str(value))) if value is not None else Decimal("0.00")

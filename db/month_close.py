"""A month's close, read from the reconciliation runs and the anticipations. Each done
night's class totals are summed in SQL once and kept on its run row (`totals`), so a
month of million-line nights is read from about sixty rows; a running night is summed
afresh each time (domain/month_close.py holds the rules)."""

from __future__ import annotations

from collections import defaultdict
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
        """`month` as YYYY-MM, or "" for the month of `today` (MonthInvalid otherwise)."""
        start, end = month_bounds(month or f"{today:%Y-%m}")
        run = ReconciliationRun
        async with read_session(self._sessionmaker) as s:
            runs = (
                await s.execute(
                    select(
                        run.kind,
                        run.day,
                        run.status,
                        run.lines,
                        run.alerts,
                        run.started_at,
                        run.totals,
                    )
                    .where(run.day.between(start, end))
                    .order_by(run.day, run.kind)
                )  # fmt: skip
            ).all()
            advance = AnticipationRow
            count, gross, net = (
                await s.execute(
                    select(func.count(), func.sum(advance.gross), func.sum(advance.net)).where(
                        advance.taken_on.between(start, end)
                    )
                )
            ).one()
        lines: dict[tuple[str, str], int] = defaultdict(int)
        moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        due: dict[tuple[str, str], Decimal] = {}  # only classes with an expected amount
        for kind, day, status, _, _, started_at, kept in runs:
            totals = kept
            if totals is None:
                totals = await self._results.night_totals(kind, day)
                if status == "done":
                    await self._results.keep_totals(kind, day, started_at, totals)
            for cls, figures in totals.items():
                key = (kind, cls)
                lines[key] += int(figures["lines"])
                moved[key] += Decimal(figures["amount"] or "0")
                if figures["expected"] is not None:
                    due[key] = due.get(key, Decimal(0)) + Decimal(figures["expected"])
        nights = [
            NightStatus(kind=ReconKind(k), day=d, status=st, lines=n, alerts=a)
            for k, d, st, n, a, _, _ in runs
        ]
        done = {kind: {n.day for n in nights if n.kind is kind and n.status == "done"}
                for kind in ReconKind}  # fmt: skip
        return MonthClose(
            month=f"{start:%Y-%m}", start=start, end=end, nights=nights,
            not_reconciled={k: nights_not_reconciled(start, end, today, done[k]) for k in done},
            classes=[
                ClassTotal(kind=ReconKind(k), cls=c, lines=lines[k, c], amount=moved[k, c],
                           expected=due.get((k, c)))
                for k, c in sorted(lines)
            ],
            advances=AdvanceTotals(count=int(count), gross=_money(gross), net=_money(net)),
        )  # fmt: skip


def _money(value: Any) -> Decimal:
    return cents(Decimal(str(value))) if value is not None else Decimal("0.00")

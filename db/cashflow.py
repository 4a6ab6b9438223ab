"""The moves of the cash-flow projection and the cash position, gathered in SQL; laid
out day by day by domain/cashflow.py.

- Position: the opening balance (settings) plus every bank statement line reconciled
  since (the bank's own word for what happened), nights before the first day.
- In: open receivables not anticipated, on their expected release (what the channel still
  owes: net − refunded − charged back); anticipations taken from the first day on.
  Overdue: receivables the marketplace reconciliation found missing and that no later
  night paid (within the matching window).
- Out: supplier bills not paid, on their due date (overdue ones too)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AnticipationRow, PayableRow, ReceivableRow, ReconciliationLine
from db.receivables import charged_back_of
from db.session import read_session
from domain.cashflow import CashMove, MoveKind

OVERDUE = text(
    """
    WITH recent AS (
        SELECT key, class, description FROM reconciliation_lines
        WHERE kind = 'marketplace' AND day >= :low AND day < :start
    ),
    missing AS (SELECT DISTINCT key FROM recent WHERE class = 'missing_payout'),
    came AS (
        SELECT DISTINCT key FROM recent
        WHERE description = 'payment'
          AND class IN ('matched', 'fee_divergence', 'amount_divergence')
    )
    SELECT r.key, r.expected_release, r.net - r.refunded - coalesce(
        (SELECT sum(a.amount) FROM receivable_adjustments a
         WHERE a.kind = 'chargeback' AND a.key = r.key), 0)
    FROM receivables r JOIN missing m ON m.key = r.key
    WHERE r.anticipation_id IS NULL AND r.expected_release < :start
      AND r.key NOT IN (SELECT key FROM came)
    """
)


class CashRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def position(self, start: date, opening: Decimal, opening_on: date | None) -> Decimal:
        """Cash at the start of `start`: the opening balance plus the bank's lines since."""
        where = [
            ReconciliationLine.kind == "bank",
            ReconciliationLine.day < start,
            ReconciliationLine.amount.is_not(None),
            ReconciliationLine.cls != "unmatched_expected",
        ]
        if opening_on is not None:
            where.append(ReconciliationLine.day >= opening_on)
        async with read_session(self._sessionmaker) as s:
            moved = await s.scalar(
                select(func.coalesce(func.sum(ReconciliationLine.amount), 0)).where(and_(*where))
            )
        return opening + Decimal(str(moved or 0))

    async def moves(self, start: date, end: date, window_days: int) -> list[CashMove]:
        """Everything expected to come in or go out up to `end` (overdue ones included)."""
        async with read_session(self._sessionmaker) as s:
            owed = ReceivableRow.net - ReceivableRow.refunded - charged_back_of(ReceivableRow.key)
            receivables = await s.execute(
                select(ReceivableRow.key, ReceivableRow.expected_release, owed).where(
                    ReceivableRow.expected_release.between(start, end),
                    ReceivableRow.anticipation_id.is_(None),
                    owed > 0,
                )
            )
            overdue = await s.execute(
                OVERDUE, {"low": start - timedelta(days=window_days), "start": start}
            )
            advances = await s.execute(
                select(AnticipationRow.reference, AnticipationRow.taken_on, AnticipationRow.net)
                .where(AnticipationRow.taken_on.between(start, end))
            )  # fmt: skip
            bills = await s.execute(
                select(PayableRow.reference, PayableRow.due_on, PayableRow.amount).where(
                    PayableRow.paid_on.is_(None), PayableRow.due_on <= end
                )
            )
            return [
                *_moves(MoveKind.RECEIVABLE, receivables, 1),
                *(m for m in _moves(MoveKind.RECEIVABLE, overdue, 1) if m.amount > 0),
                *_moves(MoveKind.ANTICIPATION, advances, 1),
                *_moves(MoveKind.PAYABLE, bills, -1),
            ]


def _moves(kind: MoveKind, rows: Iterable[Any], sign: int) -> list[CashMove]:
    out = []
    for reference, on, amount in rows:
        day = on if isinstance(on, date) else date.fromisoformat(str(on))
        out.append(CashMove(on=day, kind=kind, amount=sign * Decimal(str(amount)),
                            reference=str(reference)))  # fmt: skip
    return out

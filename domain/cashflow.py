"""Cash flow: the cash position today and a day-by-day projection of what comes in
(receivables, anticipations) and goes out (payables).

Pure: the repository gathers the moves (db/cashflow.py) and these rules lay them out. A
move dated before the first day is overdue: still expected (or still owed), shown apart
and counted on the first day, since money late is money a person must chase today."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from domain.money import Money
from domain.orders import Frozen

ZERO = Decimal("0.00")


class MoveKind(StrEnum):
    RECEIVABLE = "receivable"  # a channel's payout of an order, on its expected release
    ANTICIPATION = "anticipation"  # an advance of receivables, on the day it is taken
    PAYABLE = "payable"  # a supplier's bill, on its due date


class CashMove(Frozen):
    on: date
    kind: MoveKind
    amount: Money = Field(description="in > 0, out < 0")
    reference: str = ""


class CashDay(Frozen):
    day: date
    inflow: Money
    outflow: Money  # a positive amount: what leaves
    net: Money
    closing: Money
    moves: int


class CashFlow(Frozen):
    position: Money  # the cash on the first day, before its moves
    start: date
    days: tuple[CashDay, ...]
    overdue_in: Money = ZERO  # expected before the first day, not come
    overdue_out: Money = ZERO  # owed before the first day, not paid (positive)
    beyond: int = 0  # moves after the horizon, left out

    @property
    def closing(self) -> Decimal:
        return self.days[-1].closing if self.days else self.position

    @property
    def lowest(self) -> CashDay | None:
        """The day the cash is lowest: where a shortfall would show first."""
        return min(self.days, key=lambda d: (d.closing, d.day), default=None)


def project(
    position: Decimal, start: date, horizon_days: int, moves: Iterable[CashMove]
) -> CashFlow:
    """The projection over `horizon_days` days from `start` (≥ 1 day)."""
    if horizon_days < 1:
        raise ValueError("the horizon is at least one day")
    end = start + timedelta(days=horizon_days - 1)
    inflow = {start + timedelta(days=i): ZERO for i in range(horizon_days)}
    outflow = dict(inflow)
    counts = dict.fromkeys(inflow, 0)
    overdue_in = overdue_out = ZERO
    beyond = 0
    for move in moves:
        if move.on > end:
            beyond += 1
            continue
        day = max(move.on, start)
        if move.on < start:
            if move.amount >= 0:
                overdue_in += move.amount
            else:
                overdue_out -= move.amount
        if move.amount >= 0:
            inflow[day] += move.amount
        else:
            outflow[day] -= move.amount
        counts[day] += 1
    balance = position
    days = []
    for day in sorted(inflow):
        net = inflow[day] - outflow[day]
        balance += net
        days.append(
            CashDay(
                day=day,
                inflow=inflow[day],
                outflow=outflow[day],
                net=net,
                closing=balance,
                moves=counts[day],
            )  # fmt: skip
        )
    return CashFlow(
        position=position, start=start, days=tuple(days), overdue_in=overdue_in,
        overdue_out=overdue_out, beyond=beyond,
    )  # fmt: skip

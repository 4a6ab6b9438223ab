"""Closing a month's books: which nights of the month were reconciled and which were
not, what each class of line adds up to, and the advances taken. Pure rules here; the
sums are SQL (db/month_close.py)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal

from pydantic import computed_field

from domain.money import Money
from domain.orders import Frozen
from domain.reconciliation import ReconKind

MONTH = re.compile(r"(\d{4})-(\d{2})")


class MonthInvalid(ValueError):
    """A month that is not YYYY-MM."""


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of `month` (YYYY-MM)."""
    found = MONTH.fullmatch(month.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise MonthInvalid(f"month must be YYYY-MM, e.g. 2026-11, not {month[:20]!r}")
    year, number = int(found.group(1)), int(found.group(2))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def nights_not_reconciled(start: date, end: date, today: date, done: set[date]) -> list[date]:
    """The nights of [start, end] that have ended (before `today`) with no finished run."""
    last = min(end, today - timedelta(days=1))
    days = (last - start).days + 1
    return [d for d in (start + timedelta(days=i) for i in range(max(0, days))) if d not in done]


class ClassTotal(Frozen):
    """One class of line over the month: how many, the money the lines moved, and what
    was expected of the class: the lines that each stand for one expected amount (a
    payment and its receivable, a missing payout, a bank amount that never came). None
    where no line does: refunds alone, chargebacks, unexpected money and bank lines
    matched in groups expect nothing of their own."""

    kind: ReconKind
    cls: str
    lines: int
    amount: Money
    expected: Money | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def difference(self) -> Decimal | None:
        """What the class moved less what was expected of it (negative: money short)."""
        return None if self.expected is None else self.amount - self.expected


class AdvanceTotals(Frozen):
    """The anticipations taken in the month: what they covered, what came, what it cost."""

    count: int = 0
    gross: Money = Decimal("0.00")
    net: Money = Decimal("0.00")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost(self) -> Decimal:
        return self.gross - self.net


class NightStatus(Frozen):
    kind: ReconKind
    day: date
    status: str
    lines: int
    alerts: int


class MonthClose(Frozen):
    month: str
    start: date
    end: date
    nights: list[NightStatus]
    not_reconciled: dict[ReconKind, list[date]]
    classes: list[ClassTotal]
    advances: AdvanceTotals

    @computed_field  # type: ignore[prop-decorator]
    @property
    def alerts(self) -> int:
        return sum(n.alerts for n in self.nights)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def closed(self) -> bool:
        """Every ended night reconciled, none still running, no line waiting for a person."""
        running = any(n.status != "done" for n in self.nights)
        return not running and not any(self.not_reconciled.values()) and self.alerts == 0

"""The finance books the API reads beside the reconciliations: payables, the cash flow
and the contribution margin (one holder, built by `create_app`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import FinanceSettings
from db.cashflow import CashRepository
from db.margins import MarginRepository, TaxReader
from db.payables import PayableRepository
from domain.cashflow import CashFlow, project
from integrations.fiscal.nfe_read import item_taxes


@dataclass
class Books:
    payables: PayableRepository
    cash: CashRepository
    margins: MarginRepository
    finance: FinanceSettings
    read_taxes: TaxReader = item_taxes

    @classmethod
    def build(
        cls, sessionmaker: async_sessionmaker[AsyncSession], finance: FinanceSettings
    ) -> Books:
        return cls(
            PayableRepository(sessionmaker),
            CashRepository(sessionmaker),
            MarginRepository(sessionmaker),
            finance,
        )

    async def cash_flow(self, start: date, days: int | None = None) -> CashFlow:
        """The cash position on `start` and the projection over `days` (the setting)."""
        f = self.finance
        horizon = days or f.horizon_days
        position = await self.cash.position(start, f.opening_balance, f.opening_on)
        end = start + timedelta(days=horizon - 1)
        moves = await self.cash.moves(start, end, f.window_days)
        return project(position, start, horizon, moves)

    async def refresh_margins(self) -> int:
        return await self.margins.refresh(self.read_taxes, self.finance.timezone)

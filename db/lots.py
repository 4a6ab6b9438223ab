"""Lots on hand (per SKU, lot and bin, with expiry) and the lots each order's pick takes.

A pick list's lots are chosen once, the first time it is shown (`pick_list`), first
expiry first among what other open picks do not already hold, and kept: a reload shows
the same lots. They are consumed with the stock when the order ships and given back when
its reservation is released (db/stock.py, in the same transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import PickAllocation, StockLot
from db.session import dialect_insert, read_session
from db.types import utcnow
from domain.lots import Lot, LotPick, allocate_fefo


class LotRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def on_hand(self, sku: str) -> list[Lot]:
        """The SKU's lots with units on hand (`available`: on hand, whatever picks hold)."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(StockLot).where(StockLot.sku == sku, StockLot.quantity > 0)
            )
            return sorted(
                (Lot(r.sku, r.lot, r.bin, r.expires_on, r.quantity) for r in rows),
                key=lambda x: (x.expires_on is None, x.expires_on or date.max, x.lot),
            )

    async def pick_list(
        self,
        order_id: str,
        items: Mapping[str, int],
        bins: Mapping[str, str],
        today: date,
        *,
        at: datetime | None = None,
    ) -> dict[str, tuple[LotPick, ...]]:
        """The lots the order's pick takes, per SKU: those chosen before, else chosen now
        (first expiry first, expired lots left out) and kept."""
        kept = await self._allocated(order_id)
        if kept or not items:
            return kept
        async with self._sessionmaker() as s:
            skus = sorted(items)
            lots = (
                await s.scalars(
                    select(StockLot)
                    .where(StockLot.sku.in_(skus), StockLot.quantity > 0)
                    .with_for_update()
                )
            ).all()
            held = {
                (r.sku, r.lot, r.bin): int(r.held)
                for r in await s.execute(
                    select(
                        PickAllocation.sku, PickAllocation.lot, PickAllocation.bin,
                        func.sum(PickAllocation.quantity).label("held"),
                    )
                    .where(PickAllocation.sku.in_(skus), PickAllocation.order_id != order_id)
                    .group_by(PickAllocation.sku, PickAllocation.lot, PickAllocation.bin)
                )
            }  # fmt: skip
            free = [
                Lot(x.sku, x.lot, x.bin, x.expires_on, x.quantity - held.get(_key(x), 0))
                for x in lots
            ]
            when = at or utcnow()
            for sku in skus:
                for pick in allocate_fefo(
                    sku, items[sku], free, today, fallback_bin=bins.get(sku, "")
                ):
                    await s.execute(
                        dialect_insert(s, PickAllocation)
                        .values(
                            order_id=order_id, sku=sku, lot=pick.lot, bin=pick.bin,
                            expires_on=pick.expires_on, quantity=pick.quantity, at=when,
                        )
                        .on_conflict_do_nothing(
                            index_elements=["order_id", "sku", "lot", "bin"]
                        )
                    )  # fmt: skip
            await s.commit()
        return await self._allocated(order_id)

    async def _allocated(self, order_id: str) -> dict[str, tuple[LotPick, ...]]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(PickAllocation).where(PickAllocation.order_id == order_id)
            )
            out: dict[str, list[LotPick]] = {}
            for r in rows:
                out.setdefault(r.sku, []).append(
                    LotPick(r.sku, r.lot, r.bin, r.expires_on, r.quantity)
                )
        return {
            sku: tuple(sorted(p, key=lambda x: (x.lot == "", x.expires_on or date.max, x.lot)))
            for sku, p in out.items()
        }


def _key(lot: StockLot) -> tuple[str, str, str]:
    return (lot.sku, lot.lot, lot.bin)

"""Stock reservations: atomic, idempotent per order, no oversell under concurrency.

The reservation statement, per SKU in sorted order, inside one transaction::

    UPDATE stock SET reserved = reserved + :q
    WHERE sku = :sku AND on_hand - reserved >= :q
    RETURNING on_hand, reserved

SQLite: the transaction began with BEGIN IMMEDIATE, so it holds the only write lock for
its whole duration. PostgreSQL: the UPDATE row-locks the stock row; a concurrent UPDATE
waits and then re-evaluates the WHERE clause against the committed row (READ COMMITTED),
so it sees the other reservation. Sorted SKU order means no two reservations wait on
each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import PickAllocation, Product, ReservationLine, Stock, StockLot, StockMovement
from db.session import read_session
from db.types import utcnow
from domain.errors import DomainError
from domain.incidents import RestockRequest
from domain.stock import ProductInfo, Reservation, ReserveRequest, Shortage
from domain.stock import available as available_of


@dataclass(frozen=True, slots=True)
class StockRow:
    sku: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return available_of(self.on_hand, self.reserved)


def product_info(row: Product) -> ProductInfo:
    return ProductInfo(
        sku=row.sku,
        name=row.name,
        ncm=row.ncm,
        weight_g=row.weight_g,
        height_cm=row.height_cm,
        width_cm=row.width_cm,
        length_cm=row.length_cm,
        origin=row.origin,
        gtin=row.gtin,
    )


class StockRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def reserve(self, req: ReserveRequest, *, at: datetime | None = None) -> Reservation:
        """All lines or none. Repeating it for an order that already holds reservations
        returns them (reserved=True) and changes nothing."""
        if any(q <= 0 for q in req.quantities.values()):
            raise DomainError(f"{req.order_id}: quantities must be positive")
        try:
            return await self._reserve(req, at or utcnow())
        except IntegrityError:
            # PostgreSQL only: the same order reserved concurrently and won; return its rows.
            return await self._reserve(req, at or utcnow())

    async def _reserve(self, req: ReserveRequest, at: datetime) -> Reservation:
        async with self._sessionmaker() as s:
            existing = await self._existing(s, req.order_id)
            if existing is not None:
                return existing
            after: dict[str, int] = {}
            failed: list[Shortage] = []
            for sku, qty in sorted(req.quantities.items()):
                if failed:  # already failing: only report, lock nothing more
                    avail = await _available(s, sku)
                    if avail < qty:
                        failed.append(Shortage(sku=sku, requested=qty, available=avail))
                    continue
                row = (
                    await s.execute(
                        update(Stock)
                        .where(Stock.sku == sku, Stock.on_hand - Stock.reserved >= qty)
                        .values(reserved=Stock.reserved + qty, updated_at=at)
                        .returning(Stock.on_hand, Stock.reserved)
                    )
                ).one_or_none()
                if row is None:
                    # Seen now; clamped because, on PostgreSQL, a release may commit between.
                    avail = min(await _available(s, sku), qty - 1)
                    failed.append(Shortage(sku=sku, requested=qty, available=avail))
                else:
                    after[sku] = available_of(row.on_hand, row.reserved)
            if failed:
                await s.rollback()
                return Reservation(order_id=req.order_id, reserved=False, shortages=tuple(failed))
            for sku, qty in sorted(req.quantities.items()):
                s.add(
                    ReservationLine(
                        order_id=req.order_id,
                        sku=sku,
                        quantity=qty,
                        status="reserved",
                        created_at=at,
                        updated_at=at,
                    )
                )
                s.add(_movement(sku, 0, qty, "reserve", req.order_id, at))
            await s.flush()
            products = await _products(s, sorted(req.quantities))
            await s.commit()
        return Reservation(
            order_id=req.order_id, reserved=True, products=products, available_after=after
        )

    async def _existing(self, s: AsyncSession, order_id: str) -> Reservation | None:
        skus = list(
            (
                await s.scalars(
                    select(ReservationLine.sku)
                    .where(ReservationLine.order_id == order_id)
                    .order_by(ReservationLine.sku)
                )
            ).all()
        )
        if not skus:
            return None
        rows = await s.execute(
            select(Stock.sku, Stock.on_hand, Stock.reserved).where(Stock.sku.in_(skus))
        )
        after = {r.sku: available_of(r.on_hand, r.reserved) for r in rows}
        return Reservation(
            order_id=order_id,
            reserved=True,
            products=await _products(s, skus),
            available_after=after,
        )

    async def release(self, order_id: str, *, at: datetime | None = None) -> list[str]:
        """Give back what the order still holds; returns the SKUs released (none when
        repeated, or when the order already shipped)."""
        return await self._settle(order_id, "released", at or utcnow())

    async def ship(self, order_id: str, *, at: datetime | None = None) -> list[str]:
        """Consume the order's reservations: on_hand and reserved both drop."""
        return await self._settle(order_id, "shipped", at or utcnow())

    async def _settle(self, order_id: str, status: str, at: datetime) -> list[str]:
        shipped = status == "shipped"
        async with self._sessionmaker() as s:
            lines = (
                await s.execute(
                    update(ReservationLine)
                    .where(
                        ReservationLine.order_id == order_id, ReservationLine.status == "reserved"
                    )
                    .values(status=status, updated_at=at)
                    .returning(ReservationLine.sku, ReservationLine.quantity)
                )
            ).all()
            for sku, qty in sorted((r.sku, r.quantity) for r in lines):
                values = {"reserved": Stock.reserved - qty, "updated_at": at}
                if shipped:
                    values["on_hand"] = Stock.on_hand - qty
                await s.execute(update(Stock).where(Stock.sku == sku).values(values))
                reason = "ship" if shipped else "release"
                s.add(_movement(sku, -qty if shipped else 0, -qty, reason, order_id, at))
            if lines:
                await _settle_lots(s, order_id, shipped=shipped)
            await s.commit()
        return sorted(r.sku for r in lines)

    async def restock(self, request: RestockRequest) -> list[str]:
        """A returned parcel's items back on hand (a `receipt` movement per SKU, keyed by
        the shipment's reference): repeating it adds nothing. Returns the SKUs restocked
        by this call."""
        done: list[str] = []
        async with self._sessionmaker() as s:
            for sku, qty in sorted(request.quantities.items()):
                key = f"return:{request.reference}:{sku}"
                if await s.scalar(select(StockMovement.id).where(StockMovement.key == key)):
                    continue
                await s.execute(
                    update(Stock)
                    .where(Stock.sku == sku)
                    .values(on_hand=Stock.on_hand + qty, updated_at=request.at)
                )
                movement = _movement(sku, qty, 0, "receipt", request.order_id, request.at)
                movement.key = key
                s.add(movement)
                done.append(sku)
            await s.commit()
        return done

    async def availability(self, skus: Iterable[str]) -> dict[str, int]:
        """Available (on_hand - reserved) per SKU; unknown SKUs have 0."""
        wanted = sorted(set(skus))
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(Stock.sku, Stock.on_hand, Stock.reserved).where(Stock.sku.in_(wanted))
            )
            found = {r.sku: available_of(r.on_hand, r.reserved) for r in rows}
        return {sku: found.get(sku, 0) for sku in wanted}

    async def reservations(self, order_id: str) -> dict[str, tuple[int, str]]:
        """SKU -> (quantity, status) for one order."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(ReservationLine.sku, ReservationLine.quantity, ReservationLine.status).where(
                    ReservationLine.order_id == order_id
                )
            )
            return {r.sku: (r.quantity, r.status) for r in rows}

    async def snapshot(self) -> list[StockRow]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(Stock.sku, Stock.on_hand, Stock.reserved).order_by(Stock.sku)
            )
            return [StockRow(r.sku, r.on_hand, r.reserved) for r in rows]

    async def movement_totals(self) -> dict[str, StockRow]:
        """The ledger summed per SKU; equals :meth:`snapshot` when stock is conserved."""
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(
                    StockMovement.sku,
                    func.sum(StockMovement.delta_on_hand),
                    func.sum(StockMovement.delta_reserved),
                )
                .group_by(StockMovement.sku)
                .order_by(StockMovement.sku)
            )
            return {sku: StockRow(sku, int(oh or 0), int(rs or 0)) for sku, oh, rs in rows}


def _movement(
    sku: str, d_on_hand: int, d_reserved: int, reason: str, order_id: str | None, at: datetime
) -> StockMovement:
    return StockMovement(
        sku=sku,
        delta_on_hand=d_on_hand,
        delta_reserved=d_reserved,
        reason=reason,
        order_id=order_id,
        at=at,
    )


async def _available(s: AsyncSession, sku: str) -> int:
    row = (
        await s.execute(select(Stock.on_hand, Stock.reserved).where(Stock.sku == sku))
    ).one_or_none()
    return 0 if row is None else available_of(row.on_hand, row.reserved)


async def _products(s: AsyncSession, skus: list[str]) -> tuple[ProductInfo, ...]:
    rows = await s.scalars(select(Product).where(Product.sku.in_(skus)).order_by(Product.sku))
    return tuple(product_info(r) for r in rows)


async def _settle_lots(s: AsyncSession, order_id: str, *, shipped: bool) -> None:
    """The lots the order's pick took leave with it (shipped) or go back (released)."""
    picks = (
        await s.scalars(select(PickAllocation).where(PickAllocation.order_id == order_id))
    ).all()
    if shipped:
        for p in picks:
            if p.lot:
                await s.execute(
                    update(StockLot)
                    .where(StockLot.sku == p.sku, StockLot.lot == p.lot, StockLot.bin == p.bin)
                    .values(
                        quantity=case(
                            (StockLot.quantity > p.quantity, StockLot.quantity - p.quantity),
                            else_=0,
                        )
                    )
                )
    await s.execute(delete(PickAllocation).where(PickAllocation.order_id == order_id))

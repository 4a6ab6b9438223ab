"""Products and stock on hand (receipts and adjustments; reservations live in db.stock)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Product, Stock, StockLot, StockMovement
from db.session import dialect_insert, read_session
from db.stock import StockRow, product_info
from db.types import utcnow
from domain.errors import DomainError
from domain.money import cents
from domain.stock import ProductInfo


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    name: str
    ncm: str
    price: Decimal
    cost: Decimal
    weight_g: int
    height_cm: int
    width_cm: int
    length_cm: int
    on_hand: int
    reserved: int
    origin: str = "0"
    gtin: str = ""
    supplier: str = ""
    bin: str = ""  # shelf location, e.g. A-03-2 (aisle, rack, level): the pick walk's order

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class CatalogueRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def upsert_product(
        self,
        sku: str,
        *,
        name: str,
        ncm: str,
        price: Decimal,
        cost: Decimal,
        weight_g: int,
        height_cm: int,
        width_cm: int,
        length_cm: int,
        origin: str = "0",
        gtin: str = "",
        supplier: str = "",
        bin: str = "",
        at: datetime | None = None,
    ) -> ProductView:
        """Create or update the product (stock untouched; a new product starts at 0)."""
        at = at or utcnow()
        fields = {
            "name": name,
            "ncm": ncm,
            "price": cents(price),
            "cost": cents(cost),
            "weight_g": weight_g,
            "height_cm": height_cm,
            "width_cm": width_cm,
            "length_cm": length_cm,
            "origin": origin,
            "gtin": gtin,
            "supplier": supplier,
            "bin": bin,
            "updated_at": at,
        }
        async with self._sessionmaker() as s:
            stmt = dialect_insert(s, Product).values(sku=sku, created_at=at, **fields)
            await s.execute(stmt.on_conflict_do_update(index_elements=["sku"], set_=fields))
            await s.execute(
                dialect_insert(s, Stock)
                .values(sku=sku, on_hand=0, reserved=0, updated_at=at)
                .on_conflict_do_nothing(index_elements=["sku"])
            )
            await s.commit()
        return (await self._views([sku]))[0]

    async def get_products(self, skus: Iterable[str]) -> dict[str, ProductInfo]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(select(Product).where(Product.sku.in_(sorted(set(skus)))))
            return {r.sku: product_info(r) for r in rows}

    async def get_views(self, skus: Iterable[str]) -> dict[str, ProductView]:
        return {v.sku: v for v in await self._views(sorted(set(skus)))}

    async def find_code(self, code: str) -> str | None:
        """The SKU a scanned code names: the SKU itself or its EAN/GTIN."""
        code = code.strip()
        if not code or len(code) > 60:
            return None
        async with read_session(self._sessionmaker) as s:
            return await s.scalar(
                select(Product.sku)
                .where((Product.sku == code) | ((Product.gtin == code) & (Product.gtin != "")))
                .limit(1)
            )

    async def get_product(self, sku: str) -> ProductView | None:
        views = await self._views([sku])
        return views[0] if views else None

    async def list_products(self) -> builtins.list[ProductView]:
        return await self._views(None)

    async def receive_stock(
        self,
        sku: str,
        quantity: int,
        reason: str = "receipt",
        *,
        key: str | None = None,
        at: datetime | None = None,
        lot: LotReceipt | None = None,
    ) -> StockRow:
        """Add ``quantity`` to on hand (and, with ``lot``, to that lot in its bin, in the
        same transaction). With ``key`` (e.g. a purchase receipt id) repeating the call
        changes nothing."""
        if quantity <= 0:
            raise DomainError(f"{sku}: received quantity must be positive")
        return await self._change(sku, lambda _row: quantity, reason, key, at or utcnow(), lot)

    async def set_on_hand(
        self,
        sku: str,
        on_hand: int,
        reason: str = "adjustment",
        *,
        key: str | None = None,
        at: datetime | None = None,
    ) -> StockRow:
        """Set on hand to a counted absolute value (idempotent by nature)."""
        if on_hand < 0:
            raise DomainError(f"{sku}: on hand cannot be negative")

        def delta(row: Stock) -> int:
            if on_hand < row.reserved:
                raise DomainError(
                    f"{sku}: cannot set on hand to {on_hand}, {row.reserved} are reserved"
                )
            return on_hand - row.on_hand

        return await self._change(sku, delta, reason, key, at or utcnow())

    async def _change(
        self,
        sku: str,
        delta_of: Callable[[Stock], int],
        reason: str,
        key: str | None,
        at: datetime,
        lot: LotReceipt | None = None,
    ) -> StockRow:
        if reason not in ("receipt", "adjustment"):
            raise DomainError(f"stock change reason must be receipt or adjustment, not {reason!r}")
        async with self._sessionmaker() as s:
            row = await s.scalar(select(Stock).where(Stock.sku == sku).with_for_update())
            if row is None:
                raise DomainError(f"unknown SKU {sku!r}", code="unknown_sku")
            done = key is not None and await s.scalar(
                select(StockMovement.id).where(StockMovement.key == key)
            )
            delta = 0 if done else delta_of(row)
            if delta:
                await s.execute(
                    update(Stock)
                    .where(Stock.sku == sku)
                    .values(on_hand=Stock.on_hand + delta, updated_at=at)
                )
                s.add(
                    StockMovement(
                        sku=sku,
                        delta_on_hand=delta,
                        delta_reserved=0,
                        reason=reason,
                        key=key,
                        at=at,
                    )
                )
            if delta > 0 and lot is not None:
                await _receive_lot(s, sku, lot, delta, at)
            fresh = (
                await s.execute(select(Stock.on_hand, Stock.reserved).where(Stock.sku == sku))
            ).one()
            await s.commit()
        return StockRow(sku, fresh.on_hand, fresh.reserved)

    async def _views(self, skus: builtins.list[str] | None) -> builtins.list[ProductView]:
        async with read_session(self._sessionmaker) as s:
            stmt = (
                select(Product, Stock.on_hand, Stock.reserved)
                .join(Stock, Stock.sku == Product.sku)
                .order_by(Product.sku)
            )
            if skus is not None:
                stmt = stmt.where(Product.sku.in_(skus))
            rows = await s.execute(stmt)
            return [
                ProductView(
                    sku=p.sku,
                    name=p.name,
                    ncm=p.ncm,
                    price=p.price,
                    cost=p.cost,
                    weight_g=p.weight_g,
                    height_cm=p.height_cm,
                    width_cm=p.width_cm,
                    length_cm=p.length_cm,
                    on_hand=on_hand,
                    reserved=reserved,
                    origin=p.origin,
                    gtin=p.gtin,
                    supplier=p.supplier,
                    bin=p.bin,
                )
                for p, on_hand, reserved in rows
            ]


@dataclass(frozen=True, slots=True)
class LotReceipt:
    """The lot a receipt arrived as: its code, expiry (None: does not expire), its bin."""

    lot: str
    expires_on: date | None
    bin: str = ""


async def _receive_lot(
    s: AsyncSession, sku: str, lot: LotReceipt, quantity: int, at: datetime
) -> None:
    await s.execute(
        dialect_insert(s, StockLot)
        .values(sku=sku, lot=lot.lot, bin=lot.bin, expires_on=lot.expires_on, quantity=0,
                received_at=at)
        .on_conflict_do_nothing(index_elements=["sku", "lot", "bin"])
    )  # fmt: skip
    await s.execute(
        update(StockLot)
        .where(StockLot.sku == sku, StockLot.lot == lot.lot, StockLot.bin == lot.bin)
        .values(quantity=StockLot.quantity + quantity)
    )

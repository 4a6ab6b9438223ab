"""Contribution margin per order line, kept in `margin_lines` and summed in SQL per
order, channel, supplier or SKU.

`refresh` recomputes the lines of every paid order whose receivable, read model or NF-e
changed since its lines were computed (or that has none): the price and quantities from
the order, the cost and supplier from the catalogue, commission and fees and the
channel's freight share and refunds and chargebacks from the receivable, the carrier's
price from the shipment, the taxes from the stored NF-e (read by the function handed
in: integrations/fiscal/nfe_read.py). A cancelled order keeps no lines: nothing sold."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    InvoiceRow,
    MarginLineRow,
    OrderRow,
    Product,
    ReceivableRow,
    ShipmentRow,
)
from db.receivables import charged_back_of
from db.session import read_session
from domain.margin import LineFacts, MarginLine, OrderCosts, order_margin
from domain.receivables import business_day

TaxReader = Callable[[str], Sequence[tuple[str, Decimal]]]
By = Literal["order", "channel", "supplier", "sku"]
BATCH = 500


class MarginRow(BaseModel):
    """The margin of one order, channel, supplier or SKU over a period."""

    model_config = ConfigDict(frozen=True)

    key: str
    orders: int
    quantity: int
    price: Decimal
    cost: Decimal
    commission: Decimal
    freight: Decimal
    taxes: Decimal
    margin: Decimal
    without_nfe: int = 0  # lines whose taxes are not known yet (no NF-e)

    @property
    def rate(self) -> Decimal | None:
        return None if not self.price else (self.margin / self.price).quantize(Decimal("0.0001"))


class MarginRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def refresh(self, read_taxes: TaxReader, tz: str, now: datetime | None = None) -> int:
        """Recompute the stale orders' lines; returns how many orders were recomputed."""
        now = now or datetime.now(UTC)
        computed = (
            select(
                MarginLineRow.order_id,
                func.min(MarginLineRow.computed_at).label("at"),
                func.max(MarginLineRow.charged_back).label("charged_back"),
            )
            .group_by(MarginLineRow.order_id)
            .subquery()
        )
        async with read_session(self._sessionmaker) as s:
            rows = (
                await s.execute(
                    select(
                        OrderRow,
                        ReceivableRow,
                        ShipmentRow.price,
                        InvoiceRow.xml,
                        charged_back_of(ReceivableRow.key),
                    )  # fmt: skip
                    .join(ReceivableRow, ReceivableRow.order_id == OrderRow.order_id)
                    .outerjoin(computed, computed.c.order_id == OrderRow.order_id)
                    .outerjoin(ShipmentRow, ShipmentRow.order_id == OrderRow.order_id)
                    .outerjoin(InvoiceRow, InvoiceRow.order_id == OrderRow.order_id)
                    .where(
                        or_(
                            computed.c.at.is_(None),
                            ReceivableRow.updated_at >= computed.c.at,
                            OrderRow.updated_at >= computed.c.at,
                            computed.c.charged_back != charged_back_of(ReceivableRow.key),
                        )
                    )
                )
            ).all()
            skus = {str(i["sku"]) for order, *_ in rows for i in order.items}
            products = {
                p.sku: (p.cost, p.supplier)
                for p in await s.scalars(select(Product).where(Product.sku.in_(sorted(skus))))
            }
        out: list[dict[str, object]] = []
        for order, receivable, carrier_price, xml, charged_back in rows:
            if order.status == "cancelled":
                continue
            lines, from_nfe = _facts(order, products, xml, read_taxes)
            if not lines:
                continue
            items = sum((line.price for line in lines), Decimal("0"))
            shipping_paid = max((order.total or items) - items, Decimal("0"))
            costs = OrderCosts(
                commission=receivable.commission + receivable.fixed_fee,
                freight=receivable.freight + (carrier_price or 0) - shipping_paid,
                returned=receivable.refunded + Decimal(str(charged_back or 0)),
            )
            day = business_day(receivable.paid_at, tz)
            margin = order_margin(order.order_id, order.channel, lines, costs)
            taken = Decimal(str(charged_back or 0))
            out += [_row(n, m, day, from_nfe, taken, now) for n, m in enumerate(margin, 1)]
        ids = sorted({order.order_id for order, *_ in rows})
        async with self._sessionmaker() as s:
            for start in range(0, len(ids), BATCH):
                await s.execute(
                    delete(MarginLineRow).where(
                        MarginLineRow.order_id.in_(ids[start : start + BATCH])
                    )
                )
            for start in range(0, len(out), BATCH):
                await s.execute(insert(MarginLineRow), out[start : start + BATCH])
            await s.commit()
        return len(ids)

    async def summary(self, by: By, start: date, end: date, limit: int = 500) -> list[MarginRow]:
        """Margins per `by` of the orders paid from `start` to `end`, best first."""
        column = {
            "order": MarginLineRow.order_id, "channel": MarginLineRow.channel,
            "supplier": MarginLineRow.supplier, "sku": MarginLineRow.sku,
        }[by]  # fmt: skip
        m = MarginLineRow
        query = (
            select(
                column, func.count(func.distinct(m.order_id)), func.sum(m.quantity),
                func.sum(m.price), func.sum(m.cost), func.sum(m.commission),
                func.sum(m.freight), func.sum(m.taxes), func.sum(m.margin),
                func.sum(case((m.taxes_from_nfe, 0), else_=1)),
            )
            .where(m.day.between(start, end))
            .group_by(column)
            .order_by(func.sum(m.margin).desc(), column)
            .limit(limit)
        )  # fmt: skip
        async with read_session(self._sessionmaker) as s:
            rows = (await s.execute(query)).all()
        names = ("key", "orders", "quantity", "price", "cost", "commission", "freight",
                 "taxes", "margin", "without_nfe")  # fmt: skip
        return [
            MarginRow.model_validate(dict(zip(names, (v if v is not None else 0 for v in r),
                                              strict=True)))
            for r in rows
        ]  # fmt: skip

    async def lines(self, order_id: str) -> list[MarginLine]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(MarginLineRow).where(MarginLineRow.order_id == order_id)
                .order_by(MarginLineRow.line)
            )  # fmt: skip
            return [MarginLine.model_validate(r, from_attributes=True) for r in rows]


def _facts(
    order: OrderRow,
    products: dict[str, tuple[Decimal, str]],
    xml: str | None,
    read_taxes: TaxReader,
) -> tuple[list[LineFacts], bool]:
    """The order's lines with their NF-e taxes (matched by SKU, in item order)."""
    taxes: dict[str, deque[Decimal]] = defaultdict(deque)
    if xml:
        for sku, amount in read_taxes(xml):
            taxes[sku].append(amount)
    lines = []
    for item in order.items:
        sku = str(item["sku"])
        quantity = int(item["quantity"])
        cost, supplier = products.get(sku, (Decimal("0"), ""))
        price = (Decimal(str(item["unit_price"])) * quantity).quantize(Decimal("0.01"))
        tax = taxes[sku].popleft() if taxes[sku] else Decimal("0")
        lines.append(LineFacts(sku=sku, supplier=supplier, quantity=quantity, price=price,
                               unit_cost=cost, taxes=tax))  # fmt: skip
    return lines, bool(xml)


def _row(
    line: int, m: MarginLine, day: date, from_nfe: bool, charged_back: Decimal, now: datetime
) -> dict[str, object]:
    return {
        "order_id": m.order_id, "line": line, "channel": m.channel, "day": day, "sku": m.sku,
        "supplier": m.supplier, "quantity": m.quantity, "price": m.price, "cost": m.cost,
        "commission": m.commission, "freight": m.freight, "taxes": m.taxes,
        "margin": m.margin, "taxes_from_nfe": from_nfe, "charged_back": charged_back,
        "computed_at": now,
    }  # fmt: skip

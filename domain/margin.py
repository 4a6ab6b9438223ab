"""Contribution margin: what each order, line, channel, supplier and SKU leaves once its
variable costs are paid.

    margin = price − cost − commissions − freight − taxes

per order line: the price is what the buyer paid for the line (less its share of what was
refunded or charged back), the cost is the catalogue's, the taxes are the NF-e's own per
item (`det/imposto`), and the order-level amounts (the channel's commission and fixed
fee, freight: what the carrier charged and the channel's share less what the buyer paid
for shipping) are spread over the lines in proportion to their price. Spreading never
loses or makes a cent: the parts always add up to the whole (largest remainder)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from pydantic import Field

from domain.money import CENT, Money, cents
from domain.orders import Frozen

ZERO = Decimal("0.00")


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (cents) in proportion to `weights` (≥ 0) so the parts add up to
    `total` exactly: each part rounded toward zero, the cents left over going one by one
    to the largest remainders (ties: the earlier line). All weights zero: equal parts."""
    if not weights:
        if total != 0:
            raise ValueError(f"cannot spread {total} over no lines")
        return []
    total = cents(total)
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    base = list(weights) if sum(weights) > 0 else [Decimal(1)] * len(weights)
    whole = sum(base)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w / whole for w in base]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((magnitude - sum(parts)) / CENT)
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += CENT
    return [sign * p for p in parts]


class LineFacts(Frozen):
    """One line of an order as the books know it."""

    sku: str
    supplier: str = ""
    quantity: int = Field(gt=0)
    price: Money = Field(description="what the buyer paid for the line (quantity × unit)")
    unit_cost: Money = Field(ge=0, description="the catalogue's cost of one unit")
    taxes: Money = Field(default=ZERO, ge=0, description="the NF-e's taxes on this item")


class OrderCosts(Frozen):
    """The order-level amounts spread over its lines."""

    commission: Money = ZERO  # the channel's commission and fixed fee
    freight: Money = ZERO  # carrier + channel's freight share − shipping the buyer paid
    returned: Money = ZERO  # refunded or charged back: price the order no longer earns


class MarginLine(Frozen):
    order_id: str
    channel: str
    sku: str
    supplier: str
    quantity: int
    price: Money
    cost: Money
    commission: Money
    freight: Money
    taxes: Money
    margin: Money

    @property
    def rate(self) -> Decimal | None:
        return None if self.price == 0 else (self.margin / self.price).quantize(Decimal("0.0001"))


def order_margin(
    order_id: str, channel: str, lines: Sequence[LineFacts], costs: OrderCosts
) -> list[MarginLine]:
    """The margin of every line of an order; the lines' commissions, freights and
    returns add up to the order's to the cent."""
    weights = [line.price for line in lines]
    returned = min(costs.returned, sum(weights, ZERO))
    commission = allocate(costs.commission, weights)
    freight = allocate(costs.freight, weights)
    back = allocate(returned, weights)
    out = []
    for line, c, f, r in zip(lines, commission, freight, back, strict=True):
        price = line.price - r
        cost = cents(line.unit_cost * line.quantity)
        out.append(
            MarginLine(
                order_id=order_id,
                channel=channel,
                sku=line.sku,
                supplier=line.supplier,
                quantity=line.quantity,
                price=price,
                cost=cost,
                commission=c,
                freight=f,
                taxes=line.taxes,
                margin=price - cost - c - f - line.taxes,
            )  # fmt: skip
        )
    return out

"""Receivables: what each party owes us for a paid order, by the channel's terms.

A paid order is owed its gross amount less the marketplace's commission and fixed fee and
the freight the seller pays; the rest (the expected net) is released on a date the
channel's rule sets. Refunds and cancellations adjust it. Pure rules: the repository
(db/receivables.py) stores what these functions compute."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from domain.money import Money, cents
from domain.orders import Channel, Frozen

ZERO = Decimal("0.00")


def fraction(amount: Decimal, rate: Decimal) -> Decimal:
    """`rate` of `amount` in cents, half up (how the providers round their fees)."""
    return (amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ChannelTerms(Frozen):
    """A channel's price list and release rule (the provider publishes both)."""

    commission_rate: Decimal = Field(ge=0, lt=1, description="of the gross, e.g. 0.13")
    fixed_fee: Money = Field(default=ZERO, ge=0, description="per order below fixed_fee_below")
    fixed_fee_below: Money = Field(default=ZERO, ge=0)
    freight_rate: Decimal = Field(
        default=Decimal("0"), ge=0, lt=1, description="seller's share of free shipping"
    )
    freight_from: Money = Field(
        default=ZERO, ge=0, description="orders from this gross on pay freight_rate"
    )
    release_days: int = Field(default=0, ge=0, le=365)
    release_after: Literal["payment", "delivery"] = "payment"
    paid_on_arrival: bool = Field(
        default=False, description="the channel sells only paid orders (marketplaces)"
    )
    refunds_on_cancel: bool = Field(
        default=False, description="the channel refunds the buyer itself when it cancels"
    )
    anticipation_rate: Decimal = Field(
        default=Decimal("0.0299"), ge=0, lt=1, description="fee to release early, of the net"
    )


def default_terms() -> dict[str, ChannelTerms]:
    """The sandbox's published prices (Mercado Pago checkout on the store, Mercado
    Livre-like commissions on the marketplace). Real contracts set their own."""
    return {
        Channel.STORE.value: ChannelTerms(commission_rate=Decimal("0.0499")),
        Channel.MARKETPLACE.value: ChannelTerms(
            commission_rate=Decimal("0.13"),
            fixed_fee=Decimal("6.00"),
            fixed_fee_below=Decimal("79.00"),
            freight_rate=Decimal("0.05"),
            freight_from=Decimal("79.00"),
            paid_on_arrival=True,
            refunds_on_cancel=True,
        ),
    }


class ReceivableStatus(StrEnum):
    OPEN = "open"  # expected, not yet seen in a payout
    REFUNDED = "refunded"  # the buyer got (part of) it back


class Charges(Frozen):
    """How the gross splits; the parts always add up to the gross, to the cent."""

    gross: Money
    commission: Money
    fixed_fee: Money
    freight: Money
    net: Money

    @property
    def fees(self) -> Decimal:
        return self.commission + self.fixed_fee + self.freight

    @model_validator(mode="after")
    def _adds_up(self) -> Charges:
        if self.commission + self.fixed_fee + self.freight + self.net != self.gross:
            raise ValueError("commission, fees, freight and net must add up to the gross")
        return self


def charges(gross: Decimal, terms: ChannelTerms) -> Charges:
    """Split `gross` by `terms`. Fees never exceed the gross (the net is never negative)."""
    gross = cents(gross)
    commission = fraction(gross, terms.commission_rate)
    fixed = terms.fixed_fee if gross < terms.fixed_fee_below else ZERO
    freight = fraction(gross, terms.freight_rate) if gross >= terms.freight_from else ZERO
    commission = min(commission, gross)
    fixed = min(fixed, gross - commission)
    freight = min(freight, gross - commission - fixed)
    return Charges(
        gross=gross,
        commission=commission,
        fixed_fee=fixed,
        freight=freight,
        net=gross - commission - fixed - freight,
    )


def business_day(moment: datetime, tz: str) -> date:
    """The calendar day of `moment` where the books are kept."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(ZoneInfo(tz)).date()


def release_date(
    terms: ChannelTerms, paid_at: datetime, delivered_at: datetime | None, tz: str
) -> date:
    """When the money is expected: N days after payment, or after delivery (while not
    delivered, after payment: the earliest it could come)."""
    start = delivered_at if terms.release_after == "delivery" and delivered_at else paid_at
    return business_day(start, tz) + timedelta(days=terms.release_days)


class OrderFacts(Frozen):
    """What the read model knows about an order, as accrual needs it."""

    order_id: str
    channel: Channel
    external_id: str
    status: str
    total: Money | None = None
    paid_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime
    refunded: Money = ZERO  # refunds we made (the saga's, from the audit log)
    refunded_at: datetime | None = None


class Receivable(Frozen):
    order_id: str
    channel: Channel
    key: str = Field(description="<channel>:<external id>, the payout report's reference")
    gross: Money
    commission: Money
    fixed_fee: Money
    freight: Money
    net: Money
    refunded: Money = ZERO
    paid_at: datetime
    expected_release: date
    status: ReceivableStatus = ReceivableStatus.OPEN

    @property
    def fees(self) -> Decimal:
        return self.commission + self.fixed_fee + self.freight

    @property
    def expected_net(self) -> Decimal:
        """What should reach us in the end: the net less what went back to the buyer."""
        return self.net - self.refunded


def receivable_for(facts: OrderFacts, terms: ChannelTerms, tz: str) -> Receivable | None:
    """The receivable a paid order creates, or None while nothing was paid.

    Paid: the workflow reached `paid`, or the channel sells only paid orders, or we
    refunded a payment (a late payment to a cancelled order was still paid). A cancelled
    order on a channel that refunds by itself is owed nothing back: refunded in full."""
    paid_at = facts.paid_at
    if paid_at is None and facts.refunded > 0:
        paid_at = facts.refunded_at
    if paid_at is None and terms.paid_on_arrival and facts.total is not None:
        paid_at = facts.created_at
    if paid_at is None:
        return None
    gross = facts.total if facts.total is not None else facts.refunded
    if gross <= 0:
        return None
    split = charges(gross, terms)
    refunded = facts.refunded
    if facts.status == "cancelled" and terms.refunds_on_cancel:
        refunded = split.gross
    refunded = min(refunded, split.gross)
    return Receivable(
        order_id=facts.order_id,
        channel=facts.channel,
        key=f"{facts.channel.value}:{facts.external_id}",
        gross=split.gross,
        commission=split.commission,
        fixed_fee=split.fixed_fee,
        freight=split.freight,
        net=split.net,
        refunded=refunded,
        paid_at=paid_at,
        expected_release=release_date(terms, paid_at, facts.delivered_at, tz),
        status=ReceivableStatus.REFUNDED if refunded > 0 else ReceivableStatus.OPEN,
    )

"""The payment provider's release report (Mercado Pago's "relatório de liberações"),
built from what the sandbox's gateway and marketplace sold, with seeded divergences.

One CSV per day with Mercado Pago's column names. Money moves as the provider's own
price list says (it is published: our receivables use the same numbers), except on the
lines the day's seed picks for a divergence: one of each kind (a higher fee, a lower
amount, a payout left out, a chargeback, a release in advance, a payout nobody sold),
so every class of the reconciliation is exercised every day. `seeded(day)` says which.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.core import SandboxState

COLUMNS = (
    "DATE", "SOURCE_ID", "EXTERNAL_REFERENCE", "RECORD_TYPE", "DESCRIPTION",
    "NET_CREDIT_AMOUNT", "NET_DEBIT_AMOUNT", "GROSS_AMOUNT", "MP_FEE_AMOUNT",
    "FINANCING_FEE_AMOUNT", "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT", "COUPON_AMOUNT",
    "INSTALLMENTS", "PAYMENT_METHOD", "ORDER_ID", "SHIPPING_ID",
)  # fmt: skip
# Kinds seeded on the day's payments, in this order (one each while payments last); an
# unexpected payout is added to every report.
SEEDED_KINDS = (
    "fee_divergence",
    "amount_divergence",
    "missing_payout",
    "chargeback",
    "anticipated",
)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PriceList:
    """What the provider charges: commission, fixed fee under a threshold, the seller's
    share of free shipping from a threshold, the fee for releasing in advance."""

    commission: Decimal
    fixed_fee: Decimal = ZERO
    fixed_below: Decimal = ZERO
    freight_rate: Decimal = ZERO
    freight_from: Decimal = ZERO
    advance_rate: Decimal = Decimal("0.0299")


PRICES = {
    "store": PriceList(commission=Decimal("0.0499")),
    "marketplace": PriceList(
        commission=Decimal("0.13"),
        fixed_fee=Decimal("6.00"),
        fixed_below=Decimal("79.00"),
        freight_rate=Decimal("0.05"),
        freight_from=Decimal("79.00"),
    ),
}


def _pct(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _fees(channel: str, gross: Decimal) -> tuple[Decimal, Decimal]:
    """(MP fee, shipping fee) charged on a sale of `gross`."""
    prices = PRICES[channel]
    fee = min(_pct(gross, prices.commission), gross)
    if gross < prices.fixed_below:
        fee = min(fee + prices.fixed_fee, gross)
    freight = _pct(gross, prices.freight_rate) if gross >= prices.freight_from else ZERO
    return fee, min(freight, gross - fee)


@dataclass
class Sale:
    """One payment the provider released (or refunded) on the report's day."""

    key: str  # <channel>:<order id>
    channel: str
    source_id: str
    order_id: str
    gross: Decimal
    at: datetime
    method: str
    shipping_id: str = ""
    refunds: list[tuple[Decimal, datetime]] = field(default_factory=list)


def line_channel(row: dict[str, str]) -> str:
    """Whose sale a report line is: the store's carry their reference, the marketplace's
    their order id."""
    reference = row["EXTERNAL_REFERENCE"]
    if reference:
        return reference.partition(":")[0]
    return "marketplace" if row["ORDER_ID"] else "store"


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def sales(state: SandboxState) -> list[Sale]:
    """Every approved payment the sandbox knows: the gateway's (own store) and the
    marketplace's orders, with their refunds (a cancelled marketplace order is refunded
    to the buyer in full when it is cancelled)."""
    out: list[Sale] = []
    gateway = state.data["payments"].get("db")
    for payment in getattr(gateway, "payments", {}).values():
        approved = _moment(payment.get("date_approved"))
        if approved is None:
            continue
        reference = payment["external_reference"]
        channel, _, order_id = reference.partition(":")
        sale = Sale(
            key=reference,
            channel=channel if channel in PRICES else "store",
            source_id=payment["id"],
            order_id=order_id,
            gross=Decimal(payment["transaction_amount"]),
            at=approved,
            method=payment.get("payment_method_id") or "pix",
        )
        for refund in payment.get("refunds", []):
            sale.refunds.append((Decimal(refund["amount"]), _moment(refund["date_created"])))  # type: ignore[arg-type]
        out.append(sale)
    market = state.data["marketplace"].get("db")
    for order in getattr(market, "orders", {}).values():
        for payment in order.get("payments", []):
            approved = _moment(payment.get("date_approved"))
            if approved is None:
                continue
            sale = Sale(
                key=f"marketplace:{order['id']}",
                channel="marketplace",
                source_id=str(payment["id"]),
                order_id=str(order["id"]),
                gross=Decimal(str(payment["total_paid_amount"])).quantize(CENT),
                at=approved,
                method=payment.get("payment_method_id") or "pix",
                shipping_id=str(order.get("shipping", {}).get("id", "")),
            )
            cancelled = _moment(order.get("date_cancelled"))
            if order.get("status") == "cancelled":
                sale.refunds.append((sale.gross, cancelled or approved))
            out.append(sale)
    return out


def _rank(seed: int, day: date, key: str) -> str:
    return hashlib.sha256(f"{seed}:{day.isoformat()}:{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Report:
    day: date
    rows: list[dict[str, str]]
    seeded: list[dict[str, str]]

    def of_channels(self, channels: set[str], *, keep_others: bool = False) -> Report:
        """The report as an account that sees only `channels`' sales shows it (the
        marketplace's seller centre; the gateway's API when the marketplace's sales are
        only on the seller centre), or all but them (`keep_others`): the same release
        lines, balances recomputed from them."""
        kept = [r for r in self.rows if r["RECORD_TYPE"] == "release"
                and (line_channel(r) in channels) != keep_others]  # fmt: skip
        balance = sum(
            (Decimal(r["NET_CREDIT_AMOUNT"]) - Decimal(r["NET_DEBIT_AMOUNT"]) for r in kept), ZERO
        )
        first, *_, total, last = self.rows
        ends = [dict(total, NET_CREDIT_AMOUNT=str(balance)),
                dict(last, NET_CREDIT_AMOUNT=str(balance))]  # fmt: skip
        seeded = [s for s in self.seeded if (s["key"].partition(":")[0] in channels) != keep_others]
        return Report(self.day, [first, *kept, *ends], seeded)

    def csv(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue().encode()


class _Rows:
    def __init__(self, day: date, tz: ZoneInfo) -> None:
        self.rows: list[dict[str, str]] = []
        self.balance = ZERO
        self._tz = tz
        self.day = day

    def add(self, at: datetime, record_type: str, description: str, **money: Any) -> None:
        credit = money.pop("credit", ZERO)
        debit = money.pop("debit", ZERO)
        self.balance += credit - debit
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            DATE=at.astimezone(self._tz).isoformat(timespec="milliseconds"),
            RECORD_TYPE=record_type,
            DESCRIPTION=description,
            NET_CREDIT_AMOUNT=str(credit),
            NET_DEBIT_AMOUNT=str(debit),
        )
        for name in ("GROSS_AMOUNT", "MP_FEE_AMOUNT", "FINANCING_FEE_AMOUNT",
                     "SHIPPING_FEE_AMOUNT", "TAXES_AMOUNT", "COUPON_AMOUNT"):  # fmt: skip
            row[name] = str(money.pop(name.lower().removesuffix("_amount"), ZERO))
        row.update({k.upper(): str(v) for k, v in money.items()})
        self.rows.append(row)


def build_report(state: SandboxState, day: date) -> Report:
    """The release report of `day` (in the sandbox's time zone)."""
    tz = ZoneInfo(state.config.timezone)
    release = timedelta(days=state.config.release_days)
    released = [s for s in sales(state) if (s.at.astimezone(tz) + release).date() == day]
    released.sort(key=lambda s: _rank(state.config.seed, day, s.key))
    unrefunded = [s for s in released if not s.refunds]
    plan = {s.key: kind for s, kind in zip(unrefunded, SEEDED_KINDS, strict=False)}
    seeded = [{"kind": kind, "key": key} for key, kind in plan.items()]
    start = datetime.combine(day, datetime.min.time(), tz)
    out = _Rows(day, tz)
    out.add(start, "initial_available_balance", "")
    for sale in sorted(released, key=lambda s: (s.at, s.source_id)):
        kind = plan.get(sale.key)
        if kind == "missing_payout":
            continue
        gross = sale.gross
        if kind == "amount_divergence":
            gross = max(gross - Decimal("1.00"), CENT)
        fee, freight = _fees(sale.channel, gross)
        if kind == "fee_divergence":
            fee = min(fee + Decimal("0.37"), gross - freight)
        ids = {
            "source_id": sale.source_id,
            "external_reference": sale.key if sale.channel == "store" else "",
            "installments": 1,
            "payment_method": sale.method,
            "order_id": sale.order_id if sale.channel == "marketplace" else "",
            "shipping_id": sale.shipping_id,
        }
        at = sale.at + release
        out.add(at, "release", "payment", credit=gross - fee - freight, gross=gross,
                mp_fee=-fee, shipping_fee=-freight, **ids)  # fmt: skip
        if kind == "anticipated":
            advance = _pct(gross - fee - freight, PRICES[sale.channel].advance_rate)
            out.add(at, "release", "fee_release_in_advance", debit=advance, mp_fee=-advance, **ids)
        if kind == "chargeback":
            out.add(at + timedelta(minutes=1), "release", "chargeback", debit=gross,
                    gross=-gross, **ids)  # fmt: skip
        for amount, refunded_at in sale.refunds:
            out.add(max(refunded_at, at), "release", "refund", debit=amount, gross=-amount, **ids)
    stray = f"store:DESCONHECIDO-{day:%Y%m%d}"
    stray_at = start + timedelta(hours=12)
    fee, _ = _fees("store", Decimal("42.00"))
    out.add(stray_at, "release", "payment", credit=Decimal("42.00") - fee,
            gross=Decimal("42.00"), mp_fee=-fee, source_id=f"99{day:%Y%m%d}",
            external_reference=stray, installments=1, payment_method="pix")  # fmt: skip
    seeded.append({"kind": "unexpected_payout", "key": stray})
    end = start + timedelta(days=1) - timedelta(milliseconds=1)
    out.add(end, "total", "", credit=ZERO)
    out.rows[-1]["NET_CREDIT_AMOUNT"] = str(out.balance)
    out.add(end, "available_balance", "")
    out.rows[-1]["NET_CREDIT_AMOUNT"] = str(out.balance - ZERO)
    return Report(day, out.rows, seeded)

"""How a shipping desk picks who carries a parcel, and what it does when tracking says
the parcel will not arrive. Pure rules: the order workflow asks them.

The choice (`choose_freight`):
1. the channel's mandated logistics wins: a Mercado Envios order ships on the
   marketplace's label and buys none;
2. otherwise the cheapest quote that meets the promised delivery days (none does: the
   fastest, the customer waits the least);
3. a tie goes to the carrier with the better delivery record, then to the faster
   service; the rest is a fixed order so the choice never depends on arrival order.

Every quote not taken is kept with the reason, so ops (and the console) see why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import Field

from domain.errors import DomainError
from domain.freight import (
    INCIDENTS,
    MARKETPLACE_CARRIER,
    Booking,
    CarrierKind,
    FreightChoice,
    FreightQuote,
    RejectedQuote,
    TrackingStatus,
)
from domain.orders import Frozen, Logistics, Order


def _record(quote: FreightQuote) -> float:
    return -1.0 if quote.delivery_record is None else quote.delivery_record


def _rank(quote: FreightQuote) -> tuple[Decimal, float, int, str, str, int, str]:
    return (
        quote.price,
        -_record(quote),
        quote.delivery_days,
        quote.kind.value,
        quote.carrier,
        quote.service_id,
        quote.model_dump_json(),  # equal on all the above: still one answer, whatever order
    )


def _fastest(quote: FreightQuote) -> tuple[int, Decimal, float, str, str, int, str]:
    return (
        quote.delivery_days,
        quote.price,
        -_record(quote),
        quote.kind.value,
        quote.carrier,
        quote.service_id,
        quote.model_dump_json(),
    )


def _name(quote: FreightQuote) -> str:
    return f"{quote.carrier} {quote.service}".strip()


def choose_freight(
    quotes: Iterable[FreightQuote],
    *,
    logistics: Logistics = Logistics.SELLER,
    promised_days: int | None = None,
) -> FreightChoice:
    quotes = list(quotes)
    if logistics is Logistics.MARKETPLACE:
        why = "the marketplace's logistics is mandated for this order"
        return FreightChoice(
            kind=CarrierKind.MARKETPLACE,
            reason=f"{MARKETPLACE_CARRIER}: {why}; no label is bought",
            rejected=tuple(RejectedQuote(quote=q, reason=why) for q in quotes),
        )
    rejected: list[RejectedQuote] = []
    usable: list[FreightQuote] = []
    for q in quotes:
        if q.error is not None:
            rejected.append(RejectedQuote(quote=q, reason=q.error))
        elif q.price <= 0:
            rejected.append(RejectedQuote(quote=q, reason="no price"))
        else:
            usable.append(q)
    if not usable:
        reasons = "; ".join(f"{_name(r.quote)}: {r.reason}" for r in rejected)
        raise DomainError(
            "no carrier service can take this parcel" + (f" ({reasons})" if reasons else ""),
            code="no_freight_service",
        )
    within = [q for q in usable if promised_days is None or q.delivery_days <= promised_days]
    if within:
        chosen = min(within, key=_rank)
        reason = "cheapest" + (
            f" within the promised {promised_days} days" if promised_days is not None else ""
        )
    else:
        chosen = min(usable, key=_fastest)
        reason = f"no quote meets the promised {promised_days} days: the fastest"
    for q in usable:
        if q is chosen:
            continue
        if q not in within:
            why = f"{q.delivery_days} days: later than the promised {promised_days}"
        elif q.price > chosen.price:
            why = f"dearer: {q.price} against {chosen.price}"
        elif _record(q) < _record(chosen):
            why = "same price, worse delivery record"
        else:
            why = "same price and record, not first in the fixed order"
        rejected.append(RejectedQuote(quote=q, reason=why))
    return FreightChoice(
        kind=chosen.kind,
        quote=chosen,
        reason=f"{_name(chosen)} ({chosen.kind.value}): {reason}",
        rejected=tuple(rejected),
    )


def failed_quote(kind: CarrierKind, carrier: str, message: str) -> FreightQuote:
    """What a carrier that could not be quoted contributes to the choice: its error."""
    return FreightQuote(
        service_id=0, carrier=carrier, service="", kind=kind, error=f"not quoted: {message}"
    )


# ---------------------------------------------------------------------- tracking


class TrackingQuery(Frozen):
    """Ask the carrier where the order's parcel is (the polling fallback)."""

    order_id: str
    kind: CarrierKind
    shipment_id: str
    tracking_code: str = ""
    channel_external_id: str = ""  # marketplace logistics: the channel's order
    reference: str = ""  # the booking's tag (a replacement: <order>#n); empty: the order


class TrackingUpdate(Frozen):
    status: TrackingStatus | None = None  # None: the carrier knows nothing new
    at: datetime | None = None
    description: str = ""


INCIDENT_PATHS = {
    TrackingStatus.LOST: (
        "ParcelLost",
        "the carrier reports the parcel lost: file a claim with the carrier and ship "
        "again; retry books a new shipment, skip closes it by hand (claim filed, "
        "customer refunded)",
    ),
    TrackingStatus.DAMAGED: (
        "ParcelDamaged",
        "the carrier reports the parcel damaged: file a claim with photos and ship "
        "again; retry books a new shipment, skip closes it by hand",
    ),
    TrackingStatus.RETURNED: (
        "ParcelReturned",
        "the parcel came back to the sender: check it and put it back into stock, then "
        "contact the customer; retry ships it again, skip closes it by hand",
    ),
}


def is_incident(status: TrackingStatus) -> bool:
    return status in INCIDENTS


class ShippingIncident(Frozen):
    """A parcel that will not arrive, as recorded on the order."""

    event_id: str
    status: TrackingStatus
    carrier: str
    tracking_code: str
    at: datetime
    attempt: int = Field(default=1, ge=1)


# ---------------------------------------------------------------------- documents


class ShippingDocumentsRequest(Frozen):
    """Print what goes with the parcel: the packing slip always, the label when the
    carrier supplied none."""

    order_id: str
    order: Order
    booking: Booking
    invoice_key: str = ""
    invoice_number: int | None = None


class ShippingDocuments(Frozen):
    label: str  # the label's name in the shipping document store
    packing_slip: str
    label_rendered: bool = False  # True: ours, the carrier supplied none


# ------------------------------------------------------------------ tracking pages

# Where a person follows a parcel, by carrier: the carrier's own public tracking page
# with the code in the address. A carrier not listed gets none (its label says where).
TRACKING_PAGES = {
    "correios": "https://rastreamento.correios.com.br/app/index.php?objetos={code}",
    "jadlog": "https://www.jadlog.com.br/jadlog/tracking?cte={code}",
    "expresso serra": "https://www.melhorrastreio.com.br/rastreio/{code}",
    MARKETPLACE_CARRIER.lower(): "https://www.mercadolivre.com.br/rastreamento/{code}",
}


def tracking_url(carrier: str | None, code: str | None) -> str:
    """The public page where the customer and ops follow `code` ("" when unknown)."""
    if not carrier or not code or not code.isascii() or not code.replace("-", "").isalnum():
        return ""
    page = TRACKING_PAGES.get(carrier.strip().lower())
    return page.format(code=code) if page else ""


def promised_date(start: date, business_days: int) -> date:
    """The day a quote promises delivery: `business_days` working days (Monday to
    Friday) after `start`, the day it was quoted. National holidays are not counted out:
    the promise is read as the carrier gives it."""
    day, left = start, max(0, business_days)
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day

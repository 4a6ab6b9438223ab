"""Freight: parcels, quotes, the choice of a carrier service and the booking."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import DomainError
from domain.money import Money
from domain.orders import Address, Frozen
from domain.stock import ProductInfo


class Parcel(Frozen):
    weight_g: int = Field(gt=0)
    height_cm: int = Field(gt=0)
    width_cm: int = Field(gt=0)
    length_cm: int = Field(gt=0)
    declared_value: Money = Field(ge=Decimal("0"))


class CarrierKind(StrEnum):
    """How a shipment is booked: a carrier's API, a carrier's website (the `rpa` bot), or
    the channel's own logistics (its label, nothing bought)."""

    API = "api"
    PORTAL = "portal"
    MARKETPLACE = "marketplace"


class FreightQuote(Frozen):
    service_id: int
    carrier: str
    service: str
    price: Money = Decimal("0")
    delivery_days: int = 0
    error: str | None = None
    kind: CarrierKind = CarrierKind.API
    delivery_record: float | None = Field(
        default=None, ge=0, le=1, description="share of the carrier's finished parcels delivered"
    )


MARKETPLACE_CARRIER = "Mercado Envios"


class RejectedQuote(Frozen):
    quote: FreightQuote
    reason: str


class FreightChoice(Frozen):
    """The carrier chosen for an order (no quote: the channel's logistics) and every
    quote left aside, each with its reason."""

    kind: CarrierKind
    quote: FreightQuote | None = None
    reason: str
    rejected: tuple[RejectedQuote, ...] = ()

    @property
    def carrier(self) -> str:
        return self.quote.carrier if self.quote else MARKETPLACE_CARRIER


class QuoteRequest(Frozen):
    order_id: str
    from_postal_code: str = Field(pattern=r"^\d{8}$")
    to_postal_code: str = Field(pattern=r"^\d{8}$")
    parcel: Parcel


class ParcelItem(Frozen):
    sku: str
    name: str
    quantity: int = Field(gt=0)
    unit_value: Money = Field(ge=Decimal("0"))


class BookingRequest(Frozen):
    order_id: str
    idempotency_key: str
    quote: FreightQuote
    parcel: Parcel
    recipient_name: str
    recipient_address: Address
    invoice_key: str | None = None
    recipient_document: str = ""  # CPF: a commercial shipment names its recipient
    recipient_phone: str = ""
    recipient_email: str = ""
    contents: tuple[ParcelItem, ...] = ()  # the products list the carrier declares
    choice: FreightChoice | None = None  # why this carrier: kept with the shipment
    reference: str = ""  # the tag at the carrier; empty: the order id (a replacement: #n)

    @property
    def tag(self) -> str:
        return self.reference or self.order_id


class ChannelLabelRequest(Frozen):
    """Marketplace logistics: take the channel's label for its shipment, buy none."""

    order_id: str
    external_id: str
    shipment_id: str
    choice: FreightChoice | None = None


class PickupCancellation(BaseModel):
    """Cancel the order's labels and pickups: the one given, or every live one tagged
    with the order when the booking's outcome never came back. (Extra fields are
    ignored so a `Booking` sent by an older workflow still reads as one.)"""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: str
    shipment_id: str | None = None
    kind: CarrierKind = CarrierKind.API


class Booking(Frozen):
    order_id: str
    shipment_id: str
    tracking_code: str
    carrier: str
    service: str
    price: Money
    label_url: str = ""
    kind: CarrierKind = CarrierKind.API
    label_document: str = ""  # the label PDF in the shipping document store
    reference: str = ""  # the tag it was booked under; empty: the order id

    @property
    def tag(self) -> str:
        return self.reference or self.order_id


class TrackingStatus(StrEnum):
    POSTED = "posted"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"  # a delivery attempt failed; the carrier tries again
    LOST = "lost"  # extraviado: claim it from the carrier and ship again
    DAMAGED = "damaged"  # avariado: claim it and ship again
    RETURNED = "returned"  # devolvido ao remetente: back to stock


INCIDENTS = frozenset({TrackingStatus.LOST, TrackingStatus.DAMAGED, TrackingStatus.RETURNED})


class TrackingEvent(Frozen):
    event_id: str
    shipment_id: str
    tracking_code: str
    status: TrackingStatus
    at: datetime
    description: str = ""


def choose_quote(quotes: Iterable[FreightQuote], *, max_days: int | None = None) -> FreightQuote:
    """Cheapest service that can serve the route (and meets the deadline when given);
    ties go to the faster one, then to the lower service id for determinism."""
    quotes = list(quotes)
    usable = [q for q in quotes if q.error is None and q.price > 0]
    if max_days is not None:
        within = [q for q in usable if q.delivery_days <= max_days]
        usable = within or usable
    if not usable:
        reasons = "; ".join(f"{q.carrier} {q.service}: {q.error or 'no price'}" for q in quotes)
        raise DomainError(
            "no carrier service can take this parcel" + (f" ({reasons})" if reasons else ""),
            code="no_freight_service",
        )
    return min(usable, key=lambda q: (q.price, q.delivery_days, q.service_id))


PACKING_SLACK = 1.15  # filling material and imperfect fit
MAX_SIDE_CM = 100


def parcel_for(lines: Iterable[tuple[int, int, int, int, int]], declared: Decimal) -> Parcel:
    """One box for the whole order from (quantity, weight_g, h, w, l) per line: weights add
    up; the box holds the items' volume plus slack, is at least as long and wide as the
    largest item, and as close to a cube as that allows (carriers bill cubic weight)."""
    rows = list(lines)
    if not rows:
        raise DomainError("cannot build a parcel with no items")
    weight = sum(q * w for q, w, _, _, _ in rows)
    volume = sum(q * h * w * ln for q, _, h, w, ln in rows) * PACKING_SLACK
    side = math.ceil(volume ** (1 / 3))
    length = min(max(side, max(max(h, w, ln) for _, _, h, w, ln in rows)), MAX_SIDE_CM)
    width = min(max(side, max(sorted((h, w, ln))[1] for _, _, h, w, ln in rows)), MAX_SIDE_CM)
    height = min(max(math.ceil(volume / (length * width)), 1), MAX_SIDE_CM)
    return Parcel(
        weight_g=weight,
        height_cm=height,
        width_cm=width,
        length_cm=length,
        declared_value=declared,
    )


class QuoteSet(Frozen):
    quotes: tuple[FreightQuote, ...] = ()


def parcel_for_order(
    items: Iterable[tuple[str, int]], products: Iterable[ProductInfo], declared: Decimal
) -> Parcel:
    """The parcel of an order's (sku, quantity) lines, from the reserved products' data."""
    by_sku = {p.sku: p for p in products}
    return parcel_for(
        (
            (qty, by_sku[sku].weight_g, by_sku[sku].height_cm, by_sku[sku].width_cm,
             by_sku[sku].length_cm)
            for sku, qty in items
        ),
        declared,
    )  # fmt: skip

"""What a shipping desk does with a parcel that will not arrive.

Lost or damaged: a claim is opened against the carrier for the declared value, and ops
decide to ship again (`reship`: a new booking for the same order, with its own reference
at the carrier and its own stock) or to close it by hand. Returned to sender: once the
parcel is back and checked, ops put the items back into stock (`return_to_stock`) and
the order is closed as returned.

A replacement's booking reference is the order id with the shipment's number
(`order:store:1001#2`): deterministic, so a retry after a lost answer or a worker kill
looks up the same reference and books nothing twice; and distinct from the first, so the
carrier's look-before-act search never takes the lost parcel for the replacement. (An
external order id that itself ended in `#<digits>` would be ambiguous; channels' ids are
digits and dashes.)"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from domain.attention import OpsAction
from domain.freight import CarrierKind, TrackingStatus
from domain.orders import Frozen

SEPARATOR = "#"
CLAIMED = frozenset({TrackingStatus.LOST, TrackingStatus.DAMAGED})


def booking_reference(order_id: str, shipment_no: int) -> str:
    """The reference (tag) a shipment of the order is booked under: the first one is the
    order id itself, a replacement adds its number."""
    if shipment_no < 1:
        raise ValueError(f"a shipment number starts at 1, not {shipment_no}")
    return order_id if shipment_no == 1 else f"{order_id}{SEPARATOR}{shipment_no}"


def split_reference(reference: str) -> tuple[str, int]:
    """(order id, shipment number) of a booking reference."""
    order_id, sep, number = reference.rpartition(SEPARATOR)
    if sep and number.isdigit() and int(number) >= 2 and order_id:
        return order_id, int(number)
    return reference, 1


def incident_actions(status: TrackingStatus, kind: CarrierKind) -> frozenset[OpsAction]:
    """The decisions that fit the incident (retry asks the carrier again, skip closes it
    by hand). The marketplace's own logistics is reshipped by the marketplace."""
    base = {OpsAction.RETRY, OpsAction.SKIP}
    if status in CLAIMED and kind is not CarrierKind.MARKETPLACE:
        base.add(OpsAction.RESHIP)
    if status is TrackingStatus.RETURNED:
        base.add(OpsAction.RETURN_TO_STOCK)
    return frozenset(base)


def incident_guide(status: TrackingStatus, claim: Decimal | None) -> tuple[str, str]:
    """(error type, what ops can do) for the incident, as the console and CLI show it."""
    claimed = f"a claim for R$ {claim} (the declared value) is open against the carrier; "
    if status is TrackingStatus.LOST:
        return "ParcelLost", (
            "the carrier reports the parcel lost: " + claimed + "reship books a replacement "
            "from stock, skip closes it by hand (e.g. refunded), retry asks the carrier again"
        )
    if status is TrackingStatus.DAMAGED:
        return "ParcelDamaged", (
            "the carrier reports the parcel damaged: " + claimed + "reship books a "
            "replacement from stock, skip closes it by hand, retry asks the carrier again"
        )
    return "ParcelReturned", (
        "the parcel came back to the sender: check it, then return_to_stock puts its items "
        "back on hand and closes the order as returned; skip closes it by hand, retry asks "
        "the carrier again"
    )


class IncidentRecord(Frozen):
    """A lost, damaged or returned parcel, recorded once per shipment; for lost and
    damaged, the claim against the carrier (the declared value)."""

    order_id: str
    shipment_no: int = Field(ge=1)
    reference: str
    status: TrackingStatus
    carrier: str
    kind: CarrierKind
    shipment_id: str
    tracking_code: str
    claim_amount: Decimal | None = None
    at: datetime


class IncidentResolution(Frozen):
    """What ops decided; a reship names the replacement's reference before it is booked
    (so the audit knows the second booking is wanted)."""

    order_id: str
    shipment_no: int = Field(ge=1)
    resolution: str = Field(pattern="^(reship|returned_to_stock|closed)$")
    replacement: str | None = None
    decided_by: str = ""
    at: datetime


class RestockRequest(Frozen):
    """Put a returned parcel's items back on hand, once per shipment."""

    order_id: str
    reference: str
    quantities: dict[str, int] = Field(min_length=1)
    at: datetime

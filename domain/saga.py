"""Compensation (saga): each completed step registers its undo; cancel runs them in
reverse registration order, which by construction is: cancel pickup, cancel NF-e,
release stock, refund, then the channel is told."""

from __future__ import annotations

from enum import StrEnum


class Compensation(StrEnum):
    RELEASE_STOCK = "release_stock"
    REFUND = "refund"
    CANCEL_INVOICE = "cancel_invoice"
    CANCEL_PICKUP = "cancel_pickup"


# Where an undo belongs when cancelling, whatever order the steps completed in.
UNDO_ORDER = (
    Compensation.CANCEL_PICKUP,
    Compensation.CANCEL_INVOICE,
    Compensation.RELEASE_STOCK,
    Compensation.REFUND,
)


def undo_plan(registered: list[Compensation]) -> list[Compensation]:
    """The compensations to run, each once, in the fixed undo order."""
    seen = set(registered)
    return [c for c in UNDO_ORDER if c in seen]

"""Compensation (saga): each completed step registers its undo; cancel runs them in
reverse registration order, which by construction is: cancel pickup, cancel NF-e,
release stock, refund, then the channel is told."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from domain.orders import Channel


class Compensation(StrEnum):
    RELEASE_STOCK = "release_stock"
    REFUND = "refund"
    CANCEL_INVOICE = "cancel_invoice"
    VOID_INVOICE_NUMBER = "void_invoice_number"
    CANCEL_PICKUP = "cancel_pickup"


# Where an undo belongs when cancelling, whatever order the steps completed in.
UNDO_ORDER = (
    Compensation.CANCEL_PICKUP,
    Compensation.CANCEL_INVOICE,
    Compensation.VOID_INVOICE_NUMBER,
    Compensation.RELEASE_STOCK,
    Compensation.REFUND,
)

# Undos keyed by the order alone and harmless when nothing was done: a cancellation
# runs them whatever the workflow remembers, because the effects they undo are local
# database writes that may have committed in a workflow task that was then lost.
ALWAYS_UNDONE = frozenset({Compensation.VOID_INVOICE_NUMBER, Compensation.RELEASE_STOCK})


def undo_plan(
    registered: Iterable[Compensation], *, always: Iterable[Compensation] = ()
) -> list[Compensation]:
    """The compensations to run, each once, in the fixed undo order."""
    seen = set(registered) | set(always)
    return [c for c in UNDO_ORDER if c in seen]


def refund_due(*, paid: bool, payment_known: bool, channel: Channel, refunded: bool) -> bool:
    """A cancelled order owes a refund when we took the money: a store payment we know
    of and have not refunded yet. Marketplaces refund their own buyers."""
    return paid and payment_known and channel is Channel.STORE and not refunded

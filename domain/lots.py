"""Lots and expiry (FEFO): which lot each unit of a pick comes from.

A lot is what arrived together with one expiry date (`expires_on`; None for goods that
do not expire) and sits in one bin. A pick takes first the lot that expires first, never
one already expired on the pick day; units no lot can cover are picked without a lot
(stock received before lots were kept). Pure: db/lots.py keeps lots and allocations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

LOT_CODE = r"^[A-Za-z0-9._/-]{1,40}$"


@dataclass(frozen=True, slots=True)
class Lot:
    sku: str
    lot: str
    bin: str
    expires_on: date | None
    available: int  # on hand in this lot, less what open picks already hold


@dataclass(frozen=True, slots=True)
class LotPick:
    sku: str
    lot: str  # "" : no lot (units received before lots were kept)
    bin: str
    expires_on: date | None
    quantity: int


def fefo_key(lot: Lot) -> tuple[bool, date, str, str]:
    """First expiry first; goods that do not expire last; then lot code and bin, so the
    choice never depends on the order the lots were read in."""
    return (lot.expires_on is None, lot.expires_on or date.max, lot.lot, lot.bin)


def allocate_fefo(
    sku: str, quantity: int, lots: Iterable[Lot], today: date, *, fallback_bin: str = ""
) -> tuple[LotPick, ...]:
    """The lots `quantity` units of `sku` are picked from: first expiry first, expired
    lots left out (they are not shipped); what no lot covers comes out as one line
    without a lot, in the product's own bin."""
    picks: list[LotPick] = []
    left = quantity
    usable = [x for x in lots if x.sku == sku and x.available > 0]
    for lot in sorted(usable, key=fefo_key):
        if left <= 0:
            break
        if lot.expires_on is not None and lot.expires_on < today:
            continue
        take = min(left, lot.available)
        picks.append(LotPick(sku, lot.lot, lot.bin, lot.expires_on, take))
        left -= take
    if left > 0:
        picks.append(LotPick(sku, "", fallback_bin, None, left))
    return tuple(picks)

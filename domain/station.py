"""The warehouse station's rules: what a scanned code is, the pick walk, the box to
suggest, the shift a moment belongs to, and a check's differences in words.

Pure functions; the station's pages (api/console/station.py) carry the scans so far in
the page itself, and only the workflow's Update decides that a step is done."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.freight import Parcel

LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
MAX_UNITS = 999  # per SKU on one station screen


@dataclass(frozen=True, slots=True)
class Box:
    name: str
    length_cm: int
    width_cm: int
    height_cm: int

    @property
    def sides(self) -> tuple[int, int, int]:
        return sorted_sides(self.length_cm, self.width_cm, self.height_cm)


# The seller's stock of boxes, smallest first (the common e-commerce sizes in Brazil).
BOXES = (
    Box("P1", 16, 11, 6),
    Box("P2", 20, 15, 10),
    Box("M1", 27, 18, 9),
    Box("M2", 30, 20, 15),
    Box("G1", 36, 27, 18),
    Box("G2", 40, 30, 25),
    Box("GG", 50, 40, 35),
)


def sorted_sides(*sides: int) -> tuple[int, int, int]:
    a, b, c = sorted(sides, reverse=True)
    return a, b, c


def suggest_box(parcel: Parcel) -> Box:
    """The smallest standard box the order's parcel fits in (each side at least the
    parcel's, sides compared longest to longest); a box cut to size when none does."""
    need = sorted_sides(parcel.length_cm, parcel.width_cm, parcel.height_cm)
    for box in BOXES:
        if all(have >= want for have, want in zip(box.sides, need, strict=True)):
            return box
    return Box("sob medida", *need)


def resolve_code(code: str, products: Iterable[tuple[str, str]]) -> str | None:
    """The SKU a scanned or typed code names: the SKU itself (any case) or its EAN/GTIN
    (leading zeros of a GTIN-14 read as a GTIN-13 ignored). ``products``: (sku, gtin)."""
    text = code.strip()
    digits = text.lstrip("0")
    for sku, gtin in products:
        if text.casefold() == sku.casefold():
            return sku
        if gtin and digits and digits == gtin.lstrip("0"):
            return sku
    return None


def walk_order(bins: Mapping[str, str]) -> list[str]:
    """SKUs in the order a picker walks the aisles: by bin (numbers compared as numbers,
    A-2 before A-10), SKUs without a bin last."""

    def key(sku: str) -> tuple[bool, list[tuple[int, str]], str]:
        parts = re.findall(r"\d+|\D+", bins.get(sku, ""))
        natural = [(int(p), "") if p.isdigit() else (-1, p.upper()) for p in parts]
        return (not bins.get(sku), natural, sku)

    return sorted(bins, key=key)


def add_scan(
    counts: Mapping[str, int], sku: str, limit: Mapping[str, int] | None = None
) -> dict[str, int] | None:
    """One more unit of ``sku``; None when ``limit`` (the pick list) has no more of it."""
    have = counts.get(sku, 0)
    cap = MAX_UNITS if limit is None else limit.get(sku, 0)
    if have >= cap:
        return None
    return {**counts, sku: have + 1}


def encode_counts(counts: Mapping[str, int]) -> list[str]:
    return [f"{sku}:{n}" for sku, n in sorted(counts.items()) if n > 0]


def decode_counts(values: Iterable[str], known: Iterable[str]) -> dict[str, int]:
    """Counts carried by a station page (``SKU:n``), keeping only SKUs this task knows."""
    allowed, out = set(known), {}
    for value in values:
        sku, _, n = value.rpartition(":")
        if sku in allowed and n.isascii() and n.isdigit() and 0 < int(n) <= MAX_UNITS:
            out[sku] = int(n)
    return out


SHIFTS = (("manha", 6, 14), ("tarde", 14, 22))


def shift_of(at: datetime) -> str:
    """The shift of a moment, by the warehouse's local clock: manhã 06-14 h, tarde 14-22 h,
    noite 22-06 h (stored without accents: manha, tarde, noite)."""
    hour = at.astimezone(LOCAL_TZ).hour
    for name, start, end in SHIFTS:
        if start <= hour < end:
            return name
    return "noite"


@dataclass(frozen=True, slots=True)
class Difference:
    sku: str
    expected: int
    scanned: int

    @property
    def missing(self) -> int:
        return max(self.expected - self.scanned, 0)

    @property
    def extra(self) -> int:
        return max(self.scanned - self.expected, 0)


def differences(expected: Mapping[str, int], scanned: Mapping[str, int]) -> list[Difference]:
    return [
        Difference(sku, expected.get(sku, 0), scanned.get(sku, 0))
        for sku in sorted(set(expected) | set(scanned))
        if expected.get(sku, 0) != scanned.get(sku, 0)
    ]

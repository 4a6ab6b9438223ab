"""FEFO: a pick takes the lot that expires first, never an expired one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lots import Lot, allocate_fefo

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 2)

lots_st = st.lists(
    st.builds(
        Lot,
        sku=st.just("SKU-A"),
        lot=st.text(alphabet="ABC123", min_size=1, max_size=4),
        bin=st.sampled_from(["A-1", "A-2", "B-1"]),
        expires_on=st.one_of(st.none(), st.integers(-30, 400).map(lambda d: TODAY + timedelta(d))),
        available=st.integers(0, 20),
    ),
    max_size=8,
    unique_by=lambda x: (x.lot, x.bin),  # one row per lot and bin, as in the database
)


@given(lots_st, st.integers(1, 60))
def test_fefo_takes_the_earliest_expiry_first_and_never_an_expired_lot(
    lots: list[Lot], quantity: int
) -> None:
    picks = allocate_fefo("SKU-A", quantity, lots, TODAY)
    assert sum(p.quantity for p in picks) == quantity
    taken = [p for p in picks if p.lot]
    assert all(p.expires_on is None or p.expires_on >= TODAY for p in taken)
    usable = [
        x for x in lots if x.available > 0 and (x.expires_on is None or x.expires_on >= TODAY)
    ]
    without = sum(p.quantity for p in picks if not p.lot)
    assert without == max(0, quantity - sum(x.available for x in usable))
    # nothing later-expiring is taken while an earlier lot still has units left
    used = {(p.lot, p.bin): p.quantity for p in taken}
    for late in taken:
        for early in usable:
            earlier = early.expires_on is not None and (
                late.expires_on is None or early.expires_on < late.expires_on
            )
            if earlier:
                assert used.get((early.lot, early.bin), 0) == early.available


def test_a_pick_without_lots_is_one_line_in_the_products_bin() -> None:
    [pick] = allocate_fefo("SKU-A", 3, [], TODAY, fallback_bin="C-9")
    assert (pick.lot, pick.bin, pick.quantity) == ("", "C-9", 3)


def test_the_older_lot_goes_first_then_the_rest_from_the_next() -> None:
    lots = [
        Lot("SKU-A", "L2", "B-1", TODAY + timedelta(200), 10),
        Lot("SKU-A", "L1", "A-1", TODAY + timedelta(30), 2),
        Lot("SKU-A", "L0", "A-0", TODAY - timedelta(1), 50),  # expired yesterday
    ]
    picks = allocate_fefo("SKU-A", 5, lots, TODAY)
    assert [(p.lot, p.quantity) for p in picks] == [("L1", 2), ("L2", 3)]

"""Availability and shortage rules (domain.stock), checked as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.stock import available, shortages

pytestmark = pytest.mark.unit

skus = st.sampled_from(["A", "B", "C", "D", "E"])
quantities = st.dictionaries(skus, st.integers(min_value=1, max_value=50), min_size=1)
stock_levels = st.dictionaries(skus, st.integers(min_value=0, max_value=50))


@given(on_hand=st.integers(min_value=0, max_value=10_000), reserved=st.integers(0, 10_000))
def test_available_is_never_negative_and_is_the_unreserved_part(on_hand, reserved) -> None:
    result = available(on_hand, reserved)
    assert result >= 0
    if reserved <= on_hand:
        assert result == on_hand - reserved


@given(requested=quantities, availability=stock_levels)
def test_shortages_are_exactly_the_lines_that_cannot_be_served(requested, availability) -> None:
    short = shortages(requested, availability)

    assert {s.sku for s in short} == {
        sku for sku, qty in requested.items() if availability.get(sku, 0) < qty
    }
    for s in short:
        assert s.requested == requested[s.sku]
        assert s.available == availability.get(s.sku, 0) < s.requested
    assert [s.sku for s in short] == sorted(s.sku for s in short)


@given(requested=quantities)
def test_unknown_skus_have_nothing_available(requested) -> None:
    assert [s.sku for s in shortages(requested, {})] == sorted(requested)
    assert all(s.available == 0 for s in shortages(requested, {}))


@given(requested=quantities)
def test_enough_stock_means_no_shortage(requested) -> None:
    assert shortages(requested, dict(requested)) == []

"""The month-close rules: a month's bounds, and the nights that ended unreconciled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.month_close import MonthInvalid, month_bounds, nights_not_reconciled

pytestmark = pytest.mark.unit


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_a_month_runs_from_its_first_day_to_the_day_before_the_next_month(
    year: int, month: int
) -> None:
    start, end = month_bounds(f"{year:04d}-{month:02d}")
    assert start == date(year, month, 1)
    assert (end + timedelta(days=1)).day == 1
    assert (end.year, end.month) == (year, month)


@pytest.mark.parametrize("given_month", ["2026-13", "2026-00", "11/2026", "2026-1", "", "1999-12"])
def test_a_month_that_is_not_yyyy_mm_is_refused_with_the_form_it_takes(given_month: str) -> None:
    with pytest.raises(MonthInvalid, match="YYYY-MM"):
        month_bounds(given_month)


@given(
    st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    st.integers(0, 40),
    st.dates(date(2025, 12, 1), date(2027, 2, 1)),
    st.sets(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=40),
)
def test_the_nights_left_are_the_ended_nights_without_a_finished_run(
    start: date, length: int, today: date, done: set[date]
) -> None:
    end = start + timedelta(days=length)
    left = nights_not_reconciled(start, end, today, done)
    ended = {start + timedelta(days=i) for i in range(length + 1)}
    ended = {d for d in ended if d < today}
    assert set(left) == ended - done
    assert left == sorted(left)

"""A night's workflow id names its kind and day, and reads back to them."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.reconciliation import ReconKind, night_of_workflow, reconciliation_workflow_id

pytestmark = pytest.mark.unit


@given(st.sampled_from(list(ReconKind)), st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_a_nights_workflow_id_reads_back_to_its_kind_and_day(kind: ReconKind, day: date) -> None:
    assert night_of_workflow(reconciliation_workflow_id(kind, day)) == (kind, day)


@pytest.mark.parametrize(
    "workflow_id",
    ["order:store:1", "reconcile:payroll:2026-12-01", "reconcile:bank:tomorrow",
     "reconcile:bank", "stock-sync:SKU-1"],
)  # fmt: skip
def test_an_id_no_night_was_given_is_not_read_as_one(workflow_id: str) -> None:
    assert night_of_workflow(workflow_id) is None

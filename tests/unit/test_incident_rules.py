"""The pure rules of a parcel that will not arrive: booking references round-trip for any
order id, and each incident allows the decisions that fit it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.attention import OpsAction
from domain.freight import INCIDENTS, CarrierKind, TrackingStatus
from domain.incidents import booking_reference, incident_actions, incident_guide, split_reference

pytestmark = pytest.mark.unit
# An external id ending in "#<digits>" would read as a replacement's reference; channels'
# ids are numbers and dashes (documented in domain/incidents.py).
EXTERNAL = st.text(st.characters(codec="ascii", exclude_characters="\x00#"), min_size=1)


@given(st.sampled_from(["store", "marketplace"]), EXTERNAL, st.integers(1, 50))
def test_a_booking_reference_names_its_order_and_number(
    channel: str, external: str, n: int
) -> None:
    order_id = f"order:{channel}:{external}"
    reference = booking_reference(order_id, n)

    assert split_reference(reference) == (order_id, n)
    assert (reference == order_id) is (n == 1)


@given(st.sampled_from(sorted(INCIDENTS)), st.sampled_from(list(CarrierKind)))
def test_each_incident_takes_the_decisions_that_fit_it(
    status: TrackingStatus, kind: CarrierKind
) -> None:
    allowed = incident_actions(status, kind)

    assert {OpsAction.RETRY, OpsAction.SKIP} <= allowed
    assert OpsAction.COMPENSATE not in allowed  # the parcel left: it is not a cancellation
    assert (OpsAction.RETURN_TO_STOCK in allowed) is (status is TrackingStatus.RETURNED)
    assert (OpsAction.RESHIP in allowed) is (
        status is not TrackingStatus.RETURNED and kind is not CarrierKind.MARKETPLACE
    )


def test_the_guide_names_the_claim_amount_only_when_there_is_one() -> None:
    assert "R$ 149.90" in incident_guide(TrackingStatus.LOST, Decimal("149.90"))[1]
    assert "claim" not in incident_guide(TrackingStatus.RETURNED, None)[1]

"""The audit's "one booking per shipped order" knows re-shipments: a replacement booked
under `<order>#2` after a reship decision is wanted, a second booking without one (or a
second label under the same reference) is a duplicate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.incidents import booking_reference, split_reference
from retaguarda.audit.ledger import LedgerView, load_ledger
from retaguarda.audit.shipping import check_one_booking_per_order
from retaguarda.audit.snapshot import OrderFacts, ShipmentFacts, Snapshot

pytestmark = pytest.mark.unit
ORDER = "order:store:1"
REPLACEMENT = booking_reference(ORDER, 2)


def ledger(tmp_path: Path, *labels: tuple[str, str]) -> LedgerView:
    path = tmp_path / "ledger.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"provider": "carrier", "kind": "label_purchased", "tag": tag, "shipment_id": sid}
            )
            + "\n"
            for tag, sid in labels
        )  # fmt: skip
    )
    return load_ledger(path)


def snapshot(*, reshipped: bool) -> Snapshot:
    snap = Snapshot()
    snap.orders[ORDER] = OrderFacts(ORDER, "store", "1", "delivered")
    snap.shipments[ORDER] = ShipmentFacts(ORDER, "s1", "lost")
    snap.shipments[REPLACEMENT] = ShipmentFacts(REPLACEMENT, "s2", "delivered")
    if reshipped:
        snap.replacements.add(REPLACEMENT)
    return snap


def test_a_replacement_asked_for_by_a_reship_decision_is_legitimate(tmp_path: Path) -> None:
    view = ledger(tmp_path, (ORDER, "s1"), (REPLACEMENT, "s2"))

    check = check_one_booking_per_order(snapshot(reshipped=True), view)

    assert check.ok, check.violations


def test_a_second_booking_without_a_reship_decision_is_a_duplicate(tmp_path: Path) -> None:
    view = ledger(tmp_path, (ORDER, "s1"), (REPLACEMENT, "s2"))

    check = check_one_booking_per_order(snapshot(reshipped=False), view)

    assert [v for v in check.violations if "no reship decision" in v]


def test_two_labels_for_one_replacement_are_a_duplicate(tmp_path: Path) -> None:
    view = ledger(tmp_path, (ORDER, "s1"), (REPLACEMENT, "s2"), (REPLACEMENT, "s3"))

    check = check_one_booking_per_order(snapshot(reshipped=True), view)

    assert [v for v in check.violations if "2 bookings" in v]


@pytest.mark.parametrize("order_id", ["order:store:1", "order:marketplace:ML-77-2"])
def test_a_booking_reference_splits_back_into_order_and_number(order_id: str) -> None:
    assert split_reference(booking_reference(order_id, 1)) == (order_id, 1)
    assert split_reference(booking_reference(order_id, 3)) == (order_id, 3)

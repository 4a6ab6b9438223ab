"""Check 3: exactly one booking per shipped order across every carrier's ledger (labels
bought from the carrier with an API, pickups booked on the carrier portal, labels printed
by the marketplace's own logistics), no label bought for a marketplace-logistics order,
and every shipped order's label kept with its documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.incidents import split_reference
from domain.orders import OrderStatus
from retaguarda.audit.ledger import LedgerView
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot

SHIPPED = frozenset(
    {OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value, OrderStatus.RETURNED.value}
)


@dataclass(frozen=True, slots=True)
class Booked:
    kind: str  # api | portal | marketplace
    shipment_id: str
    live: bool


def bookings_by_tag(ledger: LedgerView) -> dict[str, list[Booked]]:
    """Every booking the outside world saw, by the order tag it carries."""
    out: dict[str, list[Booked]] = {}
    cancelled_labels, cancelled_pickups = ledger.cancelled_labels(), ledger.cancelled_pickups()
    sources = (
        ("api", ledger.labels_by_tag(), cancelled_labels),
        ("portal", ledger.pickups_by_tag(), cancelled_pickups),
        ("marketplace", ledger.marketplace_labels_by_tag(), set[str]()),
    )
    for kind, by_tag, cancelled in sources:
        for tag, ids in by_tag.items():
            for sid in ids:
                out.setdefault(tag, []).append(Booked(kind, sid, sid not in cancelled))
    return out


def counts(ledger: LedgerView) -> dict[str, int]:
    """Live bookings per kind of logistics (what the demo reports)."""
    found = {"api": 0, "portal": 0, "marketplace": 0}
    for booked in bookings_by_tag(ledger).values():
        for b in booked:
            found[b.kind] += b.live
    return found


def check_one_booking_per_order(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("one booking per shipped order")
    by_tag = bookings_by_tag(ledger)
    for tag, booked in sorted(by_tag.items()):
        names = ", ".join(f"{b.kind} {b.shipment_id}" for b in booked)
        if not tag:
            check.fail(f"{len(booked)} booking(s) with no order tag: {names}")
            continue
        order_id, shipment_no = split_reference(tag)
        if order_id not in snap.orders:
            check.fail(f"{tag}: booked ({names}) for an order not in the database")
        if shipment_no > 1 and tag not in snap.replacements:
            check.fail(f"{tag}: a replacement booking ({names}) that no reship decision asked for")
        elif shipment_no > 1 and tag not in snap.shipments:
            check.fail(f"{tag}: the replacement ({names}) has no shipment in the database")
        bought = [b for b in booked if b.kind != "marketplace"]
        if len(bought) > 1:
            check.fail(f"{tag}: {len(bought)} bookings ({names}); expected one")
        if bought and len(bought) < len(booked):
            check.fail(
                f"{tag}: a label was bought ({names}) for an order the marketplace's own "
                "logistics ships"
            )

    shipped = 0
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        if order.status not in SHIPPED:
            continue
        shipped += 1
        oid = order.order_id
        booked = by_tag.get(oid, [])
        live = [b for b in booked if b.live]
        if not booked:
            check.fail(f"{oid} is {order.status} but no carrier booked it")
        elif not live:
            check.fail(f"{oid} is {order.status} but its booking was cancelled")
        found = snap.shipments.get(oid)
        if found is None:
            check.fail(f"{oid} is {order.status} but has no shipment in the database")
        elif found.status == "cancelled":
            check.fail(f"{oid} is {order.status} but its shipment {found.shipment_id} is cancelled")
        elif len(live) == 1 and (found.shipment_id, found.kind) != (
            live[0].shipment_id,
            live[0].kind,
        ):
            check.fail(
                f"{oid}: the database books {found.kind} {found.shipment_id} but the "
                f"outside world has {live[0].kind} {live[0].shipment_id}"
            )
    per_kind = ", ".join(f"{k} {n}" for k, n in counts(ledger).items())
    return check.summary(f"live bookings: {per_kind}; {shipped} shipped/delivered order(s)")


def check_every_label_stored(snap: Snapshot, stored: Callable[[str], bool]) -> Check:
    """Every shipped order names its label, and the label is in the document store."""
    check = Check("every shipped order's label stored")
    shipped = 0
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        found = snap.shipments.get(order.order_id)
        if order.status not in SHIPPED or found is None:
            continue
        shipped += 1
        if not found.label_document:
            check.fail(f"{order.order_id} is {order.status} but no label was kept")
        elif not stored(found.label_document):
            check.fail(f"{order.order_id}: its label {found.label_document} is not in the store")
    return check.summary(f"{shipped} label(s) checked")

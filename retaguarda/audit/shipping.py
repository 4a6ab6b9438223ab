"""Check 3: one carrier booking per order, and a live label for every shipped order."""

from __future__ import annotations

from domain.orders import OrderStatus
from retaguarda.audit.ledger import LedgerView
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot

SHIPPED = frozenset({OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value})


def check_one_booking_per_order(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("one booking per shipped order")
    labels = ledger.labels_by_tag()
    cancelled = ledger.cancelled_labels()
    for tag, ids in sorted(labels.items()):
        shipments = ", ".join(ids)
        if not tag:
            check.fail(f"{len(ids)} label(s) purchased with no order tag: shipments {shipments}")
            continue
        if tag not in snap.orders:
            check.fail(
                f"{tag}: label(s) purchased (shipments {shipments}) for an order not in the "
                "database"
            )
        if len(ids) > 1:
            check.fail(f"{tag}: {len(ids)} labels purchased (shipments {shipments}); expected one")

    shipped = 0
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        if order.status not in SHIPPED:
            continue
        shipped += 1
        oid = order.order_id
        ids = labels.get(oid, [])
        live = [i for i in ids if i not in cancelled]
        if not ids:
            check.fail(f"{oid} is {order.status} but no label was purchased for it")
        elif not live:
            check.fail(f"{oid} is {order.status} but its label ({', '.join(ids)}) was cancelled")
        booked = snap.shipments.get(oid)
        if booked is None:
            check.fail(f"{oid} is {order.status} but has no shipment in the database")
        elif booked.status == "cancelled":
            check.fail(
                f"{oid} is {order.status} but its shipment {booked.shipment_id} is cancelled"
            )
        elif len(live) == 1 and booked.shipment_id != live[0]:
            check.fail(
                f"{oid}: the database books shipment {booked.shipment_id} but the carrier's "
                f"purchased label is {live[0]}"
            )
    purchased = sum(len(ids) for ids in labels.values())
    return check.summary(
        f"{purchased} label(s) purchased, {len(cancelled)} cancelled; "
        f"{shipped} shipped/delivered order(s)"
    )

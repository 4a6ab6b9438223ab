"""Checks 4, 5 and 7: stock conserved, never oversold, consumed by shipped orders."""

from __future__ import annotations

from collections.abc import Iterable

from retaguarda.audit.report import Check
from retaguarda.audit.shipping import SHIPPED
from retaguarda.audit.snapshot import MovementFacts, Snapshot


def _skus(snap: Snapshot, by_sku: Iterable[str]) -> list[str]:
    return sorted(set(snap.stock) | set(snap.movements) | set(by_sku))


def _movements(snap: Snapshot, sku: str) -> MovementFacts:
    return snap.movements.get(sku) or MovementFacts(sku, 0, 0, 0, 0, 0, 0)


def check_stock_conserved(snap: Snapshot) -> Check:
    check = Check("stock conserved")
    by_sku = snap.lines_by_sku()
    for sku in _skus(snap, by_sku):
        row, moved = snap.stock.get(sku), _movements(snap, sku)
        held = by_sku.get(sku, {}).get("reserved", 0)
        if row is None:
            check.fail(f"{sku}: {moved.count} movement(s) and reservations but no stock row")
            continue
        problems = []
        if row.on_hand != moved.on_hand:
            problems.append(f"on_hand is {row.on_hand} but its movements sum to {moved.on_hand}")
        if row.reserved != moved.reserved:
            problems.append(
                f"reserved is {row.reserved} but its reserved deltas sum to {moved.reserved}"
            )
        if row.reserved != held:
            problems.append(
                f"reserved is {row.reserved} but reservations in status reserved hold {held}"
            )
        if not 0 <= row.reserved <= row.on_hand:
            problems.append(f"reserved {row.reserved} is outside 0..on_hand ({row.on_hand})")
        if problems:
            check.fail(f"{sku}: " + "; ".join(problems))
    moves = sum(m.count for m in snap.movements.values())
    return check.summary(f"{len(snap.stock)} SKU(s), {moves} movement(s)")


def check_no_oversell(snap: Snapshot) -> Check:
    check = Check("no oversell")
    by_sku = snap.lines_by_sku()
    for sku in _skus(snap, by_sku):
        row, moved = snap.stock.get(sku), _movements(snap, sku)
        held = by_sku.get(sku, {})
        committed = held.get("reserved", 0) + held.get("shipped", 0)
        problems = []
        if committed > moved.received:
            problems.append(
                f"{committed} unit(s) reserved or shipped but only {moved.received} ever received"
            )
        lowest = min(moved.lowest_on_hand, row.on_hand if row else 0)
        if lowest < 0:
            problems.append(f"on_hand went negative (down to {lowest})")
        if moved.lowest_available < 0:
            problems.append(
                "reservations exceeded the units on hand in the movement ledger "
                f"(available fell to {moved.lowest_available})"
            )
        if problems:
            check.fail(f"{sku}: " + "; ".join(problems))
    received = sum(m.received for m in snap.movements.values())
    return check.summary(f"{received} unit(s) received across {len(snap.movements)} SKU(s)")


def check_shipped_orders_consumed_stock(snap: Snapshot) -> Check:
    check = Check("shipped orders consumed their stock")
    shipped = 0
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        if order.status not in SHIPPED:
            continue
        shipped += 1
        lines = snap.lines.get(order.order_id, [])
        if not lines:
            check.fail(f"{order.order_id} is {order.status} but never reserved any stock")
            continue
        left = [
            f"{line.sku}×{line.quantity} {line.status}"
            for line in lines
            if line.status != "shipped"
        ]
        if left:
            check.fail(
                f"{order.order_id} is {order.status} but its stock was not shipped: "
                + ", ".join(left)
            )
    return check.summary(f"{shipped} shipped/delivered order(s)")

"""Check 6: every cancelled order fully compensated (the saga's undos, seen from outside)."""

from __future__ import annotations

from decimal import Decimal

from domain.fiscal import InvoiceStatus
from domain.orders import Channel, OrderStatus
from retaguarda.audit.invoices import key_owners
from retaguarda.audit.ledger import Entry, LedgerView, money, text
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import OrderFacts, Snapshot

RETURN_INVOICE = InvoiceStatus.NEEDS_RETURN_INVOICE.value


def check_cancelled_orders_compensated(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("every cancelled order fully compensated")
    cancelled = sorted(
        (o for o in snap.orders.values() if o.status == OrderStatus.CANCELLED.value),
        key=lambda o: o.order_id,
    )
    keys_of: dict[str, set[str]] = {}
    for key, owner in key_owners(snap, ledger).items():
        keys_of.setdefault(owner, set()).add(key)
    labels = ledger.labels_by_tag()
    cancelled_labels = ledger.cancelled_labels()
    undone_keys = ledger.cancelled_keys() | ledger.returned_keys()
    approved = ledger.approved_payments()
    refunded = ledger.refunded()
    notified = ledger.channel_orders("channel_notified_cancelled")

    for order in cancelled:
        oid, problems = order.order_id, []
        held = [
            f"{line.sku}×{line.quantity}"
            for line in snap.lines.get(oid, [])
            if line.status == "reserved"
        ]
        if held:
            problems.append(f"stock still reserved ({', '.join(held)})")
        live = [i for i in labels.get(oid, []) if i not in cancelled_labels]
        if live:
            problems.append(f"label(s) {', '.join(live)} purchased and never cancelled")
        problems += _invoice_problems(snap, oid, keys_of.get(oid, set()), undone_keys)
        problems += _refund_problems(order, approved, refunded)
        if oid not in notified:
            problems.append("the channel was never notified (no channel_notified_cancelled)")
        if problems:
            check.fail(f"{oid} is cancelled but not fully compensated: " + "; ".join(problems))
    return check.summary(f"{len(cancelled)} cancelled order(s)")


def _invoice_problems(
    snap: Snapshot, order_id: str, ledger_keys: set[str], undone_keys: set[str]
) -> list[str]:
    """Each NF-e of the order cancelled at SEFAZ or undone by a return NF-e."""
    inv = snap.invoices.get(order_id)
    keys = set(ledger_keys)
    if inv is not None and inv.access_key:
        keys.add(inv.access_key)
    flagged = inv is not None and inv.status == RETURN_INVOICE
    return [
        f"NF-e {key} neither cancelled at SEFAZ nor undone by a return NF-e"
        + (" (flagged for one that was never emitted)" if flagged else "")
        for key in sorted(keys)
        if key not in undone_keys
    ]


def _refund_problems(
    order: OrderFacts,
    approved: dict[str, list[Entry]],
    refunded: dict[str, Decimal],
) -> list[str]:
    """Store payments only: marketplace orders are refunded by the marketplace."""
    if order.channel != Channel.STORE.value:
        return []
    problems = []
    payments: dict[str, Decimal] = {}
    for entry in approved.get(f"{order.channel}:{order.external_id}", []):
        payments.setdefault(text(entry, "payment_id"), money(entry, "amount"))
    for payment_id, amount in sorted(payments.items()):
        back = refunded.get(payment_id, Decimal("0.00"))
        if back != amount:
            problems.append(f"store payment {payment_id} of {amount} approved, {back} refunded")
    return problems

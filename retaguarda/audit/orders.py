"""Check 1: no order lost between the channels, the inbox and the orders read model."""

from __future__ import annotations

from collections import defaultdict

from domain.orders import TERMINAL_STATUSES
from retaguarda.audit.ledger import LedgerView
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot

TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)


def not_terminal(snap: Snapshot) -> list[str]:
    return sorted(o.order_id for o in snap.orders.values() if o.status not in TERMINAL)


def check_no_order_lost(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("no order lost")
    if not ledger.present:
        check.fail(f"no sandbox ledger at {ledger.path}: run the stack/demo first")
    for line in ledger.unreadable:
        check.fail(f"sandbox ledger line {line} is not a JSON entry: inspect {ledger.path}:{line}")

    # Per order, where it got lost: the channel created it and/or the inbox holds it.
    lost: dict[str, list[str]] = defaultdict(list)
    created = ledger.channel_orders()
    for order_id in sorted(created - snap.orders.keys()):
        lost[order_id].append("created on the channel (ledger order_created)")
    for row in snap.inbox:
        if row.workflow_id in snap.orders:
            continue
        event = f"inbox #{row.id} ({row.source} {row.kind}, event {row.event_id})"
        if row.status == "ignored":
            if (row.last_error or "").strip():
                continue
            lost[row.workflow_id].append(f"{event} was ignored without a reason")
        else:
            error = f": {row.last_error}" if row.last_error else ""
            lost[row.workflow_id].append(f"{event} is {row.status}{error}")
    inboxed = {row.workflow_id for row in snap.inbox}
    for order_id, where in sorted(lost.items()):
        if order_id in created and order_id not in inboxed:
            where.append("no webhook for it in the inbox (never received)")
        check.fail(f"{order_id}: not in the orders table; " + "; ".join(where))

    waiting = not_terminal(snap)
    return check.summary(
        f"{len(created)} channel order(s) in the ledger, {len(snap.orders)} in the database; "
        f"{len(waiting)} not yet terminal"
    )

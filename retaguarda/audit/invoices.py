"""Check 2: one authorised NF-e per invoiced order, the database agreeing with SEFAZ."""

from __future__ import annotations

from collections import defaultdict

from domain.fiscal import InvoiceStatus
from domain.orders import OrderStatus
from retaguarda.audit.ledger import LedgerView, text
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot

INVOICED_OR_LATER = frozenset(
    s.value
    for s in (
        OrderStatus.INVOICED,
        OrderStatus.PICKING,
        OrderStatus.PICKED,
        OrderStatus.PACKED,
        OrderStatus.CHECKED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    )
)
CANCELLED = InvoiceStatus.CANCELLED.value


def key_owners(snap: Snapshot, ledger: LedgerView) -> dict[str, str]:
    """Ledger access key -> the order it belongs to: the invoice holding that key, else the
    order the number (series, nNF) was allocated to. Keys that map to no order are absent."""
    by_key = {i.access_key: i.order_id for i in snap.invoices.values() if i.access_key}
    owners = {}
    for key, entries in ledger.authorisations().items():
        owner = by_key.get(key) or snap.numbers.get(_number(entries[0]))
        if owner is not None:
            owners[key] = owner
    return owners


def _number(entry: dict[str, object]) -> tuple[int, int]:
    try:
        return int(str(entry.get("series"))), int(str(entry.get("number")))
    except ValueError:
        return -1, -1


def check_one_invoice_per_order(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("one authorised NF-e per invoiced order")
    auths = ledger.authorisations()
    cancelled_keys = ledger.cancelled_keys()
    recorded = {i.access_key for i in snap.invoices.values() if i.access_key}

    numbering: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for key, entries in sorted(auths.items()):
        if len(entries) > 1:
            protocols = ", ".join(text(e, "protocol") for e in entries)
            check.fail(
                f"NF-e {key} authorised {len(entries)} times in the ledger (protocols {protocols})"
            )
        for e in entries:
            numbering[(text(e, "cnpj"), text(e, "series"), text(e, "number"))].add(key)
    for (cnpj, series_no, nnf), same in sorted(numbering.items()):
        if len(same) > 1:
            check.fail(
                f"NF-e series {series_no} no. {nnf} (CNPJ {cnpj}) authorised under "
                f"{len(same)} access keys: {', '.join(sorted(same))}"
            )

    owners = key_owners(snap, ledger)
    per_order: dict[str, list[str]] = defaultdict(list)
    for key, entries in sorted(auths.items()):
        series, number = _number(entries[0])
        where = f"NF-e {key} (series {series} no. {number}) authorised at SEFAZ"
        owner = owners.get(key)
        if owner is None:
            check.fail(f"{where} belongs to no order in the database")
            continue
        per_order[owner].append(key)
        if key not in recorded:
            held = snap.invoices.get(owner)
            kept = f" (it holds {held.access_key})" if held and held.access_key else ""
            check.fail(f"{owner}: {where} is not the invoice recorded in the database{kept}")
    for order_id, order_keys in sorted(per_order.items()):
        if len(order_keys) > 1:
            check.fail(f"{order_id}: {len(order_keys)} NF-e authorised: {', '.join(order_keys)}")

    for inv in sorted(snap.invoices.values(), key=lambda i: i.order_id):
        inv_key = inv.access_key
        if inv_key is None:
            check.fail(f"{inv.order_id}: invoice {inv.status} in the database with no access key")
        elif inv_key not in auths:
            check.fail(
                f"{inv.order_id}: NF-e {inv_key} is {inv.status} in the database but SEFAZ never "
                "authorised it (no invoice_authorised in the ledger)"
            )
        elif inv.status == CANCELLED and inv_key not in cancelled_keys:
            check.fail(
                f"{inv.order_id}: NF-e {inv_key} is cancelled in the database but SEFAZ has no "
                "cancellation for it"
            )
        elif inv.status != CANCELLED and inv_key in cancelled_keys:
            check.fail(
                f"{inv.order_id}: NF-e {inv_key} was cancelled at SEFAZ but the database has it "
                f"{inv.status}"
            )

    invoiced = 0
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        if order.status not in INVOICED_OR_LATER:
            continue
        invoiced += 1
        found = snap.invoices.get(order.order_id)
        if found is None:
            check.fail(f"{order.order_id} is {order.status} but has no invoice in the database")
        elif found.status == CANCELLED:
            check.fail(
                f"{order.order_id} is {order.status} but its NF-e {found.access_key} is cancelled"
            )
    return check.summary(
        f"{len(auths)} NF-e authorised in the ledger, {len(snap.invoices)} invoice(s) in the "
        f"database, {invoiced} order(s) at or past invoiced"
    )

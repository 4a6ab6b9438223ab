"""Check: NF-e numbering without undeclared gaps, and every return NF-e undoing one sale.

SEFAZ expects each series' numbers in order, each one either on an authorised NF-e or
voided (inutilização); a number skipped without voiding is a gap the tax office asks
about. Numbers held by orders still in flight are pending, not gaps."""

from __future__ import annotations

from collections import defaultdict

from retaguarda.audit.invoices import key_owners
from retaguarda.audit.ledger import LedgerView, text
from retaguarda.audit.orders import not_terminal
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot


def check_no_unvoided_numbering_gap(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("no unvoided gap in NF-e numbering")
    used, voided = ledger.used_numbers(), ledger.voided_numbers()
    in_flight = set(not_terminal(snap))
    pending = 0
    for cnpj, series in sorted(used.keys() | voided.keys()):
        taken = used.get((cnpj, series), set())
        gone = voided.get((cnpj, series), set())
        for number in sorted(taken & gone):
            check.fail(f"NF-e {series}/{number} (CNPJ {cnpj}) is both authorised and voided")
        for number in range(1, max(taken | gone) + 1):
            if number in taken or number in gone:
                continue
            owner = snap.numbers.get((series, number))
            if owner in in_flight:
                pending += 1
                continue
            held = f"allocated to {owner}" if owner else "allocated to nothing in the database"
            check.fail(
                f"NF-e {series}/{number} (CNPJ {cnpj}) is a gap: neither authorised nor voided "
                f"at SEFAZ ({held}): void it (NFeInutilizacao4)"
            )
    used_here = {(s, n) for (_, s), numbers in used.items() for n in numbers}
    for series, number in sorted(snap.voided - snap.sefaz_voided):
        if (series, number) not in used_here:
            check.fail(
                f"NF-e {series}/{number} was given up by {snap.numbers[(series, number)]} "
                "but never voided at SEFAZ"
            )
    declared = sum(len(v) for v in voided.values())
    return check.summary(
        f"{sum(len(v) for v in used.values())} number(s) used, {declared} voided at SEFAZ, "
        f"{pending} held by orders in flight"
    )


def check_returns_undo_one_sale(snap: Snapshot, ledger: LedgerView) -> Check:
    check = Check("every return NF-e undoes one sale of its order")
    returns = ledger.returns()
    owners = key_owners(snap, ledger)
    recorded = {r.access_key: r for r in snap.returns.values()}
    per_sale: dict[str, list[str]] = defaultdict(list)
    for key, entries in sorted(returns.items()):
        if len(entries) > 1:
            check.fail(f"return NF-e {key} authorised {len(entries)} times")
        sale = text(entries[0], "refers_to")
        per_sale[sale].append(key)
        owner = owners.get(sale)
        if owner is None:
            check.fail(f"return NF-e {key} refers to {sale}, which belongs to no order")
            continue
        held = recorded.get(key)
        if held is None or held.order_id != owner or held.refers_to != sale:
            check.fail(f"{owner}: return NF-e {key} is not the one recorded in the database")
    for sale, keys in sorted(per_sale.items()):
        if len(keys) > 1:
            check.fail(f"NF-e {sale} returned {len(keys)} times: {', '.join(keys)}")
    for facts in sorted(snap.returns.values(), key=lambda r: r.order_id):
        if facts.access_key not in returns:
            check.fail(
                f"{facts.order_id}: return NF-e {facts.access_key} is in the database but "
                "SEFAZ never authorised it"
            )
    return check.summary(f"{len(returns)} return NF-e authorised")

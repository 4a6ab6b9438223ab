"""The sandbox ledger (JSON lines), read tolerantly and indexed the way the checks ask.

Fields relied on, per kind (see sandbox/*.py):

- store, marketplace: ``order_created`` {order_id, total}, ``channel_notified_cancelled``
  {order_id}; ``order_id`` is the channel's own id, the workflow id is
  ``order:<provider>:<order_id>``.
- payments: ``payment_approved`` {payment_id, external_reference, amount}, ``refund``
  {payment_id, refund_id, amount, external_reference}; external_reference is
  ``<channel>:<external id>``.
- sefaz: ``invoice_authorised`` {access_key, protocol, number, series, cnpj[, purpose:
  return, refers_to]}, ``invoice_cancelled`` {access_key, protocol}, ``numbers_voided``
  {cnpj, series, first, last, protocol}, ``invoice_corrected`` {access_key, sequence}.
- carrier: ``label_purchased`` {shipment_id, tag}, ``label_cancelled`` {shipment_id, tag};
- portal: ``pickup_booked`` {pickup, tag}, ``pickup_cancelled`` {pickup, tag};
- marketplace: ``label_printed`` {shipment_id, tag} (its own logistics: nothing bought);
  the tag is the order workflow id.

Unknown kinds are kept and counted, never an error.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

CHANNELS = ("store", "marketplace")

Entry = dict[str, Any]


@dataclass(slots=True)
class LedgerView:
    path: Path
    present: bool
    entries: list[Entry] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)  # 1-based line numbers
    _by_kind: dict[str, list[Entry]] = field(default_factory=dict)

    def of(self, kind: str, provider: str | None = None) -> list[Entry]:
        found = self._by_kind.get(kind, [])
        return found if provider is None else [e for e in found if e.get("provider") == provider]

    def kinds(self) -> dict[str, int]:
        return dict(sorted(Counter(str(e.get("kind")) for e in self.entries).items()))

    # ------------------------------------------------------------------ derived indexes
    def channel_orders(self, kind: str = "order_created") -> set[str]:
        """Workflow ids of the channel orders named by ``kind`` entries."""
        out = set()
        for provider in CHANNELS:
            for e in self.of(kind, provider):
                if text(e, "order_id"):
                    out.add(f"order:{provider}:{text(e, 'order_id')}")
        return out

    def authorisations(self) -> dict[str, list[Entry]]:
        """Sale NF-e: access key -> its ``invoice_authorised`` entries (more than one is a
        duplicate). Return NF-e (``purpose: return``) are in `returns`."""
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.of("invoice_authorised"):
            if text(e, "purpose") != "return":
                out[text(e, "access_key")].append(e)
        return dict(out)

    def returns(self) -> dict[str, list[Entry]]:
        """Return NF-e (finNFe 4): access key -> its ``invoice_authorised`` entries."""
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.of("invoice_authorised"):
            if text(e, "purpose") == "return":
                out[text(e, "access_key")].append(e)
        return dict(out)

    def returned_keys(self) -> set[str]:
        """Sale NF-e a return NF-e refers to."""
        return {text(e[0], "refers_to") for e in self.returns().values()}

    def used_numbers(self) -> dict[tuple[str, int], set[int]]:
        """(CNPJ, series) -> numbers SEFAZ authorised an NF-e (sale or return) with."""
        out: dict[tuple[str, int], set[int]] = defaultdict(set)
        for e in self.of("invoice_authorised"):
            try:
                out[(text(e, "cnpj"), int(text(e, "series")))].add(int(text(e, "number")))
            except ValueError:
                continue
        return dict(out)

    def voided_numbers(self) -> dict[tuple[str, int], set[int]]:
        """(CNPJ, series) -> numbers SEFAZ voided (inutilização homologated)."""
        out: dict[tuple[str, int], set[int]] = defaultdict(set)
        for e in self.of("numbers_voided"):
            try:
                first, last = int(text(e, "first")), int(text(e, "last"))
                out[(text(e, "cnpj"), int(text(e, "series")))].update(range(first, last + 1))
            except ValueError:
                continue
        return dict(out)

    def cancelled_keys(self) -> set[str]:
        return {text(e, "access_key") for e in self.of("invoice_cancelled")}

    def labels_by_tag(self) -> dict[str, list[str]]:
        """Order tag -> shipment ids of the labels purchased for it ("" for no tag)."""
        out: dict[str, list[str]] = defaultdict(list)
        for e in self.of("label_purchased"):
            out[text(e, "tag")].append(text(e, "shipment_id"))
        return dict(out)

    def cancelled_labels(self) -> set[str]:
        return {text(e, "shipment_id") for e in self.of("label_cancelled")}

    def pickups_by_tag(self) -> dict[str, list[str]]:
        """Order reference -> pickups booked on the carrier portal."""
        out: dict[str, list[str]] = defaultdict(list)
        for e in self.of("pickup_booked", "portal"):
            out[text(e, "tag")].append(text(e, "pickup"))
        return dict(out)

    def cancelled_pickups(self) -> set[str]:
        return {text(e, "pickup") for e in self.of("pickup_cancelled", "portal")}

    def marketplace_labels_by_tag(self) -> dict[str, list[str]]:
        """Order tag -> marketplace shipments whose label was printed (nothing bought)."""
        out: dict[str, list[str]] = defaultdict(list)
        for e in self.of("label_printed", "marketplace"):
            out[text(e, "tag")].append(text(e, "shipment_id"))
        return dict(out)

    def approved_payments(self) -> dict[str, list[Entry]]:
        """external_reference -> its ``payment_approved`` entries."""
        out: dict[str, list[Entry]] = defaultdict(list)
        for e in self.of("payment_approved"):
            out[text(e, "external_reference")].append(e)
        return dict(out)

    def refunded(self) -> dict[str, Decimal]:
        """payment_id -> total refunded."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for e in self.of("refund"):
            out[text(e, "payment_id")] += money(e, "amount")
        return dict(out)


def text(entry: Entry, name: str) -> str:
    value = entry.get(name)
    return "" if value is None else str(value)


def money(entry: Entry, name: str) -> Decimal:
    try:
        return Decimal(str(entry.get(name))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def load_ledger(path: Path) -> LedgerView:
    """Read the ledger; a line that is not a JSON object (e.g. cut short by a crash) is
    recorded in ``unreadable`` instead of failing the whole audit."""
    if not path.is_file():
        return LedgerView(path=path, present=False)
    view = LedgerView(path=path, present=True)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                view.unreadable.append(number)
                continue
            if not isinstance(entry, dict) or "kind" not in entry:
                view.unreadable.append(number)
                continue
            view.entries.append(entry)
            view._by_kind.setdefault(str(entry["kind"]), []).append(entry)
    return view

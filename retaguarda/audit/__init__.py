"""`retaguarda audit`: cross-check the database against the sandbox ledger.

Works after the stack has stopped: it reads the database (a handful of SELECTs in one
read-only transaction) and the ledger file, nothing over HTTP. Every violation names the
order, SKU or access key to look at.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from db.session import create_engine, create_sessionmaker, normalise_url, read_session
from domain.steps import OrderState
from retaguarda.audit.cancellations import check_cancelled_orders_compensated
from retaguarda.audit.fulfilment import (
    check_no_invoice_number_left_dangling,
    check_no_reservation_held_by_a_finished_order,
    check_warehouse_tasks_agree,
)
from retaguarda.audit.invoices import check_one_invoice_per_order
from retaguarda.audit.ledger import LedgerView, load_ledger
from retaguarda.audit.live import workflow_states
from retaguarda.audit.numbering import check_no_unvoided_numbering_gap, check_returns_undo_one_sale
from retaguarda.audit.orders import check_no_order_lost, not_terminal
from retaguarda.audit.report import Check
from retaguarda.audit.shipping import check_every_label_stored, check_one_booking_per_order
from retaguarda.audit.snapshot import Snapshot, load_snapshot
from retaguarda.audit.stock import (
    check_no_oversell,
    check_shipped_orders_consumed_stock,
    check_stock_conserved,
)
from retaguarda.sandbox_config import ledger_path

__all__ = ["audit", "run_audit"]


async def run_audit(settings: Settings, *, live: bool = False) -> dict[str, Any]:
    """{"ok", "checks": [{"name", "ok", "detail", "violations"}], "counts"}. `live` also
    asks every order workflow what it knows (Temporal and a worker must be up)."""
    ledger = await asyncio.to_thread(load_ledger, ledger_path(settings))
    url = settings.database_url
    broken = Check("database readable")
    try:
        snap = await _read_database(url)
    except FileNotFoundError as exc:
        broken.fail(f"{exc}: run the stack/demo first")
    except (SQLAlchemyError, OSError) as exc:
        where = make_url(normalise_url(url)).render_as_string(hide_password=True)
        broken.fail(
            f"cannot read the database at {where} ({type(exc).__name__}: {exc}): "
            "run `retaguarda db upgrade` or the stack/demo first"
        )
    else:
        stored = await asyncio.to_thread(_stored_labels, settings.documents_dir, snap)
        if not live:
            return audit(snap, ledger, labels=stored)
        states, problems = await workflow_states(settings, sorted(snap.orders))
        report = audit(snap, ledger, states, labels=stored)
        if problems:
            asked = Check("every order workflow answers", problems)
            report["checks"].append(asked.summary(f"{len(states)} answered").as_dict())
            report["ok"] = False
        return report
    return _report([broken.summary("the audit needs the database")], {})


def _stored_labels(root: Path, snap: Snapshot) -> set[str]:
    """The shipments' label documents that are in the document store."""
    names = {s.label_document for s in snap.shipments.values() if s.label_document}
    return {n for n in names if (root / n).is_file()}


def audit(
    snap: Snapshot,
    ledger: LedgerView,
    workflows: dict[str, OrderState] | None = None,
    *,
    labels: set[str] | None = None,
) -> dict[str, Any]:
    """The checks over data already loaded (pure: no I/O). `labels`: the label documents
    found in the store (None: not looked at)."""

    def needs_ledger(name: str, run: Callable[[Snapshot, LedgerView], Check]) -> Check:
        if ledger.present:
            return run(snap, ledger)
        return Check(name, detail="not checked: no sandbox ledger", skipped=True)

    checks = [
        check_no_order_lost(snap, ledger),
        needs_ledger("one authorised NF-e per invoiced order", check_one_invoice_per_order),
        needs_ledger("one booking per shipped order", check_one_booking_per_order),
        (
            check_every_label_stored(snap, labels.__contains__)
            if labels is not None
            else Check("every shipped order's label stored", detail="not checked", skipped=True)
        ),
        check_stock_conserved(snap),
        check_no_oversell(snap),
        needs_ledger("every cancelled order fully compensated", check_cancelled_orders_compensated),
        check_shipped_orders_consumed_stock(snap),
        check_no_reservation_held_by_a_finished_order(snap),
        check_warehouse_tasks_agree(snap, workflows),
        check_no_invoice_number_left_dangling(snap),
        needs_ledger("no unvoided gap in NF-e numbering", check_no_unvoided_numbering_gap),
        needs_ledger("every return NF-e undoes one sale of its order", check_returns_undo_one_sale),
    ]
    return _report(checks, _counts(snap, ledger))


def _counts(snap: Snapshot, ledger: LedgerView) -> dict[str, Any]:
    unknown = snap.orders.keys() - ledger.channel_orders() if ledger.present else set()
    return {
        "orders": len(snap.orders),
        "orders_by_status": dict(sorted(Counter(o.status for o in snap.orders.values()).items())),
        "not_terminal": len(not_terminal(snap)),
        "orders_not_in_ledger": len(unknown),
        "invoices": len(snap.invoices),
        "return_invoices": len(snap.returns),
        "shipments": len(snap.shipments),
        "skus": len(snap.stock),
        "stock_movements": sum(m.count for m in snap.movements.values()),
        "reservation_lines": sum(len(lines) for lines in snap.lines.values()),
        "ledger_entries": len(ledger.entries),
        "ledger_kinds": ledger.kinds(),
    }


def _report(checks: list[Check], counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": all(c.ok for c in checks),
        "checks": [c.as_dict() for c in checks],
        "counts": counts,
    }


async def _read_database(url: str) -> Snapshot:
    options: dict[str, Any] = {}
    if make_url(normalise_url(url)).get_backend_name() == "sqlite":
        _require_sqlite_file(url)  # connecting would create an empty one
    else:
        options["isolation_level"] = "REPEATABLE READ"  # one consistent snapshot
    engine = create_engine(url, **options)
    try:
        async with read_session(create_sessionmaker(engine)) as s:
            return await load_snapshot(s)
    finally:
        await engine.dispose()


def _require_sqlite_file(url: str) -> None:
    database = make_url(normalise_url(url)).database or ""
    if database and database != ":memory:" and not Path(database).is_file():
        raise FileNotFoundError(f"no database at {database}")

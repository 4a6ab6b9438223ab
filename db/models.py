"""SQLAlchemy models: the schema the migrations in db/migrations create.

Repositories use these internally and hand out domain models or small frozen views; no
ORM object leaves db/.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import MoneyType, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORDER_ID = 200
SKU = 60


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


MOVEMENT_REASONS = ("receipt", "adjustment", "reserve", "release", "ship")
RESERVATION_STATUSES = ("reserved", "released", "shipped")
INBOX_SOURCES = ("store", "marketplace", "payments", "carrier")
INBOX_STATUSES = ("pending", "started", "ignored", "failed", "quarantined")
INBOX_RESOLUTIONS = ("fixed", "redriven", "redelivered")
TASK_STATUSES = ("pending", "picked", "packed", "checked", "cancelled")
WAREHOUSE_STEPS = ("pick", "pack", "check")
API_ROLES = ("admin", "ops", "warehouse", "finance", "viewer")
RECEIVABLE_STATUSES = ("open", "refunded")
RECON_KINDS = ("marketplace", "bank")
RECON_CLASSES = (
    "matched", "fee_divergence", "amount_divergence", "missing_payout", "unexpected_payout",
    "chargeback", "anticipated", "unmatched_line", "unmatched_expected",
)  # fmt: skip


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: MoneyType(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Product(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(SKU), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    ncm: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(1), server_default=text("'0'"))  # NF-e orig
    gtin: Mapped[str] = mapped_column(String(14), server_default=text("''"))
    bin: Mapped[str] = mapped_column(String(20), server_default=text("''"))  # shelf location
    price: Mapped[Decimal]
    cost: Mapped[Decimal]
    supplier: Mapped[str] = mapped_column(String(100), server_default=text("''"), default="")
    weight_g: Mapped[int]
    height_cm: Mapped[int]
    width_cm: Mapped[int]
    length_cm: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Stock(Base):
    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(20), server_default=text("'main'"))
    on_hand: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reserved: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[datetime]


class StockLot(Base):
    """What is on hand of a SKU per lot and bin, with the lot's expiry (FEFO picks)."""

    __tablename__ = "stock_lots"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(40), primary_key=True)
    bin: Mapped[str] = mapped_column(String(20), primary_key=True)
    expires_on: Mapped[date | None]
    quantity: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    received_at: Mapped[datetime]


class PickAllocation(Base):
    """The lots an order's pick takes, chosen once (first expiry first) when its pick list
    is first shown; consumed when the order ships, dropped when it is released."""

    __tablename__ = "pick_allocations"

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    sku: Mapped[str] = mapped_column(String(SKU), primary_key=True)
    lot: Mapped[str] = mapped_column(String(40), primary_key=True)  # "": no lot
    bin: Mapped[str] = mapped_column(String(20), primary_key=True)
    expires_on: Mapped[date | None]
    quantity: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]


class StockMovement(Base):
    """Append-only ledger: per SKU, the sums of the deltas equal the stock row."""

    __tablename__ = "stock_movements"
    __table_args__ = (CheckConstraint(_in("reason", MOVEMENT_REASONS), name="reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    delta_on_hand: Mapped[int]
    delta_reserved: Mapped[int]
    reason: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[str | None] = mapped_column(String(ORDER_ID), index=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    at: Mapped[datetime]


class ReservationLine(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(_in("status", RESERVATION_STATUSES), name="status"),
    )

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboxRow(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        CheckConstraint(_in("source", INBOX_SOURCES), name="source"),
        CheckConstraint(_in("status", INBOX_STATUSES), name="status"),
        CheckConstraint(
            f"resolution IS NULL OR {_in('resolution', INBOX_RESOLUTIONS)}", name="resolution"
        ),
        Index("ix_inbox_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    workflow_id: Mapped[str] = mapped_column(String(ORDER_ID), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    # The relay's claim: not handed out again before `claimed_until` (a relay's lease, or
    # the back-off after a failed attempt).
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None]
    # Quarantine: a signed body that did not validate (workflow_id and kind are "" and
    # payload {} until it is fixed or re-driven and becomes a pending entry).
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    problem: Mapped[str | None] = mapped_column(Text)
    problem_field: Mapped[str | None] = mapped_column(String(200))
    deliveries: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[datetime | None]


class OrderRow(Base):
    """Read model of an order, fed by the activities of its workflow."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        # Each phase's (end, start): the KPIs read a range of the end and never the row.
        *(Index(f"ix_orders_t_{end}_t_{start}", f"t_{end}", f"t_{start}") for start, end in (
            ("received", "paid"), ("paid", "invoiced"), ("invoiced", "picked"),
            ("picked", "packed"), ("packed", "checked"), ("checked", "shipped"),
            ("shipped", "delivered"),
        )),
        # The perfect-order rate's two reads (delivered, and cancelled after payment).
        Index("ix_orders_kpi_delivered", "t_delivered", "t_paid", "t_received", "t_cancelled",
              "check_mismatches"),
        Index("ix_orders_kpi_cancelled", "t_cancelled", "t_paid", "t_delivered",
              "check_mismatches"),
    )  # fmt: skip

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(120))
    total: Mapped[Decimal | None]
    items: Mapped[list[Any]]
    needs_attention: Mapped[bool] = mapped_column(server_default=text("false"), index=True)
    stuck_step: Mapped[str | None] = mapped_column(String(60))
    failure: Mapped[dict[str, Any] | None]
    invoice_key: Mapped[str | None] = mapped_column(String(44))
    tracking_code: Mapped[str | None] = mapped_column(String(60))
    carrier: Mapped[str | None] = mapped_column(String(60))
    phase_times: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    customer_cpf: Mapped[str | None] = mapped_column(String(11), index=True)
    # The KPIs' columns: when each phase was first reached, in epoch seconds (the same
    # integer arithmetic on SQLite and PostgreSQL), and check mismatches caught.
    t_received: Mapped[int | None] = mapped_column(BigInteger)
    t_paid: Mapped[int | None] = mapped_column(BigInteger)
    t_invoiced: Mapped[int | None] = mapped_column(BigInteger)
    t_picked: Mapped[int | None] = mapped_column(BigInteger)
    t_packed: Mapped[int | None] = mapped_column(BigInteger)
    t_checked: Mapped[int | None] = mapped_column(BigInteger)
    t_shipped: Mapped[int | None] = mapped_column(BigInteger)
    t_delivered: Mapped[int | None] = mapped_column(BigInteger)
    t_cancelled: Mapped[int | None] = mapped_column(BigInteger)
    check_mismatches: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class InvoiceSeries(Base):
    """Last number handed out per NF-e series (the row is the allocation lock)."""

    __tablename__ = "invoice_series"

    series: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class InvoiceNumber(Base):
    """One number per (order, series), never reused: UNIQUE(series, number)."""

    __tablename__ = "invoice_numbers"
    __table_args__ = (UniqueConstraint("series", "number"),)

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    series: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[int]
    allocated_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]  # given up by a cancelled order that never used it
    # SEFAZ homologated the voiding (NFeInutilizacao4, cStat 102): the gap is declared
    sefaz_voided_at: Mapped[datetime | None]
    voiding_protocol: Mapped[str | None] = mapped_column(String(20))
    # the emission's journal: a normal send with no answer yet, or a contingency (SVC)
    in_doubt: Mapped[bool] = mapped_column(default=False, server_default=false())
    contingency: Mapped[str | None] = mapped_column(String(1))
    contingency_since: Mapped[datetime | None]
    contingency_reason: Mapped[str | None] = mapped_column(String(256))


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("series", "number"),)

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    number: Mapped[int]
    series: Mapped[int]
    access_key: Mapped[str | None] = mapped_column(String(44), unique=True)
    protocol: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), index=True)
    authorised_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    xml: Mapped[str | None] = mapped_column(Text)


class SefazOutage(Base):
    """An authoriser answering 108/109 since `since` (cleared when it answers again)."""

    __tablename__ = "sefaz_outages"

    authoriser: Mapped[str] = mapped_column(String(20), primary_key=True)
    since: Mapped[datetime]
    last_seen: Mapped[datetime]
    cstat: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    cleared_at: Mapped[datetime | None]


class ReturnInvoiceRow(Base):
    """The return NF-e (finNFe 4) that undid an order's sale NF-e past its window."""

    __tablename__ = "return_invoices"
    __table_args__ = (UniqueConstraint("series", "number"),)

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    refers_to: Mapped[str] = mapped_column(String(44))
    series: Mapped[int]
    number: Mapped[int]
    access_key: Mapped[str] = mapped_column(String(44), unique=True)
    protocol: Mapped[str] = mapped_column(String(30))
    authorised_at: Mapped[datetime]
    xml: Mapped[str | None] = mapped_column(Text)


class InvoiceCorrectionRow(Base):
    """A correction letter (CC-e, event 110110) asked for an authorised NF-e."""

    __tablename__ = "invoice_corrections"

    access_key: Mapped[str] = mapped_column(String(44), primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    order_id: Mapped[str] = mapped_column(String(ORDER_ID), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    protocol: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(100), default="")
    requested_at: Mapped[datetime]
    registered_at: Mapped[datetime | None]


class ShipmentRow(Base):
    __tablename__ = "shipments"

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(100))
    tracking_code: Mapped[str] = mapped_column(String(60))
    carrier: Mapped[str] = mapped_column(String(60), index=True)
    service: Mapped[str] = mapped_column(String(60))
    price: Mapped[Decimal]
    label_url: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_at: Mapped[datetime]
    booked_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(20), default="api", server_default=text("'api'"))
    label_document: Mapped[str] = mapped_column(String(300), default="", server_default=text("''"))
    freight: Mapped[dict[str, Any] | None]  # the choice: quote taken, quotes left aside


class WarehouseTask(Base):
    __tablename__ = "warehouse_tasks"
    __table_args__ = (
        CheckConstraint(_in("status", TASK_STATUSES), name="status"),
        Index("ix_warehouse_tasks_status_created_at", "status", "created_at"),
    )

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    items: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WarehouseEvent(Base):
    __tablename__ = "warehouse_events"
    __table_args__ = (
        UniqueConstraint("order_id", "step"),
        CheckConstraint(_in("step", WAREHOUSE_STEPS), name="step"),
        # the KPIs per operator and shift read a range of `at` from this index alone
        Index("ix_warehouse_events_kpi", "at", "operator", "shift", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("warehouse_tasks.order_id"))
    step: Mapped[str] = mapped_column(String(10))
    operator: Mapped[str] = mapped_column(String(60))
    shift: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(index=True)
    # pack only: the parcel as weighed and measured, for the freight
    weight_g: Mapped[int | None] = mapped_column(Integer)
    height_cm: Mapped[int | None] = mapped_column(Integer)
    width_cm: Mapped[int | None] = mapped_column(Integer)
    length_cm: Mapped[int | None] = mapped_column(Integer)


class WarehouseMistake(Base):
    """A check (conferência) that did not match: caught before the parcel left."""

    __tablename__ = "warehouse_mistakes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("warehouse_tasks.order_id"), index=True)
    operator: Mapped[str] = mapped_column(String(60))
    shift: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(index=True)
    differences: Mapped[list[Any]]
    key: Mapped[str | None] = mapped_column(String(200), unique=True)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    order_id: Mapped[str | None] = mapped_column(String(ORDER_ID), index=True)
    details: Mapped[dict[str, Any] | None]
    key: Mapped[str | None] = mapped_column(String(200), unique=True)


class OrderCorrectionRow(Base):
    """The customer's data corrected by ops on a stuck order (address or CPF), with what
    it was: the order's original data is never overwritten here (the workflow holds the
    corrected order from the retry on). One row per correction form (`key`)."""

    __tablename__ = "order_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(String(ORDER_ID), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # address | cpf
    original: Mapped[dict[str, Any]]
    corrected: Mapped[dict[str, Any]]
    step: Mapped[str] = mapped_column(String(60))  # the step it unblocked
    error_type: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime]
    key: Mapped[str | None] = mapped_column(String(200), unique=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", API_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    role: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AnticipationRow(Base):
    """An advance of receivables: the provider paid `net` on `taken_on` for receivables
    of `gross`, keeping `fee` (the discount); the receivables it covers point at it."""

    __tablename__ = "anticipations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)  # idempotency
    taken_on: Mapped[date] = mapped_column(index=True)
    gross: Mapped[Decimal]
    discount_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    fee: Mapped[Decimal]
    net: Mapped[Decimal]
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]


class ReceivableRow(Base):
    """What a paid order is owed by its channel (domain/receivables.py computes it)."""

    __tablename__ = "receivables"
    __table_args__ = (CheckConstraint(_in("status", RECEIVABLE_STATUSES), name="status"),)

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100), unique=True)
    gross: Mapped[Decimal]
    commission: Mapped[Decimal]
    fixed_fee: Mapped[Decimal]
    freight: Mapped[Decimal]
    net: Mapped[Decimal]
    refunded: Mapped[Decimal]
    paid_at: Mapped[datetime]
    expected_release: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10))
    anticipation_id: Mapped[int | None] = mapped_column(ForeignKey("anticipations.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReconciliationRun(Base):
    """One night of one kind: what it read and how its lines were classified."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (CheckConstraint(_in("kind", RECON_KINDS), name="kind"),)

    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # running | done
    source: Mapped[str] = mapped_column(String(200), server_default=text("''"))
    lines: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    classified: Mapped[dict[str, Any]]
    alerts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # The highest line number any attempt stored for the night: a chunk beyond it has
    # nothing to replace, and a rerun with fewer lines knows there are lines to drop.
    stored_through: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # per class of a done night: {"lines", "amount", "expected"} as summed by the month
    # close (db/month_close.py); None until summed and whenever the night runs again
    totals: Mapped[dict[str, Any] | None]


class ReconciliationLine(Base):
    """One classified line of a run (a report or statement line, or something expected
    that did not come). Written in bulk (COPY on PostgreSQL)."""

    __tablename__ = "reconciliation_lines"
    # A night's lines are written a million at a time and read by (kind, day, seq range).
    # A B-tree key doubled the time of that load (docs/BENCHMARKS.md, "Reconcile"), so the
    # table has no primary key in the database: on PostgreSQL a BRIN index over (kind,
    # day, seq) finds a night's block ranges (the lines are loaded in seq order), on
    # SQLite a plain index. One line per (kind, day, seq) is kept by the writer: each
    # chunk replaces its range whole, under a lock on the night (db/reconciliation.py).
    __table_args__ = (
        CheckConstraint(_in("class", RECON_CLASSES), name="class"),
        Index(
            "ix_reconciliation_lines_night", "kind", "day", "seq",
            postgresql_using="brin", postgresql_with={"autosummarize": "on"},
        ),
    )  # fmt: skip

    kind: Mapped[str] = mapped_column(String(12))
    day: Mapped[date] = mapped_column()
    seq: Mapped[int] = mapped_column(autoincrement=False)
    cls: Mapped[str] = mapped_column("class", String(20))
    key: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[str | None] = mapped_column(String(ORDER_ID))
    description: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal | None]
    line_gross: Mapped[Decimal | None]
    line_fees: Mapped[Decimal | None]
    expected_gross: Mapped[Decimal | None]
    expected_fees: Mapped[Decimal | None]
    expected_net: Mapped[Decimal | None]

    __mapper_args__ = {"primary_key": [kind, day, seq]}  # the line's identity, for the ORM


class ReceivableAdjustment(Base):
    """Money a night's report took back from an order (a chargeback), per night and key:
    a rerun of the night replaces its own; what chargebacks took from a receivable is their
    sum, read with it (db/receivables.py `charged_back_of`)."""

    __tablename__ = "receivable_adjustments"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    amount: Mapped[Decimal]


class PayableRow(Base):
    """What we owe a supplier, due on a day (idempotent by the bill's reference)."""

    __tablename__ = "payables"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    supplier: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), server_default=text("''"))
    due_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal]
    paid_on: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]


class MarginLineRow(Base):
    """One order line's contribution margin (domain/margin.py computes it)."""

    __tablename__ = "margin_lines"

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    line: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(index=True)
    sku: Mapped[str] = mapped_column(String(SKU))
    supplier: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int]
    price: Mapped[Decimal]
    cost: Mapped[Decimal]
    commission: Mapped[Decimal]
    freight: Mapped[Decimal]
    taxes: Mapped[Decimal]
    margin: Mapped[Decimal]
    taxes_from_nfe: Mapped[bool]
    # the order's chargebacks when computed: a new one makes the lines stale
    charged_back: Mapped[Decimal] = mapped_column(server_default=text("0"))
    computed_at: Mapped[datetime]


class ShippingIncidentRow(Base):
    """A lost, damaged or returned parcel (one per shipment of an order), the claim opened
    against its carrier, and what ops decided. A reship names the replacement's booking
    reference, which is how the audit tells a wanted second booking from a duplicate."""

    __tablename__ = "shipping_incidents"
    __table_args__ = (
        CheckConstraint(_in("status", ("lost", "damaged", "returned")), name="status"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('reship', 'returned_to_stock', 'closed')",
            name="resolution",
        ),
    )

    order_id: Mapped[str] = mapped_column(String(ORDER_ID), primary_key=True)
    shipment_no: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(ORDER_ID))
    status: Mapped[str] = mapped_column(String(10))
    carrier: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    shipment_id: Mapped[str] = mapped_column(String(100))
    tracking_code: Mapped[str] = mapped_column(String(60))
    claim_amount: Mapped[Decimal | None]
    opened_at: Mapped[datetime]
    resolution: Mapped[str | None] = mapped_column(String(20))
    replacement: Mapped[str | None] = mapped_column(String(ORDER_ID), unique=True)
    decided_by: Mapped[str] = mapped_column(String(60), default="", server_default=text("''"))
    resolved_at: Mapped[datetime | None]

"""What the audit needs from the database, read in a handful of SELECTs (no per-order
queries) inside one read-only transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    InboxRow,
    InvoiceNumber,
    InvoiceRow,
    OrderRow,
    ReservationLine,
    ReturnInvoiceRow,
    ShipmentRow,
    ShippingIncidentRow,
    Stock,
    StockMovement,
    WarehouseEvent,
    WarehouseTask,
)

ORDER_STARTING_KINDS = ("order_placed", "order_notified")


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: str
    channel: str
    external_id: str
    status: str


@dataclass(frozen=True, slots=True)
class InboxFacts:
    id: int
    source: str
    event_id: str
    workflow_id: str
    kind: str
    status: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    order_id: str
    series: int
    number: int
    access_key: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ReturnFacts:
    order_id: str
    refers_to: str
    series: int
    number: int
    access_key: str


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    order_id: str
    shipment_id: str
    status: str
    kind: str = "api"
    label_document: str = ""


@dataclass(frozen=True, slots=True)
class StockFacts:
    sku: str
    on_hand: int
    reserved: int


@dataclass(frozen=True, slots=True)
class MovementFacts:
    """The movement ledger of one SKU: its sums and the lowest running balances."""

    sku: str
    on_hand: int
    reserved: int
    received: int  # positive receipt/adjustment deltas
    lowest_on_hand: int
    lowest_available: int
    count: int


@dataclass(frozen=True, slots=True)
class LineFacts:
    order_id: str
    sku: str
    quantity: int
    status: str


@dataclass(frozen=True, slots=True)
class TaskFacts:
    order_id: str
    status: str
    steps: tuple[str, ...]  # pick/pack/check recorded, in order


@dataclass(slots=True)
class Snapshot:
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    inbox: list[InboxFacts] = field(default_factory=list)
    invoices: dict[str, InvoiceFacts] = field(default_factory=dict)  # by order id
    numbers: dict[tuple[int, int], str] = field(default_factory=dict)  # (series, no.) -> order
    shipments: dict[str, ShipmentFacts] = field(default_factory=dict)  # by order id
    stock: dict[str, StockFacts] = field(default_factory=dict)
    movements: dict[str, MovementFacts] = field(default_factory=dict)
    lines: dict[str, list[LineFacts]] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[str, TaskFacts] = field(default_factory=dict)  # warehouse task by order id
    voided: set[tuple[int, int]] = field(default_factory=set)  # (series, no.) given up
    sefaz_voided: set[tuple[int, int]] = field(default_factory=set)  # and voided at SEFAZ
    returns: dict[str, ReturnFacts] = field(default_factory=dict)  # return NF-e by order id
    # booking references (<order>#n) a reship decision asked for: wanted second bookings
    replacements: set[str] = field(default_factory=set)

    def lines_by_sku(self) -> dict[str, dict[str, int]]:
        """SKU -> reservation status -> units."""
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for lines in self.lines.values():
            for line in lines:
                out[line.sku][line.status] += line.quantity
        return out


async def load_snapshot(s: AsyncSession) -> Snapshot:
    snap = Snapshot()
    orders = await s.execute(
        select(OrderRow.order_id, OrderRow.channel, OrderRow.external_id, OrderRow.status)
    )
    snap.orders = {
        r.order_id: OrderFacts(r.order_id, r.channel, r.external_id, r.status) for r in orders
    }

    inbox = await s.execute(
        select(
            InboxRow.id,
            InboxRow.source,
            InboxRow.event_id,
            InboxRow.workflow_id,
            InboxRow.kind,
            InboxRow.status,
            InboxRow.last_error,
        )
        .where(InboxRow.kind.in_(ORDER_STARTING_KINDS))
        .order_by(InboxRow.id)
    )
    snap.inbox = [
        InboxFacts(r.id, r.source, r.event_id, r.workflow_id, r.kind, r.status, r.last_error)
        for r in inbox
    ]

    invoices = await s.execute(
        select(
            InvoiceRow.order_id,
            InvoiceRow.series,
            InvoiceRow.number,
            InvoiceRow.access_key,
            InvoiceRow.status,
        )
    )
    snap.invoices = {
        r.order_id: InvoiceFacts(r.order_id, r.series, r.number, r.access_key, r.status)
        for r in invoices
    }
    numbers = await s.execute(
        select(
            InvoiceNumber.series,
            InvoiceNumber.number,
            InvoiceNumber.order_id,
            InvoiceNumber.voided_at,
            InvoiceNumber.sefaz_voided_at,
        )
    )
    for n in numbers:
        snap.numbers[(n.series, n.number)] = n.order_id
        if n.voided_at is not None:
            snap.voided.add((n.series, n.number))
        if n.sefaz_voided_at is not None:
            snap.sefaz_voided.add((n.series, n.number))
    returns = await s.execute(
        select(
            ReturnInvoiceRow.order_id,
            ReturnInvoiceRow.refers_to,
            ReturnInvoiceRow.series,
            ReturnInvoiceRow.number,
            ReturnInvoiceRow.access_key,
        )
    )
    snap.returns = {
        r.order_id: ReturnFacts(r.order_id, r.refers_to, r.series, r.number, r.access_key)
        for r in returns
    }

    shipments = await s.execute(
        select(
            ShipmentRow.order_id, ShipmentRow.shipment_id, ShipmentRow.status, ShipmentRow.kind,
            ShipmentRow.label_document,
        )
    )  # fmt: skip
    snap.shipments = {
        r.order_id: ShipmentFacts(r.order_id, r.shipment_id, r.status, r.kind, r.label_document)
        for r in shipments
    }

    reships = await s.scalars(
        select(ShippingIncidentRow.replacement).where(
            ShippingIncidentRow.resolution == "reship",
            ShippingIncidentRow.replacement.is_not(None),
        )
    )
    snap.replacements = {r for r in reships if r}

    stock = await s.execute(select(Stock.sku, Stock.on_hand, Stock.reserved))
    snap.stock = {r.sku: StockFacts(r.sku, r.on_hand, r.reserved) for r in stock}
    snap.movements = await _movements(s)

    lines = await s.execute(
        select(
            ReservationLine.order_id,
            ReservationLine.sku,
            ReservationLine.quantity,
            ReservationLine.status,
        ).order_by(ReservationLine.order_id, ReservationLine.sku)
    )
    for r in lines:
        snap.lines[r.order_id].append(LineFacts(r.order_id, r.sku, r.quantity, r.status))

    steps: dict[str, list[str]] = defaultdict(list)
    events = await s.execute(
        select(WarehouseEvent.order_id, WarehouseEvent.step).order_by(
            WarehouseEvent.at, WarehouseEvent.id
        )
    )
    for event in events:
        steps[event.order_id].append(event.step)
    tasks = await s.execute(select(WarehouseTask.order_id, WarehouseTask.status))
    snap.tasks = {
        r.order_id: TaskFacts(r.order_id, r.status, tuple(steps.get(r.order_id, ()))) for r in tasks
    }
    return snap


async def _movements(s: AsyncSession) -> dict[str, MovementFacts]:
    """Per SKU in one query: sums, units received, and the lowest running on-hand and
    available (on_hand - reserved) over the ledger in id order (window functions)."""
    m = StockMovement
    running = select(
        m.sku,
        m.delta_on_hand,
        m.delta_reserved,
        m.reason,
        func.sum(m.delta_on_hand).over(partition_by=m.sku, order_by=m.id).label("run_on_hand"),
        func.sum(m.delta_reserved).over(partition_by=m.sku, order_by=m.id).label("run_reserved"),
    ).subquery()
    r = running.c
    received = case(
        (and_(r.reason.in_(("receipt", "adjustment")), r.delta_on_hand > 0), r.delta_on_hand),
        else_=0,
    )
    rows = await s.execute(
        select(
            r.sku,
            func.sum(r.delta_on_hand),
            func.sum(r.delta_reserved),
            func.sum(received),
            func.min(r.run_on_hand),
            func.min(r.run_on_hand - r.run_reserved),
            func.count(),
        ).group_by(r.sku)
    )
    return {sku: MovementFacts(sku, *(int(v or 0) for v in values)) for sku, *values in rows}

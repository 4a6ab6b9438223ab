"""Carrier bookings and their tracking.

``status`` is ``booked``, a tracking status (posted, in_transit, out_for_delivery,
delivered, failed) or ``cancelled``. Delivered and cancelled are final; a tracking event
older than the last one applied is ignored (carriers redeliver and reorder webhooks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ShipmentRow
from db.session import dialect_insert, read_session
from domain.freight import INCIDENTS, Booking, FreightChoice, TrackingStatus

BOOKED = "booked"
CANCELLED = "cancelled"
# A lost, damaged or returned parcel stays so: its replacement has a row of its own.
FINAL = (TrackingStatus.DELIVERED.value, CANCELLED, *(i.value for i in INCIDENTS))
RECORD_MIN = 5  # finished parcels before a carrier's delivery record counts


@dataclass(frozen=True, slots=True)
class ShipmentView:
    order_id: str
    shipment_id: str
    tracking_code: str
    carrier: str
    service: str
    price: Decimal
    label_url: str
    status: str
    status_at: datetime
    booked_at: datetime
    cancelled_at: datetime | None
    delivered_at: datetime | None
    kind: str = "api"
    label_document: str = ""
    freight: dict[str, Any] | None = None


def _view(row: ShipmentRow) -> ShipmentView:
    return ShipmentView(
        order_id=row.order_id,
        shipment_id=row.shipment_id,
        tracking_code=row.tracking_code,
        carrier=row.carrier,
        service=row.service,
        price=row.price,
        label_url=row.label_url,
        status=row.status,
        status_at=row.status_at,
        booked_at=row.booked_at,
        cancelled_at=row.cancelled_at,
        delivered_at=row.delivered_at,
        kind=row.kind,
        label_document=row.label_document,
        freight=row.freight,
    )


class ShipmentRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record_booking(
        self, booking: Booking, at: datetime, choice: FreightChoice | None = None
    ) -> ShipmentView:
        """Store the booking once (with the choice that led to it); a repeat returns the
        first one unchanged."""
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, ShipmentRow)
                .values(
                    order_id=booking.tag,  # a replacement has a row of its own (<order>#n)
                    shipment_id=booking.shipment_id,
                    tracking_code=booking.tracking_code,
                    carrier=booking.carrier,
                    service=booking.service,
                    price=booking.price,
                    label_url=booking.label_url,
                    status=BOOKED,
                    status_at=at,
                    booked_at=at,
                    kind=booking.kind.value,
                    label_document=booking.label_document,
                    freight=choice.model_dump(mode="json") if choice else None,
                )
                .on_conflict_do_nothing(index_elements=["order_id"])
            )
            view = await _commit_view(s, booking.tag)
        if view is None:  # pragma: no cover - inserted or already there
            raise RuntimeError(f"booking for {booking.tag} vanished")
        return view

    async def record_tracking(
        self, order_id: str, status: TrackingStatus, at: datetime
    ) -> ShipmentView | None:
        values: dict[str, Any] = {"status": status.value, "status_at": at}
        if status is TrackingStatus.DELIVERED:
            values["delivered_at"] = at
        async with self._sessionmaker() as s:
            await s.execute(
                update(ShipmentRow)
                .where(
                    ShipmentRow.order_id == order_id,
                    ShipmentRow.status.not_in(FINAL),
                    ShipmentRow.status_at <= at,
                )
                .values(values)
            )
            return await _commit_view(s, order_id)

    async def record_cancelled(self, order_id: str, at: datetime) -> ShipmentView | None:
        """Pickup cancelled (saga undo); not once delivered. Repeating changes nothing."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(ShipmentRow)
                .where(ShipmentRow.order_id == order_id, ShipmentRow.status.not_in(FINAL))
                .values(status=CANCELLED, status_at=at, cancelled_at=at)
            )
            return await _commit_view(s, order_id)

    async def record_label(self, order_id: str, document: str) -> None:
        """Where the order's label is kept (the carrier's, or ours when it had none)."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(ShipmentRow)
                .where(ShipmentRow.order_id == order_id)
                .values(label_document=document)
            )
            await s.commit()

    async def delivery_records(self) -> dict[str, float]:
        """Per carrier, the share of its finished parcels that were delivered (lost,
        damaged and returned ones count against it); carriers with too few left out."""
        finished = (TrackingStatus.DELIVERED.value, *(i.value for i in INCIDENTS))
        async with read_session(self._sessionmaker) as s:
            rows = await s.execute(
                select(ShipmentRow.carrier, ShipmentRow.status, func.count())
                .where(ShipmentRow.status.in_(finished))
                .group_by(ShipmentRow.carrier, ShipmentRow.status)
            )
            counts: dict[str, tuple[int, int]] = {}
            for carrier, status, n in rows.all():
                done, total = counts.get(carrier, (0, 0))
                delivered = n if status == TrackingStatus.DELIVERED.value else 0
                counts[carrier] = (done + delivered, total + n)
        return {c: done / total for c, (done, total) in counts.items() if total >= RECORD_MIN}

    async def get(self, order_id: str) -> ShipmentView | None:
        async with read_session(self._sessionmaker) as s:
            row = await s.get(ShipmentRow, order_id)
            return None if row is None else _view(row)


async def _commit_view(s: AsyncSession, order_id: str) -> ShipmentView | None:
    row = await s.get(ShipmentRow, order_id, populate_existing=True)
    view = None if row is None else _view(row)
    await s.commit()
    return view

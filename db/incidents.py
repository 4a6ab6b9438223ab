"""Shipping incidents and their claims (`shipping_incidents`): recorded once per
shipment of an order, resolved once; repeating either changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ShippingIncidentRow
from db.session import dialect_insert, read_session
from domain.incidents import IncidentRecord, IncidentResolution


@dataclass(frozen=True, slots=True)
class IncidentView:
    order_id: str
    shipment_no: int
    reference: str
    status: str
    carrier: str
    tracking_code: str
    claim_amount: Decimal | None
    resolution: str | None
    replacement: str | None
    decided_by: str


class IncidentRepository:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(self, incident: IncidentRecord) -> None:
        async with self._sessionmaker() as s:
            await s.execute(
                dialect_insert(s, ShippingIncidentRow)
                .values(
                    order_id=incident.order_id,
                    shipment_no=incident.shipment_no,
                    reference=incident.reference,
                    status=incident.status.value,
                    carrier=incident.carrier,
                    kind=incident.kind.value,
                    shipment_id=incident.shipment_id,
                    tracking_code=incident.tracking_code,
                    claim_amount=incident.claim_amount,
                    opened_at=incident.at,
                )
                .on_conflict_do_nothing(index_elements=["order_id", "shipment_no"])
            )
            await s.commit()

    async def resolve(self, resolution: IncidentResolution) -> None:
        """The first decision stands; a repeat (a retried local activity) is a no-op."""
        async with self._sessionmaker() as s:
            await s.execute(
                update(ShippingIncidentRow)
                .where(
                    ShippingIncidentRow.order_id == resolution.order_id,
                    ShippingIncidentRow.shipment_no == resolution.shipment_no,
                    ShippingIncidentRow.resolution.is_(None),
                )
                .values(
                    resolution=resolution.resolution,
                    replacement=resolution.replacement,
                    decided_by=resolution.decided_by[:60],
                    resolved_at=resolution.at,
                )
            )
            await s.commit()

    async def of_order(self, order_id: str) -> list[IncidentView]:
        async with read_session(self._sessionmaker) as s:
            rows = await s.scalars(
                select(ShippingIncidentRow)
                .where(ShippingIncidentRow.order_id == order_id)
                .order_by(ShippingIncidentRow.shipment_no)
            )
            return [_view(r) for r in rows]


def _view(row: ShippingIncidentRow) -> IncidentView:
    return IncidentView(
        order_id=row.order_id,
        shipment_no=row.shipment_no,
        reference=row.reference,
        status=row.status,
        carrier=row.carrier,
        tracking_code=row.tracking_code,
        claim_amount=row.claim_amount,
        resolution=row.resolution,
        replacement=row.replacement,
        decided_by=row.decided_by,
    )

"""Shipping incidents on the `orders` queue (local activities, one database write each):
the incident and its claim recorded, ops' resolution recorded (a reship names the
replacement's reference before it is booked), a returned parcel's items back on hand.
All keyed by the order and the shipment's number, so a repeat changes nothing."""

from __future__ import annotations

from db.incidents import IncidentRepository
from db.stock import StockRepository
from domain.incidents import IncidentRecord, IncidentResolution, RestockRequest
from workflows import steps
from workflows.steps import implements


class IncidentActivities:
    def __init__(self, incidents: IncidentRepository, stock: StockRepository) -> None:
        self._incidents = incidents
        self._stock = stock

    @implements(steps.RECORD_INCIDENT)
    async def record_incident(self, incident: IncidentRecord) -> None:
        await self._incidents.record(incident)

    @implements(steps.RESOLVE_INCIDENT)
    async def resolve_incident(self, resolution: IncidentResolution) -> None:
        await self._incidents.resolve(resolution)

    @implements(steps.RESTOCK_RETURN)
    async def restock_return(self, request: RestockRequest) -> None:
        await self._stock.restock(request)

"""Shipping activities: freight quotes, label purchase (the carrier client looks before
it acts), pickup cancellation (by shipment, or every live one tagged with the order)."""

from __future__ import annotations

from datetime import UTC, datetime

from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from domain.freight import Booking, BookingRequest, PickupCancellation, QuoteRequest, QuoteSet
from domain.ids import parse_order_workflow_id
from integrations.carrier.client import CarrierClient
from workflows import steps
from workflows.steps import implements


class ShippingActivities:
    def __init__(
        self, carrier: CarrierClient, shipments: ShipmentRepository, orders: OrderReadModel
    ) -> None:
        self._carrier = carrier
        self._shipments = shipments
        self._orders = orders

    @implements(steps.QUOTE_FREIGHT)
    async def quote_freight(self, request: QuoteRequest) -> QuoteSet:
        return QuoteSet(quotes=tuple(await self._carrier.quote(request)))

    @implements(steps.BOOK_SHIPMENT)
    async def book_shipment(self, request: BookingRequest) -> Booking:
        booking = await self._carrier.book(request)
        await self._shipments.record_booking(booking, datetime.now(UTC))
        channel, external_id = parse_order_workflow_id(request.order_id)
        await self._orders.upsert(
            request.order_id,
            channel,
            external_id,
            at=datetime.now(UTC),
            tracking_code=booking.tracking_code,
            carrier=booking.carrier,
        )
        return booking

    @implements(steps.CANCEL_PICKUP)
    async def cancel_pickup(self, request: PickupCancellation) -> None:
        await self._carrier.cancel(request.order_id, request.shipment_id)
        await self._shipments.record_cancelled(request.order_id, datetime.now(UTC))

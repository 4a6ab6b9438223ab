"""Shipping activities: freight quotes, label purchase (the carrier client looks before
it acts), pickup cancellation."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from domain.freight import Booking, BookingRequest, QuoteRequest, QuoteSet
from domain.ids import parse_order_workflow_id
from integrations.carrier.client import CarrierClient
from workflows import steps


class ShippingActivities:
    def __init__(
        self, carrier: CarrierClient, shipments: ShipmentRepository, orders: OrderReadModel
    ) -> None:
        self._carrier = carrier
        self._shipments = shipments
        self._orders = orders

    @activity.defn(name=steps.QUOTE_FREIGHT)
    async def quote_freight(self, request: QuoteRequest) -> QuoteSet:
        return QuoteSet(quotes=tuple(await self._carrier.quote(request)))

    @activity.defn(name=steps.BOOK_SHIPMENT)
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

    @activity.defn(name=steps.CANCEL_PICKUP)
    async def cancel_pickup(self, booking: Booking) -> None:
        await self._carrier.cancel(booking.order_id, booking.shipment_id)
        await self._shipments.record_cancelled(booking.order_id, datetime.now(UTC))

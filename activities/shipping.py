"""Shipping activities on the `orders` queue: freight quotes and label purchase from the
carrier with an API (its client looks before it acts), the marketplace's own label for
its logistics (nothing bought), tracking asked of either, pickup cancellation (by
shipment, or every live one tagged with the order). Each keeps the label it got with the
order's shipping documents and the choice that led to it with the shipment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from domain.carriers import TrackingQuery, TrackingUpdate
from domain.freight import (
    MARKETPLACE_CARRIER,
    Booking,
    BookingRequest,
    CarrierKind,
    ChannelLabelRequest,
    FreightChoice,
    FreightQuote,
    PickupCancellation,
    QuoteRequest,
    QuoteSet,
)
from domain.ids import parse_order_workflow_id
from integrations.carrier.client import CarrierClient
from integrations.documents.shipping import LABEL, ShippingDocuments
from integrations.marketplace.client import MarketplaceClient
from workflows import steps
from workflows.steps import implements


async def with_records(shipments: ShipmentRepository, quotes: list[FreightQuote]) -> QuoteSet:
    """The quotes, each with its carrier's delivery record (when there is one)."""
    records = await shipments.delivery_records()
    return QuoteSet(
        quotes=tuple(
            q.model_copy(update={"delivery_record": records.get(q.carrier)}) for q in quotes
        )  # fmt: skip
    )


async def record_booked(
    booking: Booking,
    choice: FreightChoice | None,
    shipments: ShipmentRepository,
    orders: OrderReadModel,
) -> None:
    """The booking in the read model: the shipment (with the choice) and the order's
    carrier and tracking code."""
    at = datetime.now(UTC)
    await shipments.record_booking(booking, at, choice)
    channel, external_id = parse_order_workflow_id(booking.order_id)
    await orders.upsert(
        booking.order_id,
        channel,
        external_id,
        at=at,
        tracking_code=booking.tracking_code,
        carrier=booking.carrier,
    )


class ShippingActivities:
    def __init__(
        self,
        carrier: CarrierClient,
        shipments: ShipmentRepository,
        orders: OrderReadModel,
        documents: ShippingDocuments,
        marketplace: MarketplaceClient | None = None,
    ) -> None:
        self._carrier = carrier
        self._shipments = shipments
        self._orders = orders
        self._documents = documents
        self._marketplace = marketplace

    @implements(steps.QUOTE_FREIGHT)
    async def quote_freight(self, request: QuoteRequest) -> QuoteSet:
        return await with_records(self._shipments, await self._carrier.quote(request))

    @implements(steps.BOOK_SHIPMENT)
    async def book_shipment(self, request: BookingRequest) -> Booking:
        booking = await self._carrier.book(request)
        if booking.label_url:
            label = await self._carrier.label(booking.label_url)
            stored = await self._documents.put(booking.tag, LABEL, label)  # a reship: its own
            booking = booking.model_copy(update={"label_document": stored})
        await record_booked(booking, request.choice, self._shipments, self._orders)
        return booking

    @implements(steps.FETCH_CHANNEL_LABEL)
    async def fetch_channel_label(self, request: ChannelLabelRequest) -> Booking:
        """Marketplace logistics: print the marketplace's label, buy none."""
        marketplace = self._need_marketplace()
        label = await marketplace.shipment_label(request.shipment_id)
        shipment = await marketplace.shipment(request.shipment_id)
        stored = await self._documents.put(request.order_id, LABEL, label)
        booking = Booking(
            order_id=request.order_id,
            shipment_id=shipment.id,
            tracking_code=shipment.tracking_number or shipment.id,
            carrier=MARKETPLACE_CARRIER,
            service="Mercado Envios",
            price=Decimal("0"),  # paid to the marketplace with the sale, not to a carrier
            kind=CarrierKind.MARKETPLACE,
            label_document=stored,
        )
        await record_booked(booking, request.choice, self._shipments, self._orders)
        return booking

    @implements(steps.TRACK_SHIPMENT)
    async def track_shipment(self, query: TrackingQuery) -> TrackingUpdate:
        if query.kind is CarrierKind.MARKETPLACE:
            update = await self._need_marketplace().track(query.shipment_id)
        else:
            update = await self._carrier.track(query.shipment_id)
        if update.status is not None:
            await self._shipments.record_tracking(
                query.reference or query.order_id, update.status, update.at or datetime.now(UTC)
            )
        return update

    @implements(steps.CANCEL_PICKUP)
    async def cancel_pickup(self, request: PickupCancellation) -> None:
        await self._carrier.cancel(request.order_id, request.shipment_id)
        await self._shipments.record_cancelled(request.order_id, datetime.now(UTC))

    def _need_marketplace(self) -> MarketplaceClient:
        if self._marketplace is None:
            raise RuntimeError("the orders worker was built without the marketplace client")
        return self._marketplace

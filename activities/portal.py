"""Activities of the `rpa` queue: the carrier portal's bot (quote, book a pickup, read its
status, cancel it) and the printing of labels and packing slips, all on the worker's one
Chromium. Each heartbeats while it works; a bot that fails leaves its screenshot and
Playwright trace with the order's shipping documents (named by the attempt)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.shipping import record_booked, with_records
from db.orders import OrderReadModel
from db.shipments import ShipmentRepository
from domain.carriers import (
    ShippingDocuments,
    ShippingDocumentsRequest,
    TrackingQuery,
    TrackingUpdate,
)
from domain.freight import Booking, BookingRequest, PickupCancellation, QuoteRequest, QuoteSet
from integrations.documents.printing import ShippingPrinter
from integrations.documents.shipping import LABEL, PACKING_SLIP, failure_names
from integrations.documents.shipping import ShippingDocuments as Store
from integrations.portals.carrier_portal import CarrierPortalBot, PortalError
from workflows import steps
from workflows.steps import implements


def beat(detail: str) -> None:
    """Tell Temporal the task is alive (a page loaded, a form sent); outside an activity
    (benchmarks, tests) there is nobody to tell."""
    if activity.in_activity():
        activity.heartbeat(detail)


class PortalActivities:
    def __init__(
        self,
        bot: CarrierPortalBot,
        shipments: ShipmentRepository,
        orders: OrderReadModel,
        documents: Store,
        printer: ShippingPrinter,
    ) -> None:
        self._bot = bot
        self._shipments = shipments
        self._orders = orders
        self._documents = documents
        self._printer = printer

    async def _keep_failure(self, order_id: str, error: PortalError) -> None:
        names = failure_names(activity.info().attempt if activity.in_activity() else 1)
        for kind, data in error.artifacts.items():
            if kind in names:
                await self._documents.put(order_id, names[kind], data)

    @implements(steps.QUOTE_PORTAL)
    async def quote_portal_freight(self, request: QuoteRequest) -> QuoteSet:
        try:
            quotes = await self._bot.quote(request, beat)
        except PortalError as exc:
            await self._keep_failure(request.order_id, exc)
            raise
        return await with_records(self._shipments, quotes)

    @implements(steps.BOOK_PORTAL_PICKUP)
    async def book_portal_pickup(self, request: BookingRequest) -> Booking:
        try:
            booked = await self._bot.book(request, beat)
        except PortalError as exc:
            await self._keep_failure(request.tag, exc)
            raise
        stored = await self._documents.put(request.tag, LABEL, booked.label)
        booking = booked.booking.model_copy(update={"label_document": stored})
        await record_booked(booking, request.choice, self._shipments, self._orders)
        return booking

    @implements(steps.CANCEL_PORTAL_PICKUP)
    async def cancel_portal_pickup(self, request: PickupCancellation) -> None:
        try:
            await self._bot.cancel(request.order_id, beat)
        except PortalError as exc:
            await self._keep_failure(request.order_id, exc)
            raise
        await self._shipments.record_cancelled(request.order_id, datetime.now(UTC))

    @implements(steps.TRACK_PORTAL_PICKUP)
    async def track_portal_pickup(self, query: TrackingQuery) -> TrackingUpdate:
        found = [p for p in await self._bot.find(query.order_id, beat) if p.live]
        pickup = next((p for p in found if p.number == query.shipment_id), None)
        if pickup is None or pickup.status is None:
            return TrackingUpdate()
        await self._shipments.record_tracking(
            query.reference or query.order_id, pickup.status, datetime.now(UTC)
        )
        return TrackingUpdate(status=pickup.status, description=f"portal: {pickup.status_text}")

    @implements(steps.RENDER_SHIPPING_DOCUMENTS)
    async def render_shipping_documents(
        self, request: ShippingDocumentsRequest
    ) -> ShippingDocuments:
        """The packing slip always; the label only when the carrier supplied none."""
        beat("packing slip")
        folder = request.booking.tag  # a replacement (<order>#n) keeps its own documents
        slip = await self._documents.put(
            folder, PACKING_SLIP, await self._printer.packing_slip(request)
        )
        label, rendered = request.booking.label_document, False
        if not label:
            beat("label")
            label = await self._documents.put(folder, LABEL, await self._printer.label(request))
            rendered = True
            await self._shipments.record_label(folder, label)
        return ShippingDocuments(label=label, packing_slip=slip, label_rendered=rendered)

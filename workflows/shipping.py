"""Shipping from patch `shipping-carriers` on: every carrier quoted in parallel (the one
with an API and the one with only a website, whose bot runs on the `rpa` queue), the
choice made by `domain.carriers.choose_freight` (a marketplace-logistics order takes the
channel's label and buys none), the chosen carrier booked; then tracking to the end:
webhooks where the carrier sends them, a poll when nothing was heard for a while, and a
lost, damaged or returned parcel put before ops with what to do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, StepFailure
    from domain.carriers import (
        INCIDENT_PATHS,
        ShippingDocumentsRequest,
        ShippingIncident,
        TrackingQuery,
        choose_freight,
        failed_quote,
        is_incident,
    )
    from domain.freight import (
        Booking,
        BookingRequest,
        CarrierKind,
        ChannelLabelRequest,
        FreightQuote,
        ParcelItem,
        PickupCancellation,
        QuoteRequest,
        QuoteSet,
        TrackingEvent,
        TrackingStatus,
        parcel_for_order,
    )
    from domain.orders import Logistics
    from workflows import steps

from workflows.attention import STEP_ERRORS, Attention, failure_from
from workflows.incidents import Incidents
from workflows.order_calls import OrderCalls
from workflows.order_state import OrderProgress

PORTAL_CARRIER = "Expresso Serra"


class Shipping:
    def __init__(
        self, calls: OrderCalls, attention: Attention, overdue: Callable[[], StepFailure]
    ) -> None:
        self._calls = calls
        self._attention = attention
        self._overdue = overdue
        self._s: OrderProgress = calls.s
        self._incidents = Incidents(calls, attention, self)

    # ------------------------------------------------------------------ booking
    async def book(self, reference: str = "") -> Booking:
        """Quote and book; `reference`: a replacement's booking reference (`<order>#n`)."""
        s, calls = self._s, self._calls
        order, policy = s.require_order(), s.input.policy
        if order.logistics is Logistics.MARKETPLACE:
            s.freight = choose_freight((), logistics=Logistics.MARKETPLACE)
            label = ChannelLabelRequest(
                order_id=s.order_id,
                external_id=order.external_id,
                shipment_id=order.channel_shipment_id or "",
                choice=s.freight,
            )
            return await calls.call(steps.FETCH_CHANNEL_LABEL, label)
        products = s.require_reservation().products
        parcel = parcel_for_order(
            ((i.sku, i.quantity) for i in order.items), products, order.merchandise_total
        )
        quotes = await self._quotes(
            QuoteRequest(
                order_id=s.order_id,
                from_postal_code=policy.from_postal_code,
                to_postal_code=order.customer.address.postal_code,
                parcel=parcel,
            )
        )
        s.freight = choice = choose_freight(quotes, promised_days=policy.max_delivery_days)
        quote = choice.quote
        if quote is None:  # pragma: no cover - only marketplace logistics has no quote
            raise RuntimeError(f"{s.order_id}: no quote chosen")
        names = {p.sku: p.name for p in products}
        request = BookingRequest(
            order_id=s.order_id,
            idempotency_key=calls.key(f"booking:{reference}" if reference else "booking"),
            quote=quote,
            parcel=parcel,
            recipient_name=order.customer.name,
            recipient_address=order.customer.address,
            invoice_key=s.invoice.access_key if s.invoice else None,
            recipient_document=order.customer.cpf,
            recipient_phone=order.customer.phone,
            recipient_email=order.customer.email,
            contents=tuple(
                ParcelItem(
                    sku=i.sku,
                    name=names.get(i.sku, i.sku),
                    quantity=i.quantity,
                    unit_value=i.unit_price,
                )
                for i in order.items
            ),  # fmt: skip
            choice=choice,
            reference=reference,
        )
        step = steps.BOOK_PORTAL_PICKUP if quote.kind is CarrierKind.PORTAL else steps.BOOK_SHIPMENT
        return await calls.call(step, request)

    async def documents(self) -> None:
        """The packing slip, and the label when the carrier supplied none, printed and
        kept with the order's documents before the parcel leaves."""
        s = self._s
        if s.booking is None:
            return
        request = ShippingDocumentsRequest(
            order_id=s.order_id,
            order=s.require_order(),
            booking=s.booking,
            invoice_key=s.invoice.access_key if s.invoice else "",
            invoice_number=s.invoice.number if s.invoice else None,
        )
        s.documents = await self._calls.call(steps.RENDER_SHIPPING_DOCUMENTS, request)

    async def _quotes(self, request: QuoteRequest) -> list[FreightQuote]:
        """Every carrier at once; one that cannot be quoted (down past the quote's
        deadline) stays out of the choice with its reason, it does not hold it up."""

        async def one(
            step: steps.Step[QuoteRequest, QuoteSet], kind: CarrierKind, carrier: str
        ) -> tuple[FreightQuote, ...]:
            try:
                found = await self._calls.call(step, request, deadline=steps.QUOTE_DEADLINE)
            except STEP_ERRORS as err:
                return (failed_quote(kind, carrier, failure_from(step.name, err).message),)
            return found.quotes

        got = await asyncio.gather(
            one(steps.QUOTE_FREIGHT, CarrierKind.API, "carrier API"),
            one(steps.QUOTE_PORTAL, CarrierKind.PORTAL, PORTAL_CARRIER),
        )
        return [q for quotes in got for q in quotes]

    async def cancel(self) -> None:
        """The undo of a booking: on the carrier that was chosen. Nothing chosen, nothing
        booked; the channel's own logistics is cancelled with the order by the channel."""
        s = self._s
        kind = s.booking.kind if s.booking else (s.freight.kind if s.freight else None)
        if kind is None or kind is CarrierKind.MARKETPLACE:
            return
        request = PickupCancellation(
            order_id=s.order_id, shipment_id=s.booking.shipment_id if s.booking else None, kind=kind
        )
        step = steps.CANCEL_PORTAL_PICKUP if kind is CarrierKind.PORTAL else steps.CANCEL_PICKUP
        await self._calls.call(step, request)

    # ------------------------------------------------------------------ tracking
    async def track(self) -> None:
        """Until delivered: wait for the carrier's news, ask it after `tracking_poll_s` of
        silence, put an incident before ops; past the delivery window ops are asked."""
        s, calls = self._s, self._calls
        policy = s.input.policy
        window, poll = (
            timedelta(seconds=policy.delivery_window_s),
            timedelta(seconds=policy.tracking_poll_s),
        )
        since = workflow.now()
        while not s.delivered and not s.returned:
            await calls.flush()
            incident = self._new_incident()
            if incident is not None:
                await self._incident(incident)
                continue
            left = window - (workflow.now() - since)
            if left <= timedelta(0):
                decision = await self._attention.ask(self._overdue(), None, can_skip=True)
                if decision.action is OpsAction.SKIP:
                    s.delivered = True  # delivery confirmed by hand
                since = workflow.now()
                continue
            heard = await calls.wait(
                partial(_news, s, len(s.tracking)),
                within=min(poll, left),
                wake_on_cancel=False,
            )
            if not heard:
                await self._poll()

    async def _poll(self) -> None:
        s, booking = self._s, self._s.booking
        if booking is None:
            return
        query = TrackingQuery(
            order_id=s.order_id,
            kind=booking.kind,
            shipment_id=booking.shipment_id,
            tracking_code=booking.tracking_code,
            channel_external_id=s.input.external_id,
            reference=booking.reference,
        )
        step = (
            steps.TRACK_PORTAL_PICKUP
            if booking.kind is CarrierKind.PORTAL
            else steps.TRACK_SHIPMENT
        )
        try:
            update = await self._calls.call(step, query, deadline=steps.QUOTE_DEADLINE)
        except STEP_ERRORS:
            return  # asked again at the next poll; past the window ops are asked
        if update.status is None:
            return
        event_id = f"poll:{booking.shipment_id}:{update.status.value}"
        if event_id in s.seen:
            return
        s.seen.add(event_id)
        s.tracking.append(
            TrackingEvent(
                event_id=event_id,
                shipment_id=booking.shipment_id,
                tracking_code=booking.tracking_code,
                status=update.status,
                at=update.at or workflow.now(),
                description=update.description or f"polled from {booking.carrier}",
            )
        )
        if update.status is TrackingStatus.DELIVERED:
            s.delivered = True

    def _new_incident(self) -> TrackingEvent | None:
        known = {i.event_id for i in self._s.incidents}
        return next(
            (t for t in self._s.tracking if is_incident(t.status) and t.event_id not in known),
            None,
        )

    async def _incident(self, event: TrackingEvent) -> None:
        """Lost, damaged or returned: recorded on the order and put before ops with the
        shipping desk's path (claim, ship again, back to stock). Retry asks the carrier
        again (a parcel found, a return delivered after all); skip closes it by hand."""
        s = self._s
        carrier = s.booking.carrier if s.booking else ""
        s.incidents.append(
            ShippingIncident(
                event_id=event.event_id,
                status=event.status,
                carrier=carrier,
                tracking_code=event.tracking_code,
                at=event.at,
                attempt=s.shipment_no,
            )
        )
        if s.incident_paths and s.booking is not None:  # v5: claim, reship, back to stock
            await self._incidents.handle(event, s.booking, self._poll)
            return
        error_type, path = INCIDENT_PATHS[event.status]
        failure = StepFailure(
            step="shipping_incident",
            error_type=error_type,
            message=f"{carrier} {event.tracking_code}: {path}",
            at=workflow.now(),
        )
        decision = await self._attention.ask(failure, None, can_skip=True)
        if decision.action is OpsAction.SKIP:
            s.notes.append(f"{event.status.value} parcel closed by ops: {decision.reason or ''}")
            s.delivered = True
        else:
            await self._poll()


def _news(s: OrderProgress, seen: int) -> bool:
    return s.delivered or len(s.tracking) > seen

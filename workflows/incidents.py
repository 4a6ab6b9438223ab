"""A parcel that will not arrive, from patch `shipping-incidents` on: the incident and
(lost or damaged) its claim against the carrier are recorded, then ops decide:

- `reship`: the resolution names the replacement's reference (`<order>#n`) first, then
  the replacement's stock is reserved under that reference, a carrier is quoted and
  booked under it (each booking step looks that reference up before it acts, so a lost
  answer or a killed worker never books twice), its documents printed, its stock
  consumed, and tracking starts again on the new parcel;
- `return_to_stock` (returned to sender): the items go back on hand (keyed by the
  shipment's reference) and the order closes as returned;
- `skip`: closed by hand; `retry`: the carrier is asked again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsAction, OpsDecision, StepFailure
    from domain.freight import Booking, TrackingEvent
    from domain.incidents import (
        CLAIMED,
        IncidentRecord,
        IncidentResolution,
        RestockRequest,
        booking_reference,
        incident_actions,
        incident_guide,
    )
    from domain.steps import DispatchRequest
    from domain.stock import Reservation, ReserveRequest
    from workflows import steps

from workflows.attention import Attention
from workflows.order_calls import OrderCalls
from workflows.order_state import OrderProgress

if TYPE_CHECKING:
    from workflows.shipping import Shipping


class Incidents:
    def __init__(self, calls: OrderCalls, attention: Attention, shipping: Shipping) -> None:
        self._calls = calls
        self._attention = attention
        self._shipping = shipping
        self._s: OrderProgress = calls.s

    async def handle(
        self, event: TrackingEvent, booking: Booking, poll: Callable[[], Awaitable[None]]
    ) -> None:
        s, calls = self._s, self._calls
        order = s.require_order()
        claim = order.merchandise_total if event.status in CLAIMED else None
        record = IncidentRecord(
            order_id=s.order_id,
            shipment_no=s.shipment_no,
            reference=booking.tag,
            status=event.status,
            carrier=booking.carrier,
            kind=booking.kind,
            shipment_id=booking.shipment_id,
            tracking_code=booking.tracking_code,
            claim_amount=claim,
            at=workflow.now(),
        )
        await calls.call(steps.RECORD_INCIDENT, record)
        error_type, guide = incident_guide(event.status, claim)
        failure = StepFailure(
            step="shipping_incident",
            error_type=error_type,
            message=f"{booking.carrier} {booking.tracking_code}: {guide}",
            at=workflow.now(),
        )
        s.incident_actions = incident_actions(event.status, booking.kind)
        decision = await self._attention.ask(failure, None, can_skip=True)
        s.incident_actions = frozenset()
        if decision.action is OpsAction.RESHIP:
            await self._reship(decision)
        elif decision.action is OpsAction.RETURN_TO_STOCK:
            await self._restock(decision, booking)
        elif decision.action is OpsAction.SKIP:
            await self._resolve("closed", decision)
            s.notes.append(f"{event.status.value} parcel closed by ops: {decision.reason or ''}")
            s.delivered = True
        else:
            await poll()

    async def _resolve(
        self, resolution: str, decision: OpsDecision, replacement: str | None = None
    ) -> None:
        s = self._s
        await self._calls.call(
            steps.RESOLVE_INCIDENT,
            IncidentResolution(
                order_id=s.order_id,
                shipment_no=s.shipment_no,
                resolution=resolution,
                replacement=replacement,
                decided_by=decision.actor,
                at=workflow.now(),
            ),
        )

    async def _reship(self, decision: OpsDecision) -> None:
        s, calls, attention = self._s, self._calls, self._attention
        n = s.shipment_no + 1
        reference = booking_reference(s.order_id, n)
        await self._resolve("reship", decision, reference)  # the audit learns it first
        s.shipment_no = n
        reserve = ReserveRequest(
            order_id=reference,
            idempotency_key=calls.key(f"reserve:{n}"),
            quantities=s.require_order().quantities(),
        )
        await attention.attempt(steps.RESERVE_STOCK.name, partial(self._reserve, reserve))
        s.booking = await attention.attempt_or_manual(
            steps.BOOK_SHIPMENT.name, partial(self._shipping.book, reference=reference), Booking
        )
        await attention.attempt_or_skip(
            steps.RENDER_SHIPPING_DOCUMENTS.name, self._shipping.documents
        )
        dispatch = DispatchRequest(
            order_id=reference, idempotency_key=calls.key(f"dispatch:{n}"), at=workflow.now()
        )
        await attention.attempt(steps.DISPATCH.name, partial(calls.call, steps.DISPATCH, dispatch))
        await attention.attempt_or_skip(steps.REQUEST_STOCK_SYNC.name, calls.sync_stock)
        s.notes.append(
            f"reshipped by {decision.actor} as {reference}: {s.booking.carrier} "
            f"{s.booking.tracking_code}" + (f" ({decision.reason})" if decision.reason else "")
        )

    async def _reserve(self, request: ReserveRequest) -> Reservation:
        reservation = await self._calls.call(steps.RESERVE_STOCK, request)
        if not reservation.reserved:
            raise ApplicationError(
                "not enough stock for the replacement: " + reservation.describe_shortages(),
                type=steps.OUT_OF_STOCK,
                non_retryable=True,
            )
        return reservation

    async def _restock(self, decision: OpsDecision, booking: Booking) -> None:
        s, calls = self._s, self._calls
        await self._resolve("returned_to_stock", decision)
        restock = RestockRequest(
            order_id=s.order_id,
            reference=booking.tag,
            quantities=s.require_order().quantities(),
            at=workflow.now(),
        )
        await calls.call(steps.RESTOCK_RETURN, restock)
        await self._attention.attempt_or_skip(steps.REQUEST_STOCK_SYNC.name, calls.sync_stock)
        s.notes.append(
            f"returned parcel {booking.tracking_code} back in stock ({decision.actor})"
            + (f": {decision.reason}" if decision.reason else "")
        )
        s.returned = True

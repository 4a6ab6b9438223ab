"""Shipping from patch `shipping-carriers` on: every carrier quoted at once, the portal
carrier booked by its bot's step, marketplace logistics buying no label, tracking polled
when the carrier is silent, a lost parcel put before ops, a cancellation undone on the
carrier that was booked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from temporalio.exceptions import ApplicationError

from domain.attention import OpsAction, OpsDecision
from domain.carriers import TrackingUpdate
from domain.events import EventKind
from domain.freight import CarrierKind, TrackingStatus
from domain.orders import Channel, Logistics, OrderStatus
from domain.steps import OrderPolicy
from tests.workflows.conftest import POLICY, Harness
from tests.workflows.test_order_workflow import (
    delivered_event,
    pay,
    run_warehouse,
    wait_status,
    wait_stuck,
)
from tests.workflows.world import event, make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow
POLLING = POLICY.model_copy(update={"tracking_poll_s": 3600})


async def test_every_carrier_is_quoted_and_the_cheaper_portal_books_the_pickup(
    harness: Harness,
) -> None:
    harness.world.portal_price = Decimal("15.90")
    handle = await harness.start(placed(make_order()))
    await pay(handle)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.event, delivered_event())
    state = await handle.result()

    assert state.status is OrderStatus.DELIVERED
    calls = harness.world.calls
    assert steps.QUOTE_FREIGHT.name in calls
    assert steps.QUOTE_PORTAL.name in calls
    assert steps.BOOK_SHIPMENT.name not in calls
    [booking] = harness.world.args[steps.BOOK_PORTAL_PICKUP.name]
    assert booking.recipient_document == "52998224725"  # a commercial shipment names them
    assert [c.sku for c in booking.contents] == ["SKU-A", "SKU-B"]
    assert state.booking is not None
    assert state.booking.kind is CarrierKind.PORTAL
    assert state.freight is not None
    assert state.freight.kind is CarrierKind.PORTAL
    assert {r.quote.service for r in state.freight.rejected} == {"PAC", "SEDEX"}
    assert booking.choice == state.freight  # kept with the shipment
    [notice] = harness.world.args[steps.NOTIFY_SHIPPED.name]
    assert (notice.kind, notice.tracking_code) == (CarrierKind.PORTAL, "ES700000001BR")


async def test_a_marketplace_logistics_order_takes_the_channel_label_and_buys_none(
    harness: Harness,
) -> None:
    order = make_order("ML-77", channel=Channel.MARKETPLACE, paid=True).model_copy(
        update={"logistics": Logistics.MARKETPLACE, "channel_shipment_id": "40000000077"}
    )
    handle = await harness.start(placed(order, "marketplace:evt-1"))
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await handle.signal(
        OrderWorkflow.event, event(EventKind.TRACKING, "mkt:evt-9", channel=Channel.MARKETPLACE,
                                   external_id="ML-77", tracking=delivered_event().tracking),
    )  # fmt: skip
    state = await handle.result()

    assert state.status is OrderStatus.DELIVERED
    calls = harness.world.calls
    for bought in (steps.QUOTE_FREIGHT, steps.QUOTE_PORTAL, steps.BOOK_SHIPMENT,
                   steps.BOOK_PORTAL_PICKUP):  # fmt: skip
        assert bought.name not in calls
    [label] = harness.world.args[steps.FETCH_CHANNEL_LABEL.name]
    assert label.shipment_id == "40000000077"
    assert state.freight is not None
    assert state.freight.kind is CarrierKind.MARKETPLACE
    assert state.freight.quote is None
    [notice] = harness.world.args[steps.NOTIFY_SHIPPED.name]
    assert notice.kind is CarrierKind.MARKETPLACE


async def test_a_portal_that_cannot_quote_leaves_the_choice_to_the_others(
    harness: Harness,
) -> None:
    harness.world.portal_price = Decimal("1.00")
    harness.world.fail[steps.QUOTE_PORTAL.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    state = await handle.query(OrderWorkflow.state)

    assert state.booking is not None
    assert state.booking.service == "PAC"
    assert state.freight is not None
    failed = [r for r in state.freight.rejected if r.quote.kind is CarrierKind.PORTAL]
    assert failed
    assert "not quoted" in failed[0].reason
    assert state.failure is None  # nobody was asked: the choice went on without it


async def test_a_silent_carrier_is_polled_until_it_reports_delivery(harness: Harness) -> None:
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    harness.world.tracking = [
        TrackingUpdate(),  # nothing new yet
        TrackingUpdate(status=TrackingStatus.IN_TRANSIT, at=at),
        TrackingUpdate(status=TrackingStatus.DELIVERED, at=at, description="entregue"),
    ]
    handle = await harness.start(placed(make_order(paid=True)), POLLING)
    await run_warehouse(handle)
    state = await handle.result()  # the test server skips the hours between polls

    assert state.status is OrderStatus.DELIVERED
    polls = harness.world.args[steps.TRACK_SHIPMENT.name]
    assert len(polls) == 3
    assert polls[0].kind is CarrierKind.API
    assert polls[0].tracking_code == "ME123456789BR"
    assert [t.status for t in state.tracking] == [TrackingStatus.IN_TRANSIT,
                                                  TrackingStatus.DELIVERED]  # fmt: skip
    [delivered] = harness.world.args[steps.RECORD_TRACKING.name]
    assert delivered.occurred_at == at  # the carrier's time, not the poll's


async def test_a_lost_parcel_goes_to_ops_and_skip_closes_it_by_hand(harness: Harness) -> None:
    harness.world.portal_price = Decimal("15.90")
    harness.world.tracking = [TrackingUpdate(status=TrackingStatus.LOST)]
    handle = await harness.start(placed(make_order(paid=True)), POLLING)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await harness.env.sleep(2 * 3600)  # past the first poll
    await wait_stuck(handle, "shipping_incident")
    state = await handle.query(OrderWorkflow.state)

    assert state.failure is not None
    assert state.failure.error_type == "ParcelLost"
    assert "claim" in state.failure.message
    assert "ES700000001BR" in state.failure.message
    assert [i.status for i in state.incidents] == [TrackingStatus.LOST]
    assert harness.world.args[steps.TRACK_PORTAL_PICKUP.name]  # the portal's bot was asked
    await handle.execute_update(
        steps.DECIDE_UPDATE,
        OpsDecision(action=OpsAction.SKIP, actor="ops:ana", reason="claim 123 filed, re-sent"),
    )
    state = await handle.result()
    assert state.status is OrderStatus.DELIVERED
    assert any("claim 123 filed" in n for n in state.notes)


async def test_cancelling_after_a_portal_booking_cancels_the_pickup_on_the_portal(
    harness: Harness,
) -> None:
    harness.world.portal_price = Decimal("15.90")
    handle = await harness.start(placed(make_order(paid=True)))
    cancel = event(EventKind.ORDER_CANCELLED, "store:evt-cancel", reason="customer gave up")
    loop = asyncio.get_running_loop()
    harness.world.on_call[steps.BOOK_PORTAL_PICKUP.name] = lambda: loop.create_task(
        handle.signal(OrderWorkflow.event, cancel)
    )
    await run_warehouse(handle)
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    [undo] = harness.world.args[steps.CANCEL_PORTAL_PICKUP.name]
    assert (undo.kind, undo.shipment_id) == (CarrierKind.PORTAL, "COL-000001")
    assert steps.CANCEL_PICKUP.name not in harness.world.calls


def test_polling_is_a_policy_of_its_own() -> None:
    assert OrderPolicy().tracking_poll_s == 6 * 3600


async def test_a_cancellation_after_the_parcel_was_posted_tells_ops_to_ask_for_a_return(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order(paid=True)))
    cancel = event(EventKind.ORDER_CANCELLED, "store:evt-cancel", reason="customer gave up")
    loop = asyncio.get_running_loop()
    harness.world.on_call[steps.BOOK_SHIPMENT.name] = lambda: loop.create_task(
        handle.signal(OrderWorkflow.event, cancel)
    )

    def posted() -> None:
        raise ApplicationError(
            "shipment ME123456789BR is already with the carrier (posted): a label can only "
            "be cancelled before it is posted. Ask the carrier for a return (devolução) of "
            "the parcel, then skip this step",
            {"attempt": 1},
            type="already_posted",
            non_retryable=True,
        )

    harness.world.on_call[steps.CANCEL_PICKUP.name] = posted
    await run_warehouse(handle)
    await wait_stuck(handle, "undo_cancel_pickup")
    state = await handle.query(OrderWorkflow.state)

    assert state.failure is not None
    assert state.failure.error_type == "already_posted"
    assert "Ask the carrier for a return" in state.failure.message
    assert state.can_skip
    await handle.execute_update(
        steps.DECIDE_UPDATE,
        OpsDecision(action=OpsAction.SKIP, actor="ops:ana", reason="return 55 requested"),
    )
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED

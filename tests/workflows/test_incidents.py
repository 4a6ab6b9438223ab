"""Patch `shipping-incidents`: a lost or damaged parcel opens a claim for the declared
value and ops can ship it again (a replacement booked under `<order>#2`, with its own
stock, exactly once even when the booking's answer is lost); a parcel returned to the
sender goes back into stock and the order closes as returned."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain.attention import OpsAction, OpsDecision
from domain.carriers import TrackingUpdate
from domain.freight import TrackingStatus
from domain.incidents import booking_reference
from domain.orders import OrderStatus
from tests.workflows.conftest import Harness
from tests.workflows.test_order_workflow import run_warehouse, wait_status, wait_stuck
from tests.workflows.test_shipping import POLLING
from tests.workflows.world import make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow
ORDER = "order:store:1001"


async def incident(
    harness: Harness, status: TrackingStatus, *then: TrackingUpdate
) -> WorkflowHandle[Any, Any]:
    harness.world.tracking = [TrackingUpdate(status=status), *then]
    handle = await harness.start(placed(make_order(paid=True)), POLLING)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await harness.env.sleep(2 * 3600)  # past the first poll
    await wait_stuck(handle, "shipping_incident")
    return handle


def decide(action: OpsAction, reason: str = "") -> OpsDecision:
    return OpsDecision(action=action, actor="ops:ana", reason=reason)


async def test_a_lost_parcel_opens_a_claim_and_reship_books_one_replacement(
    harness: Harness,
) -> None:
    delivered = TrackingUpdate(status=TrackingStatus.DELIVERED)
    handle = await incident(harness, TrackingStatus.LOST, delivered)
    stuck = await handle.query(OrderWorkflow.state)
    assert stuck.failure is not None
    assert stuck.failure.error_type == "ParcelLost"
    assert "claim for R$" in stuck.failure.message
    assert "reship" in stuck.failure.message

    await handle.execute_update(steps.DECIDE_UPDATE, decide(OpsAction.RESHIP, "customer waits"))
    state = await handle.result()

    w = harness.world
    [claim] = w.args[steps.RECORD_INCIDENT.name]
    assert claim.claim_amount == state.order.merchandise_total  # the declared value
    assert (claim.reference, claim.shipment_no) == (ORDER, 1)
    [resolution] = w.args[steps.RESOLVE_INCIDENT.name]
    replacement = booking_reference(ORDER, 2)
    assert (resolution.resolution, resolution.replacement) == ("reship", replacement)
    assert w.calls.index(steps.RESOLVE_INCIDENT.name) < len(w.calls) - w.calls[::-1].index(
        steps.BOOK_SHIPMENT.name
    )  # the audit learns about the replacement before it is booked
    reserves = [r.order_id for r in w.args[steps.RESERVE_STOCK.name]]
    assert reserves == [ORDER, replacement]  # the replacement's own stock
    dispatched = [d.order_id for d in w.args[steps.DISPATCH.name]]
    assert dispatched == [ORDER, replacement]  # consumed when it leaves
    assert [b.tag for b in w.args[steps.BOOK_SHIPMENT.name]] == [ORDER, replacement]
    assert {tag: len(b) for tag, b in w.carrier_ledger.items()} == {ORDER: 1, replacement: 1}
    assert state.booking is not None
    assert state.booking.reference == replacement
    assert state.booking.tracking_code != "ME123456789BR"
    assert state.status is OrderStatus.DELIVERED
    assert any("reshipped by ops:ana" in n for n in state.notes)


async def test_a_lost_answer_while_reshipping_still_books_one_replacement(
    harness: Harness,
) -> None:
    replacement = booking_reference(ORDER, 2)
    harness.world.lose_booking_answer.add(replacement)
    handle = await incident(
        harness, TrackingStatus.DAMAGED, TrackingUpdate(status=TrackingStatus.DELIVERED)
    )

    await handle.execute_update(steps.DECIDE_UPDATE, decide(OpsAction.RESHIP))
    state = await handle.result()

    tags = [b.tag for b in harness.world.args[steps.BOOK_SHIPMENT.name]]
    assert tags == [ORDER, replacement, replacement]  # retried after the lost answer
    assert len(harness.world.carrier_ledger[replacement]) == 1
    assert state.booking == harness.world.carrier_ledger[replacement][0]
    assert state.status is OrderStatus.DELIVERED


async def test_a_returned_parcel_goes_back_to_stock_and_the_order_closes_returned(
    harness: Harness,
) -> None:
    handle = await incident(harness, TrackingStatus.RETURNED)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(steps.DECIDE_UPDATE, decide(OpsAction.RESHIP))
    assert "lost, damaged or returned" in str(refused.value.cause)

    await handle.execute_update(
        steps.DECIDE_UPDATE, decide(OpsAction.RETURN_TO_STOCK, "checked, intact")
    )
    state = await handle.result()

    w = harness.world
    [claim] = w.args[steps.RECORD_INCIDENT.name]
    assert claim.claim_amount is None  # nothing to claim: the goods came back
    [restock] = w.args[steps.RESTOCK_RETURN.name]
    assert restock.reference == ORDER
    assert restock.quantities == state.order.quantities()
    [resolution] = w.args[steps.RESOLVE_INCIDENT.name]
    assert resolution.resolution == "returned_to_stock"
    assert state.status is OrderStatus.RETURNED
    assert steps.BOOK_SHIPMENT.name in w.calls
    assert len(w.args[steps.BOOK_SHIPMENT.name]) == 1


async def test_skip_closes_a_damaged_parcel_by_hand(harness: Harness) -> None:
    handle = await incident(harness, TrackingStatus.DAMAGED)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(steps.DECIDE_UPDATE, decide(OpsAction.RETURN_TO_STOCK))
    assert "lost, damaged or returned" in str(refused.value.cause)

    await handle.execute_update(steps.DECIDE_UPDATE, decide(OpsAction.SKIP, "refunded"))
    state = await handle.result()

    [resolution] = harness.world.args[steps.RESOLVE_INCIDENT.name]
    assert resolution.resolution == "closed"
    assert state.status is OrderStatus.DELIVERED
    assert len(harness.world.args[steps.BOOK_SHIPMENT.name]) == 1

"""The order workflow's decisions, on the time-skipping test server, with the outside
world faked by activity name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.attention import OpsAction, OpsDecision
from domain.events import EventKind
from domain.freight import TrackingEvent, TrackingStatus
from domain.orders import Channel, OrderStatus
from domain.steps import OrderPolicy
from domain.warehouse import WarehouseAction, WarehouseOutcome, WarehouseStep
from tests.workflows.conftest import POLICY, Harness, eventually
from tests.workflows.world import event, make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow


async def wait_status(handle, *statuses: OrderStatus) -> None:
    async def reached() -> bool:
        state = await handle.query(OrderWorkflow.state)
        return state.status in statuses

    await eventually(reached)


async def wait_stuck(handle, step: str) -> None:
    async def stuck() -> bool:
        state = await handle.query(OrderWorkflow.state)
        return state.failure is not None and state.failure.step == step

    await eventually(stuck)


def delivered_event(event_id: str = "carrier:evt-9"):
    return event(
        EventKind.TRACKING,
        event_id,
        tracking=TrackingEvent(
            event_id=event_id, shipment_id="shp-1", tracking_code="ME123456789BR",
            status=TrackingStatus.DELIVERED, at=datetime.now(UTC),
        ),
    )  # fmt: skip


async def pay(handle, event_id: str = "payments:evt-1") -> None:
    await handle.signal(
        OrderWorkflow.event,
        event(EventKind.PAYMENT_CONFIRMED, event_id, payment_id="pay-77", amount=Decimal("135")),
    )


async def run_warehouse(handle) -> None:
    await wait_status(handle, OrderStatus.PICKING)
    for step in (WarehouseStep.PICK, WarehouseStep.PACK):
        await handle.execute_update(
            "warehouse",
            WarehouseAction(step=step, operator="ana", shift="A"),
            result_type=WarehouseOutcome,
        )
    await handle.execute_update(
        "warehouse",
        WarehouseAction(step=WarehouseStep.CHECK, operator="bia", scanned={"SKU-A": 2, "SKU-B": 1}),
        result_type=WarehouseOutcome,
    )


async def test_store_order_runs_from_webhook_to_delivery(harness: Harness) -> None:
    handle = await harness.start(placed(make_order()))
    await pay(handle)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.event, delivered_event())
    state = await handle.result()

    assert state.status is OrderStatus.DELIVERED
    effects = [e for e in harness.world.effects() if e != steps.TRACK_SHIPMENT.name]
    assert effects[:5] == [
        steps.RESERVE_STOCK.name, steps.REQUEST_STOCK_SYNC.name, steps.PREPARE_INVOICE.name,
        steps.EMIT_INVOICE.name, steps.OPEN_WAREHOUSE_TASK.name,
    ]  # fmt: skip
    assert set(effects[5:7]) == {steps.QUOTE_FREIGHT.name, steps.QUOTE_PORTAL.name}  # at once
    assert effects[7:] == [
        steps.BOOK_SHIPMENT.name, steps.RENDER_SHIPPING_DOCUMENTS.name, steps.NOTIFY_SHIPPED.name,
        steps.DISPATCH.name,
    ]  # fmt: skip
    assert state.booking is not None
    assert state.booking.service == "PAC"
    assert state.invoice is not None
    assert len(state.invoice.access_key) == 44
    assert [r.step for r in state.warehouse] == list(WarehouseStep)
    [delivered] = harness.world.args[steps.RECORD_TRACKING.name]
    assert delivered.occurred_at == state.tracking[-1].at  # the carrier's time is kept
    notice = harness.world.args[steps.NOTIFY_SHIPPED.name][0]
    assert notice.tracking_code == "ME123456789BR"
    assert notice.invoice_key == state.invoice.access_key


async def test_unpaid_order_is_cancelled_and_its_stock_released_when_the_window_closes(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order()), OrderPolicy(payment_window_s=3600))
    state = await handle.result()  # the test server skips the hour

    assert state.status is OrderStatus.CANCELLED
    assert "payment not confirmed" in (state.cancel_reason or "")
    assert harness.world.effects() == [
        steps.RESERVE_STOCK.name, steps.REQUEST_STOCK_SYNC.name, steps.RELEASE_STOCK.name,
        steps.REQUEST_STOCK_SYNC.name, steps.NOTIFY_CANCELLED.name,
    ]  # fmt: skip
    assert steps.REFUND.name not in harness.world.calls


async def test_channel_cancellation_mid_flight_undoes_completed_steps_in_reverse(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order()))
    await pay(handle)
    await wait_status(handle, OrderStatus.PICKING)
    await handle.signal(
        OrderWorkflow.event,
        event(EventKind.ORDER_CANCELLED, "store:evt-cancel", reason="customer gave up"),
    )
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    effects = harness.world.effects()
    undo = effects[effects.index(steps.OPEN_WAREHOUSE_TASK.name) + 1 :]
    assert undo == [
        steps.CANCEL_INVOICE.name, steps.VOID_NUMBER_AT_SEFAZ.name, steps.RELEASE_STOCK.name,
        steps.REQUEST_STOCK_SYNC.name, steps.REFUND.name, steps.NOTIFY_CANCELLED.name,
    ]  # fmt: skip
    refund = harness.world.args[steps.REFUND.name][0]
    assert refund.payment_id == "pay-77"
    assert refund.amount == Decimal("135.00")
    assert set(state.compensations_done) == set(state.compensations_registered)


async def test_warehouse_refuses_a_check_that_does_not_match_the_order(harness: Harness) -> None:
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_status(handle, OrderStatus.PICKING)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            "warehouse",
            WarehouseAction(step=WarehouseStep.PACK, operator="ana"),
            result_type=WarehouseOutcome,
        )
    assert "next step is pick" in str(failed.value.cause)
    for step in (WarehouseStep.PICK, WarehouseStep.PACK):
        await handle.execute_update(
            "warehouse", WarehouseAction(step=step, operator="ana"), result_type=WarehouseOutcome
        )
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            "warehouse",
            WarehouseAction(step=WarehouseStep.CHECK, operator="bia", scanned={"SKU-A": 1}),
            result_type=WarehouseOutcome,
        )
    message = str(failed.value.cause)
    assert "SKU-A: expected 2, scanned 1" in message
    assert "SKU-B: expected 1, scanned 0" in message
    # the repeated pick after a lost response gets the same record back
    again = await handle.execute_update(
        "warehouse",
        WarehouseAction(step=WarehouseStep.PICK, operator="ana"),
        result_type=WarehouseOutcome,
    )
    assert again.record.step is WarehouseStep.PICK
    assert again.next_step is WarehouseStep.CHECK
    await handle.terminate()


async def test_rejected_invoice_waits_for_ops_and_retry_resumes_it(harness: Harness) -> None:
    harness.world.fail[steps.EMIT_INVOICE.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None
    assert "rejected by the provider" in state.failure.message
    assert state.status is OrderStatus.PAID

    answer = await handle.execute_update(
        "decide", OpsDecision(action=OpsAction.RETRY, actor="ops:joana")
    )
    assert answer == "retry accepted"
    await wait_status(handle, OrderStatus.PICKING)
    assert harness.world.calls.count(steps.EMIT_INVOICE.name) == 2
    recorded = harness.world.args[steps.RECORD_ATTENTION.name]
    assert recorded[0].failure.step == steps.EMIT_INVOICE.name
    assert recorded[0].decision is None
    assert recorded[1].decision.action is OpsAction.RETRY
    assert recorded[1].decision.actor == "ops:joana"
    await handle.terminate()


async def test_skip_takes_the_invoice_emitted_by_hand(harness: Harness) -> None:
    harness.world.fail[steps.EMIT_INVOICE.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)

    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(
            "decide",
            OpsDecision(action=OpsAction.SKIP, actor="ops:joana", data={"access_key": "123"}),
        )
    assert "skip needs the result of step emit_invoice by hand" in str(failed.value.cause)

    manual = {
        "order_id": handle.id,
        "access_key": "35261111222333000181550010000000071000000010",
        "number": 7, "series": 1, "protocol": "135260000009999",
        "authorised_at": "2026-11-27T12:30:00+00:00",
    }  # fmt: skip
    await handle.execute_update(
        "decide",
        OpsDecision(
            action=OpsAction.SKIP, actor="ops:joana", reason="emitted on the portal", data=manual
        ),
    )
    await wait_status(handle, OrderStatus.PICKING)
    state = await handle.query(OrderWorkflow.state)
    assert state.invoice is not None
    assert state.invoice.protocol == "135260000009999"
    assert harness.world.calls.count(steps.EMIT_INVOICE.name) == 1
    await handle.terminate()


async def test_out_of_stock_waits_for_ops_and_compensate_cancels_the_order(
    harness: Harness,
) -> None:
    harness.world.shortage = True
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.RESERVE_STOCK.name)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None
    assert state.failure.error_type == steps.OUT_OF_STOCK
    assert "SKU-A: 2 requested, 0 available" in state.failure.message

    await handle.execute_update(
        "decide",
        OpsDecision(action=OpsAction.COMPENSATE, actor="ops:joana", reason="no restock this week"),
    )
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    assert state.cancel_reason == "no restock this week"
    # the order was paid at the store: cancelling it gives the money back; the undos keyed
    # by the order run whatever the workflow remembers, and find nothing to undo
    assert harness.world.effects() == [
        steps.RESERVE_STOCK.name, steps.VOID_NUMBER_AT_SEFAZ.name, steps.RELEASE_STOCK.name,
        steps.REFUND.name, steps.NOTIFY_CANCELLED.name,
    ]  # fmt: skip


async def test_decision_is_refused_when_nothing_is_stuck(harness: Harness) -> None:
    handle = await harness.start(placed(make_order()))
    await wait_status(handle, OrderStatus.AWAITING_PAYMENT)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update("decide", OpsDecision(action=OpsAction.RETRY, actor="ops"))
    assert "not waiting for an ops decision" in str(failed.value.cause)
    await handle.terminate()


async def test_duplicate_and_early_events_change_nothing(harness: Harness) -> None:
    # the payment webhook overtakes the order webhook, and the order arrives twice
    order = make_order()
    first = event(EventKind.PAYMENT_CONFIRMED, "payments:evt-1", payment_id="pay-1")
    handle = await harness.start(first)
    await handle.signal(OrderWorkflow.event, placed(order))
    await handle.signal(OrderWorkflow.event, placed(order))
    await handle.signal(OrderWorkflow.event, first)
    await wait_status(handle, OrderStatus.PICKING)
    assert harness.world.calls.count(steps.RESERVE_STOCK.name) == 1
    assert harness.world.calls.count(steps.RECORD_ORDER.name) == 1
    await handle.terminate()


async def test_marketplace_notification_fetches_the_paid_order(harness: Harness) -> None:
    order = make_order("2000123", channel=Channel.MARKETPLACE, paid=True)
    harness.world.marketplace_orders[order.external_id] = order
    notified = event(
        EventKind.ORDER_NOTIFIED, "marketplace:n1", channel=Channel.MARKETPLACE,
        external_id=order.external_id, resource=f"/orders/{order.external_id}",
    )  # fmt: skip
    handle = await harness.start(notified)
    await wait_status(handle, OrderStatus.PICKING)
    effects = harness.world.effects()
    assert effects[0] == steps.FETCH_ORDER.name
    assert steps.REFUND.name not in effects
    await handle.terminate()


async def test_marketplace_cancellation_is_seen_on_the_next_notification(
    harness: Harness,
) -> None:
    order = make_order("2000124", channel=Channel.MARKETPLACE, paid=True)
    harness.world.marketplace_orders[order.external_id] = order
    kw = {"channel": Channel.MARKETPLACE, "external_id": order.external_id}
    handle = await harness.start(event(EventKind.ORDER_NOTIFIED, "marketplace:n1", **kw))
    await wait_status(handle, OrderStatus.PICKING)
    harness.world.marketplace_orders[order.external_id] = make_order(
        "2000124", channel=Channel.MARKETPLACE, paid=True, cancelled=True
    )
    await handle.signal(
        OrderWorkflow.event, event(EventKind.ORDER_NOTIFIED, "marketplace:n2", **kw)
    )
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    assert harness.world.calls.count(steps.FETCH_ORDER.name) == 2
    assert steps.CANCEL_INVOICE.name in harness.world.calls


async def test_cancellation_after_dispatch_is_refused_and_noted(harness: Harness) -> None:
    handle = await harness.start(placed(make_order(paid=True)))
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("cancel", "too late", result_type=str)
    await handle.signal(OrderWorkflow.event, event(EventKind.ORDER_CANCELLED, "store:late"))
    await handle.signal(OrderWorkflow.event, delivered_event())
    state = await handle.result()
    assert state.status is OrderStatus.DELIVERED
    assert any("cancellation refused" in n for n in state.notes)


async def test_overdue_delivery_asks_ops_and_skip_confirms_it(harness: Harness) -> None:
    policy = POLICY.model_copy(update={"delivery_window_s": 3600.0})
    handle = await harness.start(placed(make_order(paid=True)), policy)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await harness.env.sleep(timedelta(hours=2))
    await wait_stuck(handle, "await_delivery")
    await handle.execute_update(
        "decide",
        OpsDecision(action=OpsAction.SKIP, actor="ops", reason="customer confirmed by phone"),
    )
    state = await handle.result()
    assert state.status is OrderStatus.DELIVERED


async def test_payment_confirmed_just_before_a_cancellation_is_refunded(harness: Harness) -> None:
    # the payment webhook overtakes the order, and the customer cancels right away
    handle = await harness.start(
        event(
            EventKind.PAYMENT_CONFIRMED, "payments:evt-1", payment_id="pay-9", amount=Decimal("135")
        )
    )
    await handle.signal(OrderWorkflow.event, placed(make_order()))
    await handle.signal(OrderWorkflow.event, event(EventKind.ORDER_CANCELLED, "store:evt-c"))
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    refunds = harness.world.args[steps.REFUND.name]
    assert [(r.payment_id, r.amount) for r in refunds] == [("pay-9", Decimal("135.00"))]


async def test_payment_arriving_after_an_unpaid_order_was_cancelled_is_refunded(
    harness: Harness,
) -> None:
    policy = OrderPolicy(payment_window_s=3600, late_payment_grace_s=2 * 24 * 3600)
    handle = await harness.start(placed(make_order()), policy)
    await harness.env.sleep(timedelta(hours=2))
    await wait_status(handle, OrderStatus.CANCELLED)
    assert steps.REFUND.name not in harness.world.calls
    await pay(handle, "payments:late")
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    assert [r.payment_id for r in harness.world.args[steps.REFUND.name]] == ["pay-77"]
    assert "payment arrived after the cancellation: refunded" in state.notes


async def test_marketplace_orders_are_never_refunded_by_us(harness: Harness) -> None:
    order = make_order("2000125", channel=Channel.MARKETPLACE, paid=True)
    harness.world.marketplace_orders[order.external_id] = order
    kw = {"channel": Channel.MARKETPLACE, "external_id": order.external_id}
    handle = await harness.start(event(EventKind.ORDER_NOTIFIED, "marketplace:n1", **kw))
    await wait_status(handle, OrderStatus.PICKING)
    await handle.execute_update("cancel", "buyer regret", result_type=str)
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    assert steps.REFUND.name not in harness.world.calls
    assert steps.CANCEL_INVOICE.name in harness.world.calls


async def test_payment_arriving_while_the_channel_is_told_of_the_cancellation_is_refunded(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order()))
    harness.world.on_call[steps.NOTIFY_CANCELLED.name] = lambda: asyncio.create_task(
        pay(handle, "payments:during-notify")
    )
    await wait_status(handle, OrderStatus.AWAITING_PAYMENT)
    await handle.signal(OrderWorkflow.event, event(EventKind.ORDER_CANCELLED, "store:evt-c"))
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    assert [r.payment_id for r in harness.world.args[steps.REFUND.name]] == ["pay-77"]


async def test_a_step_whose_result_the_order_needs_cannot_be_skipped(harness: Harness) -> None:
    harness.world.shortage = True
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.RESERVE_STOCK.name)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "decide", OpsDecision(action=OpsAction.SKIP, actor="ops"), result_type=str
        )
    assert "cannot be skipped" in str(refused.value.cause)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None
    assert state.failure.step == steps.RESERVE_STOCK.name
    await handle.terminate()

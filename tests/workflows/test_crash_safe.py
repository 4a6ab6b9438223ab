"""The crash-safe core (patch `crash-safe-core`): effects done in a workflow task that is
then lost are undone anyway, Updates write nothing, and no wait goes unseen."""

from __future__ import annotations

import asyncio
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    Interceptor,
    StartLocalActivityInput,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from activities.errors import ErrorTranslation
from domain.attention import OpsAction, OpsDecision
from domain.events import EventKind
from domain.ids import order_workflow_id
from domain.orders import OrderStatus
from domain.steps import OrderPolicy, OrderWorkflowInput
from tests.workflows.conftest import POLICY, Harness, eventually
from tests.workflows.test_order_workflow import (
    delivered_event,
    pay,
    run_warehouse,
    wait_status,
    wait_stuck,
)
from tests.workflows.world import FakeWorld, event, make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow


# ------------------------------------------------------------------ a lost workflow task
class _LoseTheTask(WorkflowOutboundInterceptor):
    """Fails every workflow task of this worker right after the reservation committed,
    as a worker killed at that moment would lose it: the history never records it."""

    lost = threading.Event()

    def start_local_activity(self, input: StartLocalActivityInput) -> ActivityHandle[Any]:
        if input.activity == steps.REQUEST_STOCK_SYNC.name:
            _LoseTheTask.lost.set()
            raise RuntimeError("the worker died here (simulated)")
        return super().start_local_activity(input)


class _Inbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_LoseTheTask(outbound))


class LoseTaskAfterReserve(Interceptor):
    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _Inbound


async def test_a_reservation_made_in_a_lost_workflow_task_is_released_when_the_retry_cancels(
    dev_env: WorkflowEnvironment,
) -> None:
    world, queue = FakeWorld(), f"lost-{uuid.uuid4().hex[:8]}"
    order = make_order(external_id=f"lost-{uuid.uuid4().hex[:6]}", paid=True)
    _LoseTheTask.lost.clear()
    common: dict[str, Any] = {
        "task_queue": queue, "workflows": [OrderWorkflow], "activities": world.activities(),
        "max_cached_workflows": 0,
    }  # fmt: skip
    async with Worker(dev_env.client, interceptors=[LoseTaskAfterReserve()], **common):
        handle = await dev_env.client.start_workflow(
            OrderWorkflow.run,
            OrderWorkflowInput(channel=order.channel, external_id=order.external_id, policy=POLICY),
            id=order_workflow_id(order.channel, order.external_id),
            task_queue=queue,
            start_signal=steps.EVENT_SIGNAL,
            start_signal_args=[placed(order)],
        )
        for _ in range(200):
            if _LoseTheTask.lost.is_set():
                break
            await asyncio.sleep(0.05)
        assert _LoseTheTask.lost.is_set(), "the first workflow task never reached the sync"
    assert world.reserved == {"SKU-A", "SKU-B"}  # the effect committed, unrecorded

    cancel = event(
        EventKind.ORDER_CANCELLED, "store:evt-cancel", external_id=order.external_id,
        reason="customer gave up",
    )  # fmt: skip
    await handle.signal(OrderWorkflow.event, cancel)
    async with Worker(dev_env.client, interceptors=[ErrorTranslation()], **common):
        state = await asyncio.wait_for(handle.result(), 60)

    assert state.status is OrderStatus.CANCELLED
    assert world.reserved == set(), "the retry took the cancel path and still released"
    assert steps.RELEASE_STOCK.name in world.calls
    assert state.cancel_reason == "customer gave up"


# ------------------------------------------------------------------ Updates write nothing
async def test_warehouse_steps_write_nothing_from_the_update_and_dispatch_closes_the_task(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order(paid=True)))
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await handle.terminate()

    assert steps.RECORD_WAREHOUSE_STEP.name not in harness.world.calls
    [dispatch] = harness.world.args[steps.DISPATCH.name]
    assert [r.step.value for r in dispatch.warehouse] == ["pick", "pack", "check"]


# ------------------------------------------------------------------ no wait unseen
async def test_a_payment_for_an_order_that_never_arrives_asks_ops_and_compensate_refunds_it(
    harness: Harness,
) -> None:
    payment = event(
        EventKind.PAYMENT_CONFIRMED, "payments:evt-orphan", payment_id="pay-9",
        amount=Decimal("80.00"),
    )  # fmt: skip
    handle = await harness.start(payment, OrderPolicy(order_arrival_sla_s=600))
    await harness.env.sleep(700)
    await wait_stuck(handle, "await_order")
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None
    assert state.failure.error_type == "OrderMissing"
    assert "payment pay-9 of 80.00 was confirmed" in state.failure.message

    await handle.execute_update(
        steps.DECIDE_UPDATE,
        OpsDecision(action=OpsAction.COMPENSATE, actor="ops:ana", reason="not our order"),
    )
    state = await handle.result()
    assert state.status is OrderStatus.CANCELLED
    [refund] = harness.world.args[steps.REFUND.name]
    assert (refund.payment_id, refund.amount) == ("pay-9", Decimal("80.00"))


async def test_an_order_arriving_after_its_payment_was_flagged_lowers_the_flag_by_itself(
    harness: Harness,
) -> None:
    payment = event(
        EventKind.PAYMENT_CONFIRMED, "payments:evt-early", payment_id="pay-77",
        amount=Decimal("135.00"),
    )  # fmt: skip
    handle = await harness.start(payment, OrderPolicy(order_arrival_sla_s=600))
    await harness.env.sleep(700)
    await wait_stuck(handle, "await_order")
    await handle.signal(OrderWorkflow.event, placed(make_order()))
    await wait_status(handle, OrderStatus.PICKING)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is None
    resolved = [c for c in harness.world.args[steps.RECORD_ATTENTION.name] if c.resolved]
    assert [c.failure.step for c in resolved] == ["await_order"]
    await handle.terminate()


async def test_a_warehouse_task_past_its_sla_is_flagged_and_the_check_clears_it(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order(paid=True)), OrderPolicy(warehouse_sla_s=3600))
    await wait_status(handle, OrderStatus.PICKING)
    await harness.env.sleep(3700)
    await wait_stuck(handle, "await_warehouse")
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is not None
    assert state.failure.error_type == "WarehouseOverdue"
    assert state.next_warehouse_step is not None  # operators can still work it

    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    state = await handle.query(OrderWorkflow.state)
    assert state.failure is None
    await handle.terminate()


# ------------------------------------------------------------------ once it leaves
async def test_a_cancellation_while_the_channel_is_told_of_the_shipment_is_refused_and_noted(
    harness: Harness,
) -> None:
    harness.world.fail[steps.NOTIFY_SHIPPED.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await run_warehouse(handle)
    await wait_stuck(handle, steps.NOTIFY_SHIPPED.name)
    assert (await handle.query(OrderWorkflow.state)).status is OrderStatus.DISPATCHING

    await handle.signal(
        OrderWorkflow.event, event(EventKind.ORDER_CANCELLED, "store:evt-late", reason="too late")
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            steps.DECIDE_UPDATE, OpsDecision(action=OpsAction.COMPENSATE, actor="ops:ana")
        )
    assert "cannot be compensated" in str(refused.value.cause)
    await handle.execute_update(
        steps.DECIDE_UPDATE, OpsDecision(action=OpsAction.RETRY, actor="ops:ana")
    )
    await wait_status(handle, OrderStatus.SHIPPED)
    state = await handle.query(OrderWorkflow.state)
    assert any("cancellation refused in status dispatching" in n for n in state.notes)
    assert steps.CANCEL_PICKUP.name not in harness.world.calls
    await handle.terminate()


# ------------------------------------------------------------------ outcomes never known
async def test_an_emission_that_failed_for_good_is_looked_up_and_cancelled_on_compensation(
    harness: Harness,
) -> None:
    harness.world.fail[steps.EMIT_INVOICE.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_stuck(handle, steps.EMIT_INVOICE.name)
    await handle.execute_update(
        steps.DECIDE_UPDATE,
        OpsDecision(action=OpsAction.COMPENSATE, actor="ops:ana", reason="SEFAZ down all day"),
    )
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    [cancel] = harness.world.args[steps.CANCEL_INVOICE.name]
    assert cancel.access_key is None
    assert cancel.emission is not None
    assert cancel.emission.number == 7
    effects = harness.world.effects()
    assert effects.index(steps.CANCEL_INVOICE.name) < effects.index(steps.VOID_NUMBER_AT_SEFAZ.name)


async def test_a_booking_that_failed_for_good_is_cancelled_by_order_on_compensation(
    harness: Harness,
) -> None:
    harness.world.fail[steps.BOOK_SHIPMENT.name] = 1
    handle = await harness.start(placed(make_order(paid=True)))
    await run_warehouse(handle)
    await wait_stuck(handle, steps.BOOK_SHIPMENT.name)
    await handle.execute_update(
        steps.DECIDE_UPDATE, OpsDecision(action=OpsAction.COMPENSATE, actor="ops:ana")
    )
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    [cancel] = harness.world.args[steps.CANCEL_PICKUP.name]
    assert (cancel.order_id, cancel.shipment_id) == (state.order_id, None)


async def test_statuses_reach_the_read_model_from_one_place_with_each_status_reached(
    harness: Harness,
) -> None:
    handle = await harness.start(placed(make_order()))
    await pay(handle)
    await run_warehouse(handle)
    await wait_status(handle, OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.event, delivered_event())
    state = await handle.result()

    changes = [
        *harness.world.args[steps.RECORD_STATUS.name],
        *harness.world.args[steps.RECORD_TRACKING.name],
    ]
    reached = [e.status for c in changes for e in c.reached]
    # every status the workflow entered was written once, in order, with workflow time
    assert reached == [e.status for e in state.history[1:]]
    times = [e.at for c in changes for e in c.reached]
    assert times == sorted(times)
    assert OrderStatus.DISPATCHING in reached


async def test_the_state_query_offers_the_next_warehouse_step(harness: Harness) -> None:
    handle = await harness.start(placed(make_order(paid=True)))
    await wait_status(handle, OrderStatus.PICKING)

    async def next_is_pick() -> bool:
        state = await handle.query(OrderWorkflow.state)
        return state.next_warehouse_step is not None and state.next_warehouse_step.value == "pick"

    await eventually(next_is_pick)
    await handle.terminate()

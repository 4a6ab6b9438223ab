"""Undoing an authorised NF-e on cancellation (patch `fiscal-lifecycle`), on the
time-skipping test server: within the cancellation window the NF-e is cancelled, past
it a return NF-e undoes the sale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.events import EventKind
from domain.orders import OrderStatus
from domain.steps import OrderPolicy
from tests.workflows.conftest import Harness
from tests.workflows.test_order_workflow import pay, wait_status
from tests.workflows.world import event, make_order, placed
from workflows import steps
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.workflow

WINDOW = timedelta(hours=24)
POLICY = OrderPolicy(
    payment_window_s=3600,
    invoice_cancel_window_s=WINDOW.total_seconds(),
    warehouse_sla_s=7 * 24 * 3600,
)


async def cancel_after(harness: Harness, handle, wait: timedelta) -> None:
    await wait_status(handle, OrderStatus.PICKING)
    await harness.env.sleep(wait)
    await handle.signal(
        OrderWorkflow.event,
        event(EventKind.ORDER_CANCELLED, "store:evt-cancel", reason="customer gave up"),
    )


@pytest.mark.parametrize("wait", [timedelta(minutes=5), WINDOW - timedelta(minutes=5)])
async def test_a_cancellation_within_the_window_cancels_the_nfe(harness: Harness, wait) -> None:
    handle = await harness.start(placed(make_order()), POLICY)
    await pay(handle)
    await cancel_after(harness, handle, wait)
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    [asked] = harness.world.args[steps.CANCEL_INVOICE.name]
    assert asked.window_s == WINDOW.total_seconds()
    assert steps.EMIT_RETURN_INVOICE.name not in harness.world.calls
    assert state.return_invoice is None


async def test_a_cancellation_past_the_window_emits_a_return_nfe(harness: Harness) -> None:
    handle = await harness.start(placed(make_order()), POLICY)
    await pay(handle)
    await cancel_after(harness, handle, WINDOW + timedelta(minutes=5))
    state = await handle.result()

    assert state.status is OrderStatus.CANCELLED
    effects = harness.world.effects()
    at = effects.index(steps.CANCEL_INVOICE.name)
    assert effects[at + 1] == steps.EMIT_RETURN_INVOICE.name
    [back] = harness.world.args[steps.EMIT_RETURN_INVOICE.name]
    assert state.invoice is not None
    assert back.refers_to == state.invoice.access_key
    assert state.return_invoice is not None
    assert state.return_invoice.refers_to == state.invoice.access_key
    assert any("return NF-e" in note for note in state.notes)

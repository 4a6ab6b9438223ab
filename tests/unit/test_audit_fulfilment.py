"""The audit's fulfilment checks over hand-built snapshots: a task left on the floor, a
task list ahead of its workflow, a dangling NF-e number are each named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.orders import Channel, OrderStatus
from domain.steps import OrderState
from domain.warehouse import WarehouseRecord, WarehouseStep
from retaguarda.audit.fulfilment import (
    check_no_invoice_number_left_dangling,
    check_warehouse_tasks_agree,
)
from retaguarda.audit.snapshot import InvoiceFacts, OrderFacts, Snapshot, TaskFacts

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def snapshot(status: str, task_status: str, steps: tuple[str, ...]) -> Snapshot:
    snap = Snapshot()
    snap.orders["order:store:1"] = OrderFacts("order:store:1", "store", "1", status)
    snap.tasks["order:store:1"] = TaskFacts("order:store:1", task_status, steps)
    return snap


def state(status: OrderStatus, *done: WarehouseStep) -> OrderState:
    return OrderState(
        order_id="order:store:1", channel=Channel.STORE, external_id="1", status=status,
        warehouse=tuple(WarehouseRecord(step=s, operator="ana", at=NOW) for s in done),
    )  # fmt: skip


def test_a_cancelled_order_whose_task_is_still_on_the_floor_is_named() -> None:
    check = check_warehouse_tasks_agree(snapshot("cancelled", "picked", ("pick",)))
    assert check.violations == [
        "order:store:1 is cancelled but its task is still picked on the floor"
    ]


def test_a_shipped_order_whose_task_misses_steps_is_named() -> None:
    check = check_warehouse_tasks_agree(snapshot("shipped", "packed", ("pick", "pack")))
    assert check.violations == ["order:store:1 is shipped but its task records pick, pack"]


def test_a_task_list_ahead_of_its_workflow_is_named() -> None:
    snap = snapshot("packed", "packed", ("pick", "pack"))
    workflows = {"order:store:1": state(OrderStatus.PICKED, WarehouseStep.PICK)}
    check = check_warehouse_tasks_agree(snap, workflows)
    assert check.violations == [
        "order:store:1: the task list shows pick, pack done, the workflow knows pick"
    ]


def test_a_task_list_behind_a_running_workflow_is_allowed_but_not_once_delivered() -> None:
    snap = snapshot("packed", "picked", ("pick",))
    running = {"order:store:1": state(OrderStatus.PACKED, WarehouseStep.PICK, WarehouseStep.PACK)}
    assert check_warehouse_tasks_agree(snap, running).ok
    delivered = {"order:store:1": state(OrderStatus.DELIVERED, *WarehouseStep)}
    check = check_warehouse_tasks_agree(snapshot("delivered", "picked", ("pick",)), delivered)
    assert check.violations == [
        "order:store:1 is delivered but its task records pick",
        "order:store:1 was delivered with the task list missing pack, check",
    ]


def test_a_read_model_disagreeing_with_a_finished_workflow_is_named() -> None:
    snap = snapshot("shipped", "checked", ("pick", "pack", "check"))
    done = {"order:store:1": state(OrderStatus.DELIVERED, *WarehouseStep)}
    check = check_warehouse_tasks_agree(snap, done)
    assert check.violations == [
        "order:store:1: the workflow ended delivered, the read model says shipped"
    ]


def test_an_unused_number_of_a_cancelled_order_must_be_voided() -> None:
    snap = snapshot("cancelled", "cancelled", ())
    snap.numbers[(1, 41)] = "order:store:1"
    check = check_no_invoice_number_left_dangling(snap)
    assert len(check.violations) == 1
    assert check.violations[0].startswith("NF-e 1/41 was allocated to order:store:1")
    snap.voided.add((1, 41))
    assert check_no_invoice_number_left_dangling(snap).ok
    snap.voided.clear()
    snap.invoices["order:store:1"] = InvoiceFacts("order:store:1", 1, 41, "3" * 44, "cancelled")
    assert check_no_invoice_number_left_dangling(snap).ok

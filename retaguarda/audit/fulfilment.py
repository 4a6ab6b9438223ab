"""Checks 8-10: what a lost workflow task could leave behind. No reservation held by a
finished order, every warehouse task agreeing with its order (and, when the workflows
can be asked, with what each workflow knows), no NF-e number left dangling."""

from __future__ import annotations

from domain.orders import OrderStatus
from domain.steps import OrderState
from retaguarda.audit.report import Check
from retaguarda.audit.snapshot import Snapshot

TERMINAL = {OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value}
LEFT_WAREHOUSE = {
    OrderStatus.DISPATCHING.value,
    OrderStatus.SHIPPED.value,
    OrderStatus.DELIVERED.value,
}
ALL_STEPS = ("pick", "pack", "check")


def check_no_reservation_held_by_a_finished_order(snap: Snapshot) -> Check:
    check = Check("no reservation held by a finished order")
    for order in sorted(snap.orders.values(), key=lambda o: o.order_id):
        if order.status not in TERMINAL:
            continue
        held = [
            f"{line.sku}×{line.quantity}"
            for line in snap.lines.get(order.order_id, [])
            if line.status == "reserved"
        ]
        if held:
            check.fail(f"{order.order_id} is {order.status} but still holds {', '.join(held)}")
    finished = sum(1 for o in snap.orders.values() if o.status in TERMINAL)
    return check.summary(f"{finished} finished order(s)")


def check_warehouse_tasks_agree(
    snap: Snapshot, workflows: dict[str, OrderState] | None = None
) -> Check:
    """The task list never tells an operator something the order contradicts: a task
    is closed once the parcel left and off the floor once the order is cancelled; with
    `workflows` (the workflows' own state), its steps are exactly the workflow's."""
    check = Check("every warehouse task agrees with its workflow")
    for order_id, task in sorted(snap.tasks.items()):
        order = snap.orders.get(order_id)
        status = order.status if order else None
        if status == OrderStatus.CANCELLED.value and task.status != "cancelled":
            check.fail(f"{order_id} is cancelled but its task is still {task.status} on the floor")
        if status in LEFT_WAREHOUSE and task.steps != ALL_STEPS:
            check.fail(
                f"{order_id} is {status} but its task records {', '.join(task.steps) or 'nothing'}"
            )
        state = (workflows or {}).get(order_id)
        if state is None:
            continue
        known = tuple(r.step.value for r in state.warehouse)
        if task.steps != known[: len(task.steps)] or len(task.steps) > len(known):
            check.fail(
                f"{order_id}: the task list shows {', '.join(task.steps) or 'nothing'} done, "
                f"the workflow knows {', '.join(known) or 'nothing'}"
            )
        elif state.status is OrderStatus.DELIVERED and task.steps != known:
            check.fail(
                f"{order_id} was delivered with the task list missing "
                f"{', '.join(known[len(task.steps) :])}"
            )
    if workflows is not None:
        for order_id, state in sorted(workflows.items()):
            order = snap.orders.get(order_id)
            if (
                order is not None
                and state.status.value in TERMINAL
                and (order.status != state.status.value)
            ):
                check.fail(
                    f"{order_id}: the workflow ended {state.status.value}, "
                    f"the read model says {order.status}"
                )
    asked = "" if workflows is None else f", {len(workflows)} workflow(s) asked"
    return check.summary(f"{len(snap.tasks)} task(s){asked}")


def check_no_invoice_number_left_dangling(snap: Snapshot) -> Check:
    """A cancelled order's NF-e number is either on an NF-e (authorised, then cancelled or
    flagged) or given up (voided): a gap SEFAZ must be told of (inutilização)."""
    check = Check("no NF-e number left dangling")
    used = {(inv.series, inv.number) for inv in snap.invoices.values()}
    for (series, number), order_id in sorted(snap.numbers.items()):
        order = snap.orders.get(order_id)
        if order is None or order.status != OrderStatus.CANCELLED.value:
            continue
        if (series, number) not in used and (series, number) not in snap.voided:
            check.fail(
                f"NF-e {series}/{number} was allocated to {order_id}, which is cancelled, "
                "and is neither on an NF-e nor voided: void it (and have SEFAZ inutilise it)"
            )
    return check.summary(f"{len(snap.numbers)} number(s) allocated, {len(snap.voided)} voided")

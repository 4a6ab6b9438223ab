"""The step table's runtime guards: a workflow cannot send a step the wrong input, and a
result that is not the step's output type is refused."""

from __future__ import annotations

import pytest

from domain.steps import TaskQueues
from domain.stock import Released, ReleaseRequest
from workflows import steps
from workflows.steps import Queue, checked

pytestmark = pytest.mark.unit


async def test_a_step_refuses_an_input_of_another_type() -> None:
    wrong = ReleaseRequest(order_id="order:store:1", idempotency_key="k")
    with pytest.raises(TypeError, match="reserve_stock takes ReserveRequest"):
        await steps.Steps(TaskQueues()).call(steps.RESERVE_STOCK, wrong)  # type: ignore[misc]


def test_a_result_of_another_type_is_refused() -> None:
    assert checked(steps.PREPARE_INVOICE, 7) == 7
    assert checked(steps.NOTIFY_SHIPPED, None) is None
    with pytest.raises(TypeError, match="prepare_invoice returned str"):
        checked(steps.PREPARE_INVOICE, "7")


def test_release_reads_the_bare_list_older_orders_recorded() -> None:
    assert Released.model_validate(["SKU-A", "SKU-B"]).skus == ("SKU-A", "SKU-B")
    assert not Released()


def test_task_queue_names_come_from_the_deployment() -> None:
    queues = TaskQueues(orders="o-1", rpa="r-1", finance="f-1")
    assert [queues.name(q.value) for q in Queue] == ["o-1", "r-1", "f-1"]

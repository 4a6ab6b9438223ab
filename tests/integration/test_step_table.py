"""Every worker registers exactly the steps of its queue, each with the step's types,
and Temporal's own Worker accepts the registration."""

from __future__ import annotations

import typing
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config.settings import DatabaseSettings, Settings
from workers import finance, orders, rpa
from workers.runtime import activities_of, task_queue
from workflows.steps import NONE, STEPS, Queue, Step, queue_steps, step_of

pytestmark = pytest.mark.integration


async def holders_of(
    queue: Queue, settings: Settings, stack: AsyncExitStack, env: WorkflowEnvironment
) -> list[object]:
    if queue is Queue.ORDERS:
        return await orders.build_holders(settings, stack, env.client)
    if queue is Queue.RPA:  # launches the worker's one Chromium
        return await rpa.build_holders(settings, stack, env.client)
    return await finance.build_holders(settings, stack, env.client)


def signature(method: Any) -> tuple[Any, Any]:
    hints = typing.get_type_hints(method)
    returned = hints.pop("return")
    [(_, param)] = hints.items()
    return param, NONE if returned is None else returned


@pytest.mark.parametrize("queue", list(Queue))
async def test_each_worker_registers_exactly_the_steps_of_its_queue_with_their_types(
    queue: Queue, tmp_path: Path, dev_env: WorkflowEnvironment
) -> None:
    settings = Settings(var_dir=tmp_path, db=DatabaseSettings(url=f"sqlite:///{tmp_path}/s.db"))
    async with AsyncExitStack() as stack:
        activities = activities_of(await holders_of(queue, settings, stack, dev_env), queue)
        registered = {step_of(a).name: a for a in activities}  # type: ignore[union-attr]
        assert set(registered) == {s.name for s in queue_steps(queue)}
        for name, method in registered.items():
            step: Step[Any, Any] = STEPS[name]
            assert signature(method) == (step.input, step.output), name
        workflows = orders.WORKFLOWS if queue is Queue.ORDERS else ()
        if activities or workflows:  # Temporal validates the definitions on construction
            Worker(
                dev_env.client,
                task_queue=task_queue(settings, queue),
                workflows=list(workflows),
                activities=activities,
            )


def test_every_step_is_declared_on_a_queue_with_a_worker() -> None:
    assert {s.queue for s in STEPS.values()} <= set(Queue)
    assert len(STEPS) == len({s.name for s in STEPS.values()})

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.errors import ErrorTranslation
from domain.events import OrderEvent
from domain.ids import order_workflow_id
from domain.steps import OrderPolicy, OrderState, OrderWorkflowInput
from tests.workflows.world import FakeWorld
from workflows.order import OrderWorkflow

POLICY = OrderPolicy(
    payment_window_s=3600, delivery_window_s=7 * 24 * 3600, invoice_cancel_window_s=24 * 3600
)


class Harness:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, world: FakeWorld) -> None:
        self.env = env
        self.client: Client = env.client
        self.task_queue = task_queue
        self.world = world

    async def start(
        self, first: OrderEvent, policy: OrderPolicy = POLICY
    ) -> WorkflowHandle[OrderWorkflow, OrderState]:
        wid = order_workflow_id(first.channel, first.external_id)
        return await self.client.start_workflow(
            OrderWorkflow.run,
            OrderWorkflowInput(channel=first.channel, external_id=first.external_id, policy=policy),
            id=wid,
            task_queue=self.task_queue,
            start_signal="event",
            start_signal_args=[first],
            execution_timeout=timedelta(days=60),
        )


async def eventually(
    check: Callable[[], Awaitable[bool]], attempts: int = 200, delay: float = 0.05
) -> None:
    import asyncio

    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(delay)
    raise AssertionError("condition never became true")


@pytest.fixture
async def harness(time_env: WorkflowEnvironment) -> AsyncIterator[Harness]:
    world = FakeWorld()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=world.activities(),
        interceptors=[ErrorTranslation()],
    ):
        yield Harness(time_env, queue, world)

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.errors import ErrorTranslation
from domain.events import OrderEvent
from domain.ids import order_workflow_id
from domain.steps import OrderPolicy, OrderState, OrderWorkflowInput, TaskQueues
from tests.workflows.world import FakeWorld
from workflows.order import SHIPPING_INCIDENTS, OrderWorkflow

POLICY = OrderPolicy(
    payment_window_s=3600, delivery_window_s=7 * 24 * 3600, invoice_cancel_window_s=24 * 3600
)


class Harness:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, world: FakeWorld) -> None:
        self.env = env
        self.client: Client = env.client
        self.task_queue = task_queue
        self.world = world
        self.started: list[str] = []

    async def start(
        self, first: OrderEvent, policy: OrderPolicy = POLICY
    ) -> WorkflowHandle[OrderWorkflow, OrderState]:
        wid = order_workflow_id(first.channel, first.external_id)
        self.started.append(wid)
        return await self.client.start_workflow(
            OrderWorkflow.run,
            OrderWorkflowInput(
                channel=first.channel,
                external_id=first.external_id,
                policy=policy,
                # one worker for every queue: the portal bot's steps run beside the rest
                queues=TaskQueues(orders=self.task_queue, rpa=self.task_queue),
            ),
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


HISTORIES = Path(__file__).parent / "histories"
MANIFEST = HISTORIES / "MANIFEST"
HISTORY_TAG = SHIPPING_INCIDENTS  # the newest patch: what new recordings exercise


@pytest.fixture
async def harness(
    time_env: WorkflowEnvironment, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    world = FakeWorld()
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[OrderWorkflow],
        activities=world.activities(),
        interceptors=[ErrorTranslation()],
    ):
        harness = Harness(time_env, queue, world)
        yield harness
        if os.environ.get("RETAGUARDA_RECORD_HISTORIES") == "1":
            await record_histories(harness, request.node.name)


async def record_histories(harness: Harness, test_name: str) -> None:
    """Write each workflow's history for the replay test. Recorded histories are
    append-only: a file that exists is never rewritten (a command-changing workflow edit
    goes behind `workflow.patched()` and gets new histories, tagged with the patch)."""
    HISTORIES.mkdir(exist_ok=True)
    for index, workflow_id in enumerate(harness.started):
        history = await harness.client.get_workflow_handle(workflow_id).fetch_history()
        name = test_name.removeprefix("test_")[:80]
        path = HISTORIES / f"{name}.{HISTORY_TAG}-{index}.json"
        if path.exists():
            continue
        path.write_text(history.to_json())
        append_to_manifest(path)


def append_to_manifest(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with MANIFEST.open("a", encoding="utf-8") as manifest:
        manifest.write(f"{digest}  {path.name}\n")

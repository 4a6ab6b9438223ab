"""The nightly reconciliation on a real dev server: the workflow on the finance queue, its
schedule created idempotently (a paused schedule stays paused), a night run twice gives
the same answer, alerts raise NeedsAttention."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.errors import ErrorTranslation
from config.schedules import ensure_schedules, schedule_id
from config.settings import FinanceSettings, Settings, TemporalSettings
from db.session import create_engine, create_sessionmaker
from domain.reconciliation import (
    ReconcileRequest,
    ReconcileResult,
    ReconKind,
    reconciliation_workflow_id,
)
from tests.integration.finance_world import FinanceWorld, sell_a_day
from tests.support.sandbox import sandbox_world
from workers.runtime import activities_of
from workflows.reconciliation import ReconciliationWorkflow
from workflows.search import NEEDS_ATTENTION
from workflows.steps import Queue

pytestmark = pytest.mark.workflow


@pytest.fixture
async def finance(
    dev_env: WorkflowEnvironment, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[tuple[FinanceWorld, str]]:
    engine = create_engine(sqlite_url)
    queue = f"finance-{uuid.uuid4().hex[:8]}"
    try:
        async with sandbox_world(seed=5) as sandbox:
            world = await sell_a_day(sandbox, create_sessionmaker(engine), tmp_path / "fin")
            async with Worker(
                dev_env.client,
                task_queue=queue,
                workflows=[ReconciliationWorkflow],
                activities=activities_of([world.activities], Queue.FINANCE),
                interceptors=[ErrorTranslation()],
            ):
                yield world, queue
    finally:
        await engine.dispose()


async def run_night(client: Client, queue: str, request: ReconcileRequest) -> ReconcileResult:
    assert request.day is not None
    return await client.execute_workflow(
        ReconciliationWorkflow.run,
        request,
        id=reconciliation_workflow_id(request.kind, request.day),
        task_queue=queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        execution_timeout=timedelta(minutes=2),
    )


async def test_a_night_reconciled_twice_answers_the_same_and_flags_its_alerts(
    dev_env: WorkflowEnvironment, finance: tuple[FinanceWorld, str]
) -> None:
    world, queue = finance
    request = ReconcileRequest(kind=ReconKind.MARKETPLACE, day=world.day, finance_queue=queue)
    first = await run_night(dev_env.client, queue, request)
    stored = await world.results.fingerprint("marketplace", world.day)
    second = await run_night(dev_env.client, queue, request)
    assert second == first
    assert await world.results.fingerprint("marketplace", world.day) == stored
    assert first.alerts > 0
    handle = dev_env.client.get_workflow_handle(reconciliation_workflow_id(request.kind, world.day))
    described = await handle.describe()
    assert described.typed_search_attributes.get(NEEDS_ATTENTION) is True


async def test_the_nightly_schedule_is_created_once_and_a_paused_one_stays_paused(
    dev_env: WorkflowEnvironment, finance: tuple[FinanceWorld, str], tmp_path: Path
) -> None:
    world, queue = finance
    settings = Settings(
        var_dir=tmp_path,
        temporal=TemporalSettings(finance_queue=queue),
        finance=FinanceSettings(marketplace_cron="0 3 * * *"),
    )
    sid = schedule_id(ReconKind.MARKETPLACE)
    try:
        ids = [sid, schedule_id(ReconKind.BANK)]
        assert await ensure_schedules(dev_env.client, settings) == ids
        handle = dev_env.client.get_schedule_handle(sid)
        await handle.pause(note="month closing: hold the nightly run")
        later = settings.model_copy(
            update={"finance": FinanceSettings(marketplace_cron="15 4 * * *")}
        )
        assert await ensure_schedules(dev_env.client, later) == ids
        described = await handle.describe()
        assert described.schedule.state.paused, "starting a worker unpaused a held schedule"
        [calendar] = described.schedule.spec.calendars  # the server keeps cron as calendars
        assert (calendar.hour[0].start, calendar.minute[0].start) == (4, 15)
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.task_queue == queue
        # Triggered now, it reconciles the night before on the finance queue.
        await handle.trigger()
        result = await _next_run_result(dev_env.client, handle)
        assert result["day"] == (world.day - timedelta(days=1)).isoformat()
        assert result["classified"]["unexpected_payout"] == 1  # the sandbox's stray payout
    finally:
        for kind in ReconKind:
            await dev_env.client.get_schedule_handle(schedule_id(kind)).delete()


async def _next_run_result(client: Client, handle: Any) -> dict[str, Any]:
    for _ in range(100):
        described = await handle.describe()
        if described.info.recent_actions:
            run = described.info.recent_actions[-1].action
            result: ReconcileResult = await client.get_workflow_handle(
                run.workflow_id, run_id=run.first_execution_run_id, result_type=ReconcileResult
            ).result()
            return result.model_dump(mode="json")
        await asyncio.sleep(0.1)
    raise AssertionError("the schedule never started its workflow")

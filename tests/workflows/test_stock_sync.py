"""The per-SKU stock sync: bursts coalesce, every channel gets each push."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.orders import Channel
from domain.stock import ChannelStockPush, StockSyncInput, stock_sync_workflow_id
from tests.workflows.conftest import HISTORIES, append_to_manifest
from workflows import steps
from workflows.search import NEEDS_ATTENTION, STUCK_STEP
from workflows.stock_sync import StockSyncWorkflow

pytestmark = pytest.mark.workflow


async def test_a_burst_of_requests_becomes_one_push_per_channel(
    time_env: WorkflowEnvironment,
) -> None:
    pushes: list[tuple[str, Channel]] = []

    @activity.defn(name=steps.PUSH_CHANNEL_STOCK.name)
    async def push_channel_stock(push: ChannelStockPush) -> int:
        pushes.append((push.sku, push.channel))
        return 3

    queue = f"sync-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[StockSyncWorkflow],
        activities=[push_channel_stock],
    ):
        handle = await time_env.client.start_workflow(
            StockSyncWorkflow.run,
            StockSyncInput(sku="SKU-A"),
            id=stock_sync_workflow_id("SKU-A"),
            task_queue=queue,
            start_signal="request",
        )
        for _ in range(9):
            await handle.signal(StockSyncWorkflow.request)
        for _ in range(100):
            if await handle.query(StockSyncWorkflow.pushed_rounds) == 1:
                break
            await asyncio.sleep(0.05)
        assert sorted(pushes) == [("SKU-A", Channel.MARKETPLACE), ("SKU-A", Channel.STORE)]

        await handle.signal(StockSyncWorkflow.request)
        for _ in range(100):
            if await handle.query(StockSyncWorkflow.pushed_rounds) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(pushes) == 4
        await handle.terminate()
        if os.environ.get("RETAGUARDA_RECORD_HISTORIES") == "1":
            history = await handle.fetch_history()
            path = HISTORIES / "stock_sync_burst-0.json"
            if not path.exists():  # append-only: never rewrite a recorded history
                path.write_text(history.to_json())
                append_to_manifest(path)


async def test_a_channel_down_past_the_deadline_flags_the_sku_until_it_is_back(
    time_env: WorkflowEnvironment,
) -> None:
    down = {Channel.MARKETPLACE}
    landed: list[Channel] = []

    @activity.defn(name=steps.PUSH_CHANNEL_STOCK.name)
    async def push_channel_stock(push: ChannelStockPush) -> int:
        if push.channel in down:
            raise ApplicationError("marketplace answered 503", type="ProviderUnavailable")
        landed.append(push.channel)
        return 3

    queue = f"sync-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[StockSyncWorkflow],
        activities=[push_channel_stock],
    ):
        handle = await time_env.client.start_workflow(
            StockSyncWorkflow.run,
            StockSyncInput(sku="SKU-B"),
            id=stock_sync_workflow_id("SKU-B"),
            task_queue=queue,
            start_signal="request",
        )

        async def stale() -> list[Channel]:
            return await handle.query(StockSyncWorkflow.stale_channels)

        for _ in range(60):
            if await stale():
                break
            await time_env.sleep(timedelta(minutes=1))
        assert await stale() == [Channel.MARKETPLACE]
        attributes = (await handle.describe()).typed_search_attributes
        assert attributes.get(NEEDS_ATTENTION) is True
        assert attributes.get(STUCK_STEP) == "push_channel_stock:marketplace"
        assert Channel.STORE in landed

        down.clear()
        for _ in range(10):
            if not await stale():
                break
            await time_env.sleep(timedelta(minutes=1))
        assert await stale() == []
        assert (await handle.describe()).typed_search_attributes.get(NEEDS_ATTENTION) is False
        assert Channel.MARKETPLACE in landed
        await handle.terminate()

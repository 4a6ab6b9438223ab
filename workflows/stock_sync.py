"""`stock-sync:{sku}`: pushes one SKU's availability to every channel. Orders only ask
for a sync (a signal); a burst of asks becomes one push per channel, a channel that is
down never holds an order up, and each push sends the availability of that moment.

A channel still failing after the provider deadline is flagged: `NeedsAttention=true`
and `StuckStep=push_channel_stock:<channel>` (ops see the SKU whose channel shows stale
stock); the workflow keeps trying every minute and clears the flag once it lands."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.orders import Channel
    from domain.steps import TaskQueues
    from domain.stock import ChannelStockPush, StockSyncInput
    from workflows import steps
    from workflows.search import NEEDS_ATTENTION, STUCK_STEP


@workflow.defn(name="StockSyncWorkflow")
class StockSyncWorkflow:
    def __init__(self) -> None:
        self._requested = 0
        self._pushed = 0
        self.rounds = 0
        self._stale: set[Channel] = set()
        self._steps = steps.Steps(TaskQueues())

    @workflow.run
    async def run(self, inp: StockSyncInput) -> None:
        if inp.pending:
            self._requested += 1
        while self.rounds < steps.STOCK_SYNC_ROUNDS_PER_RUN:
            if self._stale:
                await self._wait_or_retry(timedelta(seconds=inp.stale_retry_s))
            else:
                await workflow.wait_condition(lambda: self._requested > self._pushed)
            await workflow.sleep(steps.STOCK_SYNC_COALESCE)
            self._pushed = self._requested
            deadline = timedelta(seconds=inp.push_deadline_s)
            results = await asyncio.gather(
                *(self._push(inp.sku, channel, deadline) for channel in inp.channels)
            )
            self._flag({c for c, ok in zip(inp.channels, results, strict=True) if not ok})
            self.rounds += 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            StockSyncInput(
                sku=inp.sku,
                channels=inp.channels,
                pending=self._requested > self._pushed or bool(self._stale),
                push_deadline_s=inp.push_deadline_s,
                stale_retry_s=inp.stale_retry_s,
            )
        )

    async def _wait_or_retry(self, after: timedelta) -> None:
        """With a stale channel: push again on the next request or after a while."""
        try:
            await workflow.wait_condition(lambda: self._requested > self._pushed, timeout=after)
        except TimeoutError:
            self._requested += 1

    async def _push(self, sku: str, channel: Channel, deadline: timedelta) -> bool:
        try:
            await self._steps.call(
                steps.PUSH_CHANNEL_STOCK,
                ChannelStockPush(sku=sku, channel=channel),
                deadline=deadline,
            )
        except ActivityError:
            return False
        return True

    def _flag(self, stale: set[Channel]) -> None:
        if stale == self._stale:
            return
        self._stale = stale
        where = ",".join(sorted(c.value for c in stale))
        workflow.upsert_search_attributes(
            [
                NEEDS_ATTENTION.value_set(bool(stale)),
                STUCK_STEP.value_set(f"{steps.PUSH_CHANNEL_STOCK.name}:{where}" if stale else ""),
            ]
        )

    @workflow.signal(name=steps.STOCK_SYNC_REQUEST_SIGNAL)
    def request(self) -> None:
        self._requested += 1

    @workflow.query(name="pushed_rounds")
    def pushed_rounds(self) -> int:
        return self.rounds

    @workflow.query(name="stale_channels")
    def stale_channels(self) -> list[Channel]:
        return sorted(self._stale)

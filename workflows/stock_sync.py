"""`stock-sync:{sku}`: pushes one SKU's availability to every channel. Orders only ask
for a sync (a signal); a burst of asks becomes one push per channel, a channel that is
down never holds an order up, and each push sends the availability of that moment."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.stock import ChannelStockPush, StockSyncInput
    from workflows import steps


@workflow.defn(name="StockSyncWorkflow")
class StockSyncWorkflow:
    def __init__(self) -> None:
        self._requested = 0
        self._pushed = 0
        self.rounds = 0

    @workflow.run
    async def run(self, inp: StockSyncInput) -> None:
        if inp.pending:
            self._requested += 1
        while self.rounds < steps.STOCK_SYNC_ROUNDS_PER_RUN:
            await workflow.wait_condition(lambda: self._requested > self._pushed)
            await workflow.sleep(steps.STOCK_SYNC_COALESCE)
            self._pushed = self._requested
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        steps.PUSH_CHANNEL_STOCK,
                        ChannelStockPush(sku=inp.sku, channel=channel),
                        start_to_close_timeout=steps.PROVIDER_TIMEOUT,
                        retry_policy=steps.CHANNEL_STOCK_RETRY,
                    )
                    for channel in inp.channels
                )
            )
            self.rounds += 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            StockSyncInput(
                sku=inp.sku, channels=inp.channels, pending=self._requested > self._pushed
            )
        )

    @workflow.signal(name="request")
    def request(self) -> None:
        self._requested += 1

    @workflow.query(name="pushed_rounds")
    def pushed_rounds(self) -> int:
        return self.rounds

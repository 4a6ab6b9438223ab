"""What every part of the order workflow does the same way: call a step, wait on a
condition, tell the read model the status (v2: from this one place, before every wait
and every provider call, so it costs no extra round trip)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.ids import idempotency_key
    from domain.orders import OrderStatus
    from domain.steps import StatusChange
    from domain.stock import StockPush
    from workflows import steps

from workflows.order_state import OrderProgress

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")


class OrderCalls:
    def __init__(self, state: OrderProgress) -> None:
        self.s = state
        self.steps = steps.Steps(state.input.queues)

    async def call(
        self, step: steps.Step[In, Out], arg: In, *, deadline: timedelta | None = None
    ) -> Out:
        """Run a step; before a provider call the read model learns the status (v2)."""
        if not step.local:
            await self.flush()
        return await self.steps.call(step, arg, deadline=deadline)

    async def flush(self, note: str = "", *, force: bool = False) -> None:
        """v2: write the statuses reached since the last write (one local activity, in a
        workflow task that happens anyway). v1 orders write them where they always did."""
        s = self.s
        if not s.crash_safe or not (s.unrecorded or force):
            return
        if s.order is None and not force:  # nothing in the read model yet
            return
        await self.steps.call(steps.RECORD_STATUS, s.status_change(note))

    async def wait(
        self,
        condition: Callable[[], bool],
        *,
        within: timedelta | None = None,
        wake_on_cancel: bool = True,
    ) -> bool:
        """Wait for `condition` (or a cancellation); False when the timeout fired first."""
        await self.flush()
        s = self.s

        def ready() -> bool:
            return condition() or (wake_on_cancel and s.cancel_reason is not None)

        try:
            await workflow.wait_condition(ready, timeout=within)
        except TimeoutError:
            return False
        return condition()

    async def sync_stock(self) -> None:
        """Ask each SKU's stock-sync workflow to push the new availability everywhere."""
        skus = tuple(sorted(self.s.require_order().quantities()))
        push = StockPush(skus=skus, idempotency_key=idempotency_key(self.s.order_id, "stock_sync"))
        await self.steps.call(steps.REQUEST_STOCK_SYNC, push)

    async def record_status_v1(self, status: OrderStatus, note: str = "") -> None:
        """v1 orders: a status written by a local activity where v1 wrote it."""
        change = StatusChange(order_id=self.s.order_id, status=status, at=workflow.now(), note=note)
        await self.steps.call(steps.RECORD_STATUS, change)

    def key(self, step: str) -> str:
        return idempotency_key(self.s.order_id, step)

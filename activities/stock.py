"""Stock activities: reserve and release (local, one database transaction each), ask
the per-SKU sync workflows to push availability, push one SKU to one channel, and
dispatch (the stock leaves the warehouse)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from domain.steps import DispatchRequest
from domain.stock import (
    ChannelStockPush,
    Released,
    ReleaseRequest,
    Reservation,
    ReserveRequest,
    StockPush,
)
from integrations.channels import ChannelClients
from workflows import steps
from workflows.steps import implements

SyncRequester = Callable[[str], Awaitable[None]]


class CoalescedRequests:
    """Ask a SKU's stock-sync workflow at most once per `window_s` from this process.

    Safe because the sync workflow reads availability only after its own coalescing
    pause (`STOCK_SYNC_COALESCE`), which starts no earlier than the first ask: a change
    committed before a later ask within `window_s` (shorter than that pause) is read by
    the push the first ask set off. Each skipped ask saves a signal and a workflow task."""

    def __init__(
        self,
        request: SyncRequester,
        window_s: float = steps.STOCK_SYNC_COALESCE.total_seconds() * 0.75,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._request = request
        self._window_s = window_s
        self._clock = clock
        self._asked: dict[str, float] = {}
        self.skipped = 0

    async def __call__(self, sku: str) -> None:
        now = self._clock()
        if now - self._asked.get(sku, -self._window_s - 1) < self._window_s:
            self.skipped += 1
            return
        await self._request(sku)
        self._asked[sku] = now


class StockActivities:
    def __init__(
        self,
        stock: StockRepository,
        warehouse: WarehouseRepository,
        channels: ChannelClients,
        request_sync: SyncRequester,
    ) -> None:
        self._stock = stock
        self._warehouse = warehouse
        self._channels = channels
        self._request_sync = request_sync

    @implements(steps.RESERVE_STOCK)
    async def reserve_stock(self, request: ReserveRequest) -> Reservation:
        """Reserve every line or none. A shortage is returned, not raised: whether it is
        a failure is the workflow's decision."""
        return await self._stock.reserve(request)

    @implements(steps.RELEASE_STOCK)
    async def release_stock(self, request: ReleaseRequest) -> Released:
        """Take the order's task off the floor and give its stock back; keyed by the
        order, a no-op when nothing is held. Returns the SKUs released."""
        await self._warehouse.cancel_task(request.order_id)
        return Released(skus=tuple(await self._stock.release(request.order_id)))

    @implements(steps.REQUEST_STOCK_SYNC)
    async def request_stock_sync(self, push: StockPush) -> None:
        """Signal (starting if needed) `stock-sync:{sku}` for each SKU."""
        for sku in push.skus:
            await self._request_sync(sku)

    @implements(steps.PUSH_CHANNEL_STOCK)
    async def push_channel_stock(self, push: ChannelStockPush) -> int:
        """The SKU's availability right now, to one channel (absolute: repeating is
        harmless)."""
        available = (await self._stock.availability([push.sku])).get(push.sku, 0)
        await self._channels.for_channel(push.channel).push_stock(push.sku, available)
        return available

    @implements(steps.DISPATCH)
    async def dispatch(self, request: DispatchRequest) -> None:
        """The parcel leaves: its reserved stock is consumed, its task is closed."""
        for record in request.warehouse:
            await self._warehouse.record_step(request.order_id, record)
        await self._stock.ship(request.order_id, at=request.at)

"""Stock activities: reserve and release (local, one database transaction each), ask
the per-SKU sync workflows to push availability, push one SKU to one channel, and
dispatch (the stock leaves the warehouse)."""

from __future__ import annotations

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

"""Stock activities: reserve and release (local, one database transaction each), ask
the per-SKU sync workflows to push availability, push one SKU to one channel, and
dispatch (the stock leaves the warehouse)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio import activity

from db.orders import OrderReadModel
from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from domain.orders import OrderStatus
from domain.steps import DispatchRequest
from domain.stock import (
    ChannelStockPush,
    ReleaseRequest,
    Reservation,
    ReserveRequest,
    StockPush,
)
from integrations.channels import ChannelClients
from workflows import steps

SyncRequester = Callable[[str], Awaitable[None]]


class StockActivities:
    def __init__(
        self,
        stock: StockRepository,
        orders: OrderReadModel,
        warehouse: WarehouseRepository,
        channels: ChannelClients,
        request_sync: SyncRequester,
    ) -> None:
        self._stock = stock
        self._orders = orders
        self._warehouse = warehouse
        self._channels = channels
        self._request_sync = request_sync

    @activity.defn(name=steps.RESERVE_STOCK)
    async def reserve_stock(self, request: ReserveRequest) -> Reservation:
        """Reserve every line or none. A shortage is returned, not raised: whether it is
        a failure is the workflow's decision."""
        reservation = await self._stock.reserve(request)
        if reservation.reserved:
            await self._orders.set_status(
                request.order_id, OrderStatus.RESERVED, at=datetime.now(UTC)
            )
        return reservation

    @activity.defn(name=steps.RELEASE_STOCK)
    async def release_stock(self, request: ReleaseRequest) -> list[str]:
        await self._warehouse.cancel_task(request.order_id)
        return await self._stock.release(request.order_id)

    @activity.defn(name=steps.REQUEST_STOCK_SYNC)
    async def request_stock_sync(self, push: StockPush) -> None:
        """Signal (starting if needed) `stock-sync:{sku}` for each SKU."""
        for sku in push.skus:
            await self._request_sync(sku)

    @activity.defn(name=steps.PUSH_CHANNEL_STOCK)
    async def push_channel_stock(self, push: ChannelStockPush) -> int:
        """The SKU's availability right now, to one channel (absolute: repeating is
        harmless)."""
        available = (await self._stock.availability([push.sku])).get(push.sku, 0)
        await self._channels.for_channel(push.channel).push_stock(push.sku, available)
        return available

    @activity.defn(name=steps.DISPATCH)
    async def dispatch(self, request: DispatchRequest) -> None:
        await self._stock.ship(request.order_id)
        await self._orders.set_status(request.order_id, OrderStatus.SHIPPED, at=datetime.now(UTC))

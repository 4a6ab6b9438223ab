"""Stock activities: reserve and release (local, one database transaction each), push
availability to every channel, and dispatch (the stock leaves the warehouse)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db.orders import OrderReadModel
from db.stock import StockRepository
from db.warehouse import WarehouseRepository
from domain.orders import OrderStatus
from domain.steps import DispatchRequest
from domain.stock import ReleaseRequest, Reservation, ReserveRequest, StockPush
from integrations.channels import ChannelClients
from workflows import steps


class StockActivities:
    def __init__(
        self,
        stock: StockRepository,
        orders: OrderReadModel,
        warehouse: WarehouseRepository,
        channels: ChannelClients,
    ) -> None:
        self._stock = stock
        self._orders = orders
        self._warehouse = warehouse
        self._channels = channels

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

    @activity.defn(name=steps.PUSH_STOCK)
    async def push_stock(self, push: StockPush) -> dict[str, int]:
        """Absolute availability to every channel: a repeated push is harmless."""
        availability = await self._stock.availability(list(push.skus))
        for _channel, client in self._channels.all():
            for sku, available in sorted(availability.items()):
                await client.push_stock(sku, available)
        return availability

    @activity.defn(name=steps.DISPATCH)
    async def dispatch(self, request: DispatchRequest) -> None:
        await self._stock.ship(request.order_id)
        await self._orders.set_status(request.order_id, OrderStatus.SHIPPED, at=request.at)

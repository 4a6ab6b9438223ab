"""Warehouse bookkeeping: open the task operators see, record each step they do."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db.orders import OrderReadModel
from db.warehouse import WarehouseRepository
from domain.orders import OrderStatus
from domain.steps import WarehouseStepRecorded
from domain.warehouse import WarehouseTaskRequest
from workflows import steps


class WarehouseActivities:
    def __init__(self, warehouse: WarehouseRepository, orders: OrderReadModel) -> None:
        self._warehouse = warehouse
        self._orders = orders

    @activity.defn(name=steps.OPEN_WAREHOUSE_TASK)
    async def open_warehouse_task(self, request: WarehouseTaskRequest) -> None:
        now = datetime.now(UTC)
        await self._warehouse.create_task(request.order_id, request.quantities, now)
        await self._orders.set_status(request.order_id, OrderStatus.PICKING, at=now)

    @activity.defn(name=steps.RECORD_WAREHOUSE_STEP)
    async def record_warehouse_step(self, recorded: WarehouseStepRecorded) -> None:
        await self._warehouse.record_step(recorded.order_id, recorded.record)
        await self._orders.set_status(recorded.order_id, recorded.status, at=datetime.now(UTC))

"""Warehouse bookkeeping: open the task operators see (the order's status comes from the
workflow), and record a step on the v1 path (v2 records it where the durable answer is
received: api/actions.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from db.orders import OrderReadModel
from db.warehouse import WarehouseRepository
from domain.steps import StatusChange, WarehouseStepRecorded
from domain.warehouse import WarehouseTaskRequest
from workflows import steps
from workflows.steps import implements


class WarehouseActivities:
    def __init__(self, warehouse: WarehouseRepository, orders: OrderReadModel) -> None:
        self._warehouse = warehouse
        self._orders = orders

    @implements(steps.OPEN_WAREHOUSE_TASK)
    async def open_warehouse_task(self, request: WarehouseTaskRequest) -> None:
        at = request.at or datetime.now(UTC)
        await self._warehouse.create_task(request.order_id, request.quantities, at)

    @implements(steps.RECORD_WAREHOUSE_STEP)
    async def record_warehouse_step(self, recorded: WarehouseStepRecorded) -> None:
        await self._warehouse.record_step(recorded.order_id, recorded.record)
        await self._orders.record(
            StatusChange(order_id=recorded.order_id, status=recorded.status, at=recorded.record.at)
        )

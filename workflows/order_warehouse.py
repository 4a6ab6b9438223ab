"""The warehouse steps people do (pick, pack, check), taken as Updates so an operator gets
an immediate answer: refused when out of order or when the check does not match."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import DomainError
    from domain.orders import OrderStatus
    from domain.steps import WarehouseStepRecorded
    from domain.warehouse import (
        WarehouseAction,
        WarehouseRecord,
        WarehouseStep,
        validate_action,
    )
    from workflows import steps

from workflows.order_attention import AttentionMixin

WAREHOUSE_STATUS = {
    WarehouseStep.PICK: OrderStatus.PICKED,
    WarehouseStep.PACK: OrderStatus.PACKED,
    WarehouseStep.CHECK: OrderStatus.CHECKED,
}


class WarehouseMixin(AttentionMixin):
    @workflow.update(name="warehouse")
    async def warehouse(self, action: WarehouseAction) -> WarehouseRecord:
        done = [r for r in self._warehouse if r.step is action.step]
        if done:  # an operator's retry after a lost response: same answer
            return done[0]
        try:
            validate_action(action, self._steps_done(), self._require_order().quantities())
        except DomainError as exc:  # a concurrent update got there first
            raise ApplicationError(exc.message, type=exc.code) from None
        record = WarehouseRecord(
            step=action.step, operator=action.operator, shift=action.shift, at=workflow.now()
        )
        self._warehouse.append(record)
        status = WAREHOUSE_STATUS[action.step]
        self._set_status(status)
        await self._local(
            steps.RECORD_WAREHOUSE_STEP,
            WarehouseStepRecorded(order_id=self._id, record=record, status=status),
        )
        return record

    @warehouse.validator
    def _validate_warehouse(self, action: WarehouseAction) -> None:
        if self._cancel_reason is not None:
            raise ApplicationError(
                "this order is being cancelled: put the items back", type="Cancelled"
            )
        if self._status not in (OrderStatus.PICKING, OrderStatus.PICKED, OrderStatus.PACKED):
            if any(r.step is action.step for r in self._warehouse):
                return
            raise ApplicationError(
                f"the order is {self._status.value}, not in the warehouse", type="NotInWarehouse"
            )
        if any(r.step is action.step for r in self._warehouse):
            return
        try:
            validate_action(action, self._steps_done(), self._require_order().quantities())
        except DomainError as exc:
            raise ApplicationError(exc.message, type=exc.code) from None

    def _steps_done(self) -> list[WarehouseStep]:
        return [r.step for r in self._warehouse]

    def _done(self, step: WarehouseStep) -> bool:
        return step in self._steps_done()

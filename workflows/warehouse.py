"""The warehouse steps people do (pick, pack, check), taken as Updates so an operator gets
an immediate answer: refused when out of order or when the check does not match."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import DomainError
    from domain.warehouse import (
        IN_WAREHOUSE,
        STATUS_AFTER,
        WarehouseAction,
        WarehouseOutcome,
        WarehouseRecord,
        WarehouseStep,
        expected_step,
        validate_action,
    )

from workflows.order_state import OrderProgress


def validate_warehouse(s: OrderProgress, action: WarehouseAction) -> None:
    """The `warehouse` Update's validator. A step already done is answered again (an
    operator's retry after a lost response)."""
    if s.cancel_reason is not None:
        raise ApplicationError(
            "this order is being cancelled: put the items back", type="Cancelled"
        )
    already = any(r.step is action.step for r in s.warehouse)
    if s.status not in IN_WAREHOUSE:
        if already:
            return
        raise ApplicationError(
            f"the order is {s.status.value}, not in the warehouse", type="NotInWarehouse"
        )
    if already:
        return
    try:
        validate_action(action, s.steps_done(), s.require_order().quantities())
    except DomainError as exc:
        raise ApplicationError(exc.message, type=exc.code) from None


def take_warehouse_step(s: OrderProgress, action: WarehouseAction) -> tuple[WarehouseRecord, bool]:
    """Record the step in the workflow's state (and its status); returns the record and
    whether it is new."""
    done = [r for r in s.warehouse if r.step is action.step]
    if done:
        return done[0], False
    try:  # a concurrent update may have got there first since validation
        validate_action(action, s.steps_done(), s.require_order().quantities())
    except DomainError as exc:
        raise ApplicationError(exc.message, type=exc.code) from None
    record = WarehouseRecord(
        step=action.step,
        operator=action.operator,
        shift=action.shift,
        at=workflow.now(),
        parcel=action.parcel if action.step is WarehouseStep.PACK else None,
    )
    s.warehouse.append(record)
    s.set_status(STATUS_AFTER[action.step])
    return record, True


def warehouse_outcome(s: OrderProgress, record: WarehouseRecord) -> WarehouseOutcome:
    return WarehouseOutcome(
        record=record,
        status=STATUS_AFTER[record.step],
        next_step=expected_step(s.steps_done()),
        steps=tuple(s.warehouse),
    )

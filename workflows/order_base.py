"""State and plumbing shared by the order workflow's parts: the order's state, the `state`
query, status and search attributes, and how activities are called (names and
policies from workflows/steps.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.attention import OpsDecision, StepFailure
    from domain.fiscal import Invoice
    from domain.freight import (
        Booking,
        TrackingEvent,
    )
    from domain.ids import idempotency_key
    from domain.orders import Order, OrderStatus
    from domain.saga import Compensation
    from domain.steps import (
        OrderState,
        OrderWorkflowInput,
        StatusChange,
        StatusEntry,
    )
    from domain.stock import Reservation, StockPush
    from domain.warehouse import WarehouseRecord
    from workflows import steps
    from workflows.search import ORDER_STATUS


T = TypeVar("T")

CANCELLABLE = frozenset(
    {
        OrderStatus.RECEIVED,
        OrderStatus.RESERVED,
        OrderStatus.AWAITING_PAYMENT,
        OrderStatus.PAID,
        OrderStatus.INVOICED,
        OrderStatus.PICKING,
        OrderStatus.PICKED,
        OrderStatus.PACKED,
        OrderStatus.CHECKED,
    }
)


class CancelOrder(Exception):
    """Raised inside the workflow to stop processing and compensate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OrderBase:
    def __init__(self) -> None:
        self._id = ""
        self._input: OrderWorkflowInput | None = None
        self._status = OrderStatus.RECEIVED
        self._order: Order | None = None
        self._notified = False
        self._refetch = False
        self._seen: set[str] = set()
        self._paid = False
        self._payment_id: str | None = None
        self._paid_amount: Decimal | None = None
        self._reservation: Reservation | None = None
        self._invoice: Invoice | None = None
        self._booking: Booking | None = None
        self._warehouse: list[WarehouseRecord] = []
        self._tracking: list[TrackingEvent] = []
        self._delivered = False
        self._cancel_reason: str | None = None
        self._compensating = False
        self._registered: list[Compensation] = []
        self._undone: list[Compensation] = []
        self._failure: StepFailure | None = None
        self._skip_type: type[BaseModel] | None = None
        self._can_skip = False
        self._decision: OpsDecision | None = None
        self._history: list[StatusEntry] = []
        self._notes: list[str] = []

    @workflow.query(name="state")
    def state(self) -> OrderState:
        inp = self._require_input()
        return OrderState(
            order_id=self._id,
            channel=inp.channel,
            external_id=inp.external_id,
            status=self._status,
            order=self._order,
            paid=self._paid,
            payment_id=self._payment_id,
            invoice=self._invoice,
            booking=self._booking,
            warehouse=tuple(self._warehouse),
            tracking=tuple(self._tracking),
            failure=self._failure,
            can_skip=self._failure is not None and self._can_skip,
            skip_result=self._skip_type.__name__ if self._skip_type else None,
            compensations_registered=tuple(self._registered),
            compensations_done=tuple(self._undone),
            cancel_reason=self._cancel_reason,
            history=tuple(self._history),
            notes=tuple(self._notes),
        )

    def _set_status(self, status: OrderStatus) -> None:
        if status is self._status:
            return
        self._status = status
        self._history.append(StatusEntry(status=status, at=workflow.now()))
        workflow.upsert_search_attributes([ORDER_STATUS.value_set(status.value)])

    async def _record_status(self, status: OrderStatus, note: str = "") -> None:
        change = StatusChange(order_id=self._id, status=status, at=workflow.now(), note=note)
        await self._local(steps.RECORD_STATUS, change)

    def _register(self, undo: Compensation) -> None:
        if undo not in self._registered:
            self._registered.append(undo)

    async def _sync_stock(self) -> None:
        """Ask each SKU's stock-sync workflow to push the new availability everywhere."""
        skus = tuple(sorted(self._require_order().quantities()))
        push = StockPush(skus=skus, idempotency_key=idempotency_key(self._id, "stock_sync"))
        await self._local(steps.REQUEST_STOCK_SYNC, push)

    async def _wait(
        self,
        condition: Callable[[], bool],
        *,
        within: timedelta | None = None,
        wake_on_cancel: bool = True,
    ) -> bool:
        """Wait for `condition` (or a cancellation); False when the timeout fired first."""

        def ready() -> bool:
            return condition() or (wake_on_cancel and self._cancel_reason is not None)

        try:
            await workflow.wait_condition(ready, timeout=within)
        except TimeoutError:
            return False
        return condition()

    async def _act(
        self,
        name: str,
        arg: Any,
        result_type: type[T] | None = None,
        *,
        start_to_close: timedelta = steps.PROVIDER_TIMEOUT,
        deadline: timedelta = steps.PROVIDER_DEADLINE,
    ) -> T:
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close,
            schedule_to_close_timeout=deadline,
            retry_policy=steps.PROVIDER_RETRY,
        )

    async def _local(self, name: str, arg: Any, result_type: type[T] | None = None) -> T:
        return await workflow.execute_local_activity(  # type: ignore[no-any-return]
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=steps.LOCAL_TIMEOUT,
            retry_policy=steps.LOCAL_RETRY,
        )

    def _require_input(self) -> OrderWorkflowInput:
        assert self._input is not None
        return self._input

    def _require_order(self) -> Order:
        assert self._order is not None
        return self._order

    def _require_reservation(self) -> Reservation:
        assert self._reservation is not None
        return self._reservation

"""The API's door to Temporal: connects lazily (the API must accept webhooks while
Temporal is down), starts order workflows with signal-with-start, queries, updates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import DomainError, RetaguardaError
from domain.events import EventKind, OrderEvent
from domain.fiscal_lifecycle import Correction, CorrectionRequest, correction_workflow_id
from domain.ids import order_workflow_id
from domain.payments import PaymentNotice, PaymentNoticeInput, payment_notice_workflow_id
from domain.reconciliation import (
    NightWaiting,
    ReconcileRequest,
    ReconcileResult,
    ReconKind,
    night_of_workflow,
    reconciliation_workflow_id,
)
from domain.steps import OrderPolicy, OrderState, OrderWorkflowInput, TaskQueues
from domain.stock import StockSyncInput, stock_sync_workflow_id
from workflows.search import STUCK_STEP

ORDER_WORKFLOW = "OrderWorkflow"
STOCK_SYNC_WORKFLOW = "StockSyncWorkflow"
CORRECTION_WORKFLOW = "InvoiceCorrectionWorkflow"
RECONCILIATION_WORKFLOW = "ReconciliationWorkflow"
PAYMENT_NOTICE_WORKFLOW = "PaymentNoticeWorkflow"
NIGHT_POLL_S = 2.0  # how often a caller waiting on a night asks whether it waits for a person
Deliverable = OrderEvent | PaymentNotice


def deliverable_workflow_id(item: Deliverable) -> str:
    if isinstance(item, PaymentNotice):
        return payment_notice_workflow_id(item)
    return order_workflow_id(item.channel, item.external_id)


class StaleStockSync(BaseModel):
    sku: str
    stuck_step: str


class WaitingNight(BaseModel):
    """A night's reconciliation that waits for a finance person, and why."""

    kind: ReconKind
    day: date
    workflow_id: str
    step: str
    error_type: str
    reason: str
    since: datetime
    can_skip: bool


class TemporalUnavailable(RetaguardaError):
    """Temporal cannot be reached right now; what was accepted stays in the inbox."""


class OrderNotFound(RetaguardaError):
    pass


class NotAttempted(RetaguardaError):
    """A batched delivery ran out of time before this event's turn; nothing was sent."""


class OrderClosed(DomainError):
    """The order's workflow has finished; an event for it starts nothing new."""


class Rejected(DomainError):
    """The workflow refused an update (wrong step, nothing stuck, bad skip data)."""


class TemporalGateway:
    def __init__(
        self,
        connect: Callable[[], Awaitable[Client]],
        queues: TaskQueues,
        policy: OrderPolicy,
        codec: PayloadCodec,
        rpc_timeout: timedelta = timedelta(seconds=5),
        breaker_s: float = 2.0,
    ) -> None:
        self.codec = codec
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._queues = queues
        self._task_queue = queues.orders
        self._policy = policy
        self._rpc_timeout = rpc_timeout
        self._breaker_s = breaker_s
        self._open_until = 0.0

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        self._fail_fast()
        async with self._lock:
            if self._client is None:
                self._fail_fast()
                try:
                    self._client = await asyncio.wait_for(self._connect(), 5)
                except (RuntimeError, OSError, TimeoutError, RPCError) as exc:
                    self._trip()
                    raise TemporalUnavailable(f"Temporal is not reachable: {exc}") from exc
            return self._client

    def _fail_fast(self) -> None:
        """While Temporal is known to be down, answer at once instead of making every
        webhook wait for a timeout: the inbox keeps the event and the relay retries."""
        if time.monotonic() < self._open_until:
            raise TemporalUnavailable("Temporal was unreachable moments ago; retrying shortly")

    def _trip(self) -> None:
        self._open_until = time.monotonic() + self._breaker_s

    async def deliver(self, event: OrderEvent) -> str:
        """Hand an event to its order workflow, starting it if needed. Tracking events
        never start a workflow. Returns the workflow id."""
        workflow_id = order_workflow_id(event.channel, event.external_id)
        self._fail_fast()
        client = await self.client()
        try:
            if event.kind is EventKind.TRACKING:
                try:
                    await client.get_workflow_handle(workflow_id).signal(
                        "event", event, rpc_timeout=self._rpc_timeout
                    )
                except RPCError as exc:
                    if exc.status is RPCStatusCode.NOT_FOUND:
                        raise OrderClosed(
                            f"order {workflow_id} is not running (finished, or not ours): "
                            "a tracking event for it changes nothing"
                        ) from exc
                    raise
                return workflow_id
            await client.start_workflow(
                ORDER_WORKFLOW,
                OrderWorkflowInput(
                    channel=event.channel,
                    external_id=event.external_id,
                    policy=self._policy,
                    queues=self._queues,
                ),
                id=workflow_id,
                task_queue=self._task_queue,
                start_signal="event",
                start_signal_args=[event],
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=self._rpc_timeout,
            )
        except WorkflowAlreadyStartedError as exc:
            raise OrderClosed(f"order {workflow_id} has already finished") from exc
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        return workflow_id

    async def deliver_notice(self, notice: PaymentNotice) -> str:
        """Start the workflow that fetches a thin notification's payment and tells its
        order (one per notification: a duplicate delivery starts nothing)."""
        workflow_id = payment_notice_workflow_id(notice)
        self._fail_fast()
        client = await self.client()
        try:
            await client.start_workflow(
                PAYMENT_NOTICE_WORKFLOW,
                PaymentNoticeInput(notice=notice, policy=self._policy, queues=self._queues),
                id=workflow_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=self._rpc_timeout,
            )
        except WorkflowAlreadyStartedError:
            pass  # delivered before (the answer was lost): nothing new to start
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        return workflow_id

    async def deliver_any(self, item: Deliverable) -> str:
        if isinstance(item, PaymentNotice):
            return await self.deliver_notice(item)
        return await self.deliver(item)

    async def deliver_many(
        self,
        events: Sequence[Deliverable],
        *,
        concurrency: int = 32,
        deadline: float | None = None,
    ) -> list[Exception | None]:
        """Deliver events concurrently (at most `concurrency` calls in flight), in order
        among the events of one workflow. Returns, aligned with `events`, None for a
        delivered event or the exception it failed with; events not begun before
        `deadline` (time.monotonic()) fail with NotAttempted."""
        results: list[Exception | None] = [NotAttempted("not attempted")] * len(events)
        by_workflow: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            by_workflow.setdefault(deliverable_workflow_id(event), []).append(index)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one_workflow(indexes: list[int]) -> None:
            for index in indexes:
                async with gate:
                    if deadline is not None and time.monotonic() >= deadline:
                        return
                    try:
                        await self.deliver_any(events[index])
                        results[index] = None
                    except Exception as exc:  # every outcome is the caller's to record
                        results[index] = exc

        await asyncio.gather(*(one_workflow(indexes) for indexes in by_workflow.values()))
        return results

    async def request_stock_sync(self, sku: str) -> None:
        """Ask `stock-sync:{sku}` to push the SKU's availability to every channel."""
        self._fail_fast()
        client = await self.client()
        try:
            await client.start_workflow(
                STOCK_SYNC_WORKFLOW,
                StockSyncInput(sku=sku),
                id=stock_sync_workflow_id(sku),
                task_queue=self._task_queue,
                start_signal="request",
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as exc:
            raise self._translate(exc, stock_sync_workflow_id(sku)) from exc

    async def stale_stock_syncs(self, limit: int = 200) -> list[StaleStockSync]:
        """SKUs whose push to some channel has been failing past the deadline."""
        client = await self.client()
        query = (
            f"WorkflowType = '{STOCK_SYNC_WORKFLOW}' AND NeedsAttention = true "
            "AND ExecutionStatus = 'Running'"
        )
        found: list[StaleStockSync] = []
        try:
            async for wf in client.list_workflows(
                query, limit=limit, rpc_timeout=self._rpc_timeout
            ):
                found.append(
                    StaleStockSync(
                        sku=wf.id.removeprefix("stock-sync:"),
                        stuck_step=wf.typed_search_attributes.get(STUCK_STEP) or "",
                    )
                )
        except RPCError as exc:
            raise self._translate(exc, "stock-sync") from exc
        return found

    async def waiting_nights(self, limit: int = 50) -> list[WaitingNight]:
        """The nights whose reconciliation waits for a person (flagged `NeedsAttention`),
        newest first, each with what it waits at and why (its `state` query)."""
        client = await self.client()
        query = (
            f"WorkflowType = '{RECONCILIATION_WORKFLOW}' AND NeedsAttention = true "
            "AND ExecutionStatus = 'Running'"
        )
        found: list[WaitingNight] = []
        try:
            async for wf in client.list_workflows(
                query, limit=limit, rpc_timeout=self._rpc_timeout
            ):
                night = night_of_workflow(wf.id)
                if night is None:
                    continue  # not one of ours (reconciliation_workflow_id)
                state = await self.night_waiting(wf.id)
                if state.failure is None:  # decided since the listing was indexed
                    continue
                found.append(
                    WaitingNight(
                        kind=night[0], day=night[1], workflow_id=wf.id, step=state.failure.step,
                        error_type=state.failure.error_type, reason=state.failure.message,
                        since=state.failure.at, can_skip=state.can_skip,
                    )
                )  # fmt: skip
        except RPCError as exc:
            raise self._translate(exc, "reconcile") from exc
        return sorted(found, key=lambda n: (n.day, n.kind), reverse=True)

    async def night_waiting(self, workflow_id: str) -> NightWaiting:
        """What a night's reconciliation waits at for a person (nothing while it runs)."""
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            waiting: NightWaiting = await handle.query(
                "state", result_type=NightWaiting, rpc_timeout=self._rpc_timeout
            )
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        return waiting

    async def state(self, workflow_id: str) -> OrderState:
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            state: OrderState = await handle.query(
                "state", result_type=OrderState, rpc_timeout=self._rpc_timeout
            )
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        return state

    async def update(self, workflow_id: str, name: str, arg: Any, result_type: type[Any]) -> Any:
        handle = (await self.client()).get_workflow_handle(workflow_id)
        try:
            return await handle.execute_update(
                name, arg, result_type=result_type, rpc_timeout=timedelta(seconds=30)
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause)
            raise Rejected(message, code=getattr(cause, "type", None) or "rejected") from exc
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc

    async def correct_invoice(
        self, request: CorrectionRequest, wait: timedelta
    ) -> tuple[str, Correction | None]:
        """Start the CC-e's workflow (its id is the NF-e key and the letter's number, so
        asking twice starts it once) and wait up to `wait` for SEFAZ's answer."""
        workflow_id = correction_workflow_id(request.access_key, request.sequence)
        client = await self.client()
        try:
            handle = await client.start_workflow(
                CORRECTION_WORKFLOW,
                request,
                result_type=Correction,
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        try:
            result = await asyncio.wait_for(handle.result(), wait.total_seconds())
        except TimeoutError:
            return workflow_id, None
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        return workflow_id, result

    async def reconcile(
        self, request: ReconcileRequest, wait: timedelta
    ) -> tuple[str, ReconcileResult | None]:
        """Run a night's reconciliation on the finance queue (its id is the kind and the
        day: asking while it runs joins it, asking after it finished runs it again, which
        changes nothing) and wait up to `wait` for its answer."""
        assert request.day is not None
        workflow_id = reconciliation_workflow_id(request.kind, request.day)
        client = await self.client()
        try:
            handle = await client.start_workflow(
                RECONCILIATION_WORKFLOW,
                request.model_copy(
                    update={"finance_queue": self._queues.finance, "rpa_queue": self._queues.rpa}
                ),
                result_type=ReconcileResult,
                id=workflow_id,
                task_queue=self._queues.finance,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                execution_timeout=timedelta(hours=4),
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        outcome = asyncio.ensure_future(handle.result())
        deadline = asyncio.get_running_loop().time() + wait.total_seconds()
        try:
            # a night that waits for a person (a step failing for good) answers as soon as
            # it is seen waiting, not when `wait` runs out
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                done, _ = await asyncio.wait({outcome}, timeout=min(NIGHT_POLL_S, left))
                if done:
                    return workflow_id, outcome.result()
                if await self._night_waits(workflow_id):
                    break
            return workflow_id, None
        except RPCError as exc:
            raise self._translate(exc, workflow_id) from exc
        finally:
            outcome.cancel()

    async def _night_waits(self, workflow_id: str) -> bool:
        """Whether the night waits for a person now; a query that cannot be answered (the
        worker is down) is not an answer: keep waiting for the result."""
        try:
            return (await self.night_waiting(workflow_id)).failure is not None
        except RetaguardaError:
            return False

    def _translate(self, exc: RPCError, workflow_id: str) -> RetaguardaError:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return OrderNotFound(f"no order workflow {workflow_id}")
        if exc.status in (
            RPCStatusCode.UNAVAILABLE,
            RPCStatusCode.DEADLINE_EXCEEDED,
            RPCStatusCode.CANCELLED,
        ):
            self._trip()
            return TemporalUnavailable(f"Temporal did not answer: {exc.message}")
        if exc.status is RPCStatusCode.FAILED_PRECONDITION:
            return OrderClosed(f"order {workflow_id} is no longer running: {exc.message}")
        return TemporalUnavailable(f"Temporal error {exc.status.name}: {exc.message}")

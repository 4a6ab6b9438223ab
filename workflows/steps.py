"""The step table: every activity a workflow calls, declared once, typed.

A `Step` names the activity, its input and output types, the task queue whose worker
runs it, whether it is local (a short database write in the worker's process) or regular
(a provider call), and its timeouts, deadline and retry policy. Workflows call a step
through `Steps.call`, which type-checks both ends; activities implement a step with
`@implements(STEP)`, which registers them under the step's name and lets mypy check the
method's signature against the step's types. `tests/unit/test_step_table.py` checks that
each worker registers exactly the steps of its queue.

Update, signal and query names live here too, beside the steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.carriers import (
        ShippingDocuments,
        ShippingDocumentsRequest,
        TrackingQuery,
        TrackingUpdate,
    )
    from domain.channels import CancelledNotice, FetchOrderRequest, ShippedNotice
    from domain.fiscal import (
        Invoice,
        InvoiceCancellation,
        InvoiceCancellationRequest,
        InvoiceNumberVoid,
        InvoiceRequest,
    )
    from domain.fiscal_lifecycle import (
        Correction,
        CorrectionRequest,
        NumberVoided,
        NumberVoiding,
        ReturnInvoice,
        ReturnInvoiceRequest,
    )
    from domain.freight import (
        Booking,
        BookingRequest,
        ChannelLabelRequest,
        PickupCancellation,
        QuoteRequest,
        QuoteSet,
    )
    from domain.incidents import IncidentRecord, IncidentResolution, RestockRequest
    from domain.orders import Order
    from domain.payments import (
        FetchPaymentRequest,
        OrderDelivery,
        Payment,
        Refund,
        RefundRequest,
    )
    from domain.reconciliation import (
        AccrualResult,
        AccrueRequest,
        PortalReport,
        ReconcileRequest,
        ReconcileResult,
        SettlementDownload,
    )
    from domain.steps import (
        AttentionChange,
        DispatchRequest,
        PrepareInvoice,
        RecordOrder,
        StatusChange,
        TaskQueues,
        WarehouseStepRecorded,
    )
    from domain.stock import (
        ChannelStockPush,
        Released,
        ReleaseRequest,
        Reservation,
        ReserveRequest,
        StockPush,
    )
    from domain.warehouse import WarehouseTaskRequest

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out")
S = TypeVar("S")


class Queue(StrEnum):
    """Logical task queues; each has its own worker process (`retaguarda worker --queue`)."""

    ORDERS = "orders"  # workflows and light activities
    RPA = "rpa"  # Playwright bots: one browser per worker process
    FINANCE = "finance"  # reconciliation, heavy data


@dataclass(frozen=True)
class Timing:
    """How long one attempt may take, how long the step may keep retrying (deadline),
    and how it retries. One place for every policy."""

    start_to_close: timedelta
    retry: RetryPolicy
    deadline: timedelta | None = None  # schedule-to-close: then the step fails for good
    heartbeat: timedelta | None = None  # a silent attempt this long is taken as dead


# Transient provider failures are retried without an attempt limit, for a bounded time:
# a flaky provider (timeouts, 503, 429) recovers by itself; one still failing after the
# step's deadline becomes a needs-attention case for ops. Rejections are not retried.
PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
)
# A channel that is down is retried until it is back (every attempt reads the
# availability afresh, so what finally lands is current).
CHANNEL_STOCK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=0,
)

PROVIDER = Timing(timedelta(seconds=30), PROVIDER_RETRY, deadline=timedelta(minutes=10))
SEFAZ = Timing(timedelta(seconds=60), PROVIDER_RETRY, deadline=timedelta(minutes=30))
LOCAL = Timing(timedelta(seconds=15), LOCAL_RETRY)
CHANNEL_STOCK = Timing(timedelta(seconds=30), CHANNEL_STOCK_RETRY)  # deadline: per call
# A browser task: slow pages take a while; the bot heartbeats at every page, so a worker
# killed mid-task is noticed in 30 s and the task retried (it looks before it acts).
PORTAL = Timing(
    timedelta(seconds=120),
    PROVIDER_RETRY,
    deadline=timedelta(minutes=10),
    heartbeat=timedelta(seconds=30),
)
# A quote or a tracking poll is worth little late: the choice goes on without it.
QUOTE_DEADLINE = timedelta(minutes=2)
# Heavy finance work: long attempts that heartbeat their progress; a worker killed
# halfway is noticed within the heartbeat timeout and the retry resumes from there.
FINANCE_HEAVY = Timing(
    timedelta(minutes=30),
    PROVIDER_RETRY,
    deadline=timedelta(hours=3),
    heartbeat=timedelta(seconds=30),
)


@dataclass(frozen=True)
class Step(Generic[In, Out]):
    name: str
    input: type[In]
    output: type[Out]
    queue: Queue
    local: bool
    timing: Timing


STEPS: dict[str, Step[Any, Any]] = {}


def _step(
    name: str,
    input: type[In],
    output: type[Out],
    *,
    local: bool,
    timing: Timing | None = None,
    queue: Queue = Queue.ORDERS,
) -> Step[In, Out]:
    if name in STEPS:
        raise ValueError(f"step {name!r} is declared twice")
    step = Step(name, input, output, queue, local, timing or (LOCAL if local else PROVIDER))
    STEPS[name] = step
    return step


NONE = type(None)

# Regular activities: external effects, each looks before it acts.
FETCH_ORDER = _step("fetch_order", FetchOrderRequest, Order, local=False)
PUSH_CHANNEL_STOCK = _step(
    "push_channel_stock", ChannelStockPush, int, local=False, timing=CHANNEL_STOCK
)
EMIT_INVOICE = _step("emit_invoice", InvoiceRequest, Invoice, local=False, timing=SEFAZ)
QUOTE_FREIGHT = _step("quote_freight", QuoteRequest, QuoteSet, local=False)
BOOK_SHIPMENT = _step("book_shipment", BookingRequest, Booking, local=False)
NOTIFY_SHIPPED = _step("notify_shipped", ShippedNotice, NONE, local=False)
CANCEL_PICKUP = _step("cancel_pickup", PickupCancellation, NONE, local=False)
CANCEL_INVOICE = _step(
    "cancel_invoice", InvoiceCancellationRequest, InvoiceCancellation, local=False, timing=SEFAZ
)
EMIT_RETURN_INVOICE = _step(
    "emit_return_invoice", ReturnInvoiceRequest, ReturnInvoice, local=False, timing=SEFAZ
)
VOID_NUMBER_AT_SEFAZ = _step(
    "void_invoice_number_at_sefaz", NumberVoiding, NumberVoided, local=False, timing=SEFAZ
)
SEND_CORRECTION = _step(
    "send_invoice_correction", CorrectionRequest, Correction, local=False, timing=SEFAZ
)
REFUND = _step("refund_payment", RefundRequest, Refund, local=False)
FETCH_CHANNEL_LABEL = _step("fetch_channel_label", ChannelLabelRequest, Booking, local=False)
TRACK_SHIPMENT = _step("track_shipment", TrackingQuery, TrackingUpdate, local=False)
# The carrier without an API: the Playwright bot on the `rpa` queue.
QUOTE_PORTAL = _step(
    "quote_portal_freight", QuoteRequest, QuoteSet, local=False, timing=PORTAL, queue=Queue.RPA
)
BOOK_PORTAL_PICKUP = _step(
    "book_portal_pickup", BookingRequest, Booking, local=False, timing=PORTAL, queue=Queue.RPA
)
CANCEL_PORTAL_PICKUP = _step(
    "cancel_portal_pickup", PickupCancellation, NONE, local=False, timing=PORTAL, queue=Queue.RPA
)
# Labels and packing slips printed by the `rpa` worker's Chromium (Jinja2 -> PDF).
RENDER_SHIPPING_DOCUMENTS = _step(
    "render_shipping_documents", ShippingDocumentsRequest, ShippingDocuments, local=False,
    timing=PORTAL, queue=Queue.RPA,
)  # fmt: skip
TRACK_PORTAL_PICKUP = _step(
    "track_portal_pickup", TrackingQuery, TrackingUpdate, local=False, timing=PORTAL,
    queue=Queue.RPA,
)  # fmt: skip
NOTIFY_CANCELLED = _step("notify_cancelled", CancelledNotice, NONE, local=False)
FETCH_PAYMENT = _step("fetch_payment", FetchPaymentRequest, Payment, local=False)

# The finance queue: receivables and the nightly reconciliations (heavy, heartbeating).
ACCRUE_RECEIVABLES = _step(
    "accrue_receivables", AccrueRequest, AccrualResult, local=False, queue=Queue.FINANCE,
    timing=FINANCE_HEAVY,
)  # fmt: skip
RECONCILE_MARKETPLACE = _step(
    "reconcile_marketplace", ReconcileRequest, ReconcileResult, local=False,
    queue=Queue.FINANCE, timing=FINANCE_HEAVY,
)  # fmt: skip

# A channel whose settlement report only its seller portal gives: the `rpa` bot downloads
# it to the documents directory and answers a reference (path, sha256, lines).
DOWNLOAD_SETTLEMENT_REPORT = _step(
    "download_settlement_report", SettlementDownload, PortalReport, local=False,
    timing=PORTAL, queue=Queue.RPA,
)  # fmt: skip
RECONCILE_BANK = _step(
    "reconcile_bank", ReconcileRequest, ReconcileResult, local=False,
    queue=Queue.FINANCE, timing=FINANCE_HEAVY,
)  # fmt: skip

# Local activities: short database writes in the worker's process. Each is idempotent
# per order and correct even when the workflow never learns that it ran (see
# docs/architecture.md, "Effects survive a lost workflow task").
RECORD_ORDER = _step("record_order", RecordOrder, NONE, local=True)
RESERVE_STOCK = _step("reserve_stock", ReserveRequest, Reservation, local=True)
RELEASE_STOCK = _step("release_stock", ReleaseRequest, Released, local=True)
PREPARE_INVOICE = _step("prepare_invoice", PrepareInvoice, int, local=True)
VOID_INVOICE_NUMBER = _step("void_invoice_number", InvoiceNumberVoid, NONE, local=True)
FLAG_RETURN_INVOICE = _step("flag_return_invoice", InvoiceCancellationRequest, NONE, local=True)
OPEN_WAREHOUSE_TASK = _step("open_warehouse_task", WarehouseTaskRequest, NONE, local=True)
RECORD_WAREHOUSE_STEP = _step("record_warehouse_step", WarehouseStepRecorded, NONE, local=True)
DISPATCH = _step("dispatch", DispatchRequest, NONE, local=True)
RECORD_STATUS = _step("record_status", StatusChange, NONE, local=True)
RECORD_ATTENTION = _step("record_attention", AttentionChange, NONE, local=True)
RECORD_TRACKING = _step("record_tracking", StatusChange, NONE, local=True)
REQUEST_STOCK_SYNC = _step("request_stock_sync", StockPush, NONE, local=True)
# A parcel that will not arrive: recorded with its claim, resolved by ops (patch
# `shipping-incidents`); a returned one's items back on hand, once per shipment.
RECORD_INCIDENT = _step("record_incident", IncidentRecord, NONE, local=True)
RESOLVE_INCIDENT = _step("resolve_incident", IncidentResolution, NONE, local=True)
RESTOCK_RETURN = _step("restock_return", RestockRequest, NONE, local=True)
# Signal-with-start of an order workflow (idempotent: the order drops an event it saw).
DELIVER_ORDER_EVENT = _step("deliver_order_event", OrderDelivery, str, local=True)

# Error types activities raise as non-retryable ApplicationError (business rejections).
OUT_OF_STOCK = "OutOfStock"

# Signals, updates and queries of the order workflow.
EVENT_SIGNAL = "event"
WAREHOUSE_UPDATE = "warehouse"
DECIDE_UPDATE = "decide"
CANCEL_UPDATE = "cancel"
STATE_QUERY = "state"
# ... and of the stock-sync workflow.
STOCK_SYNC_REQUEST_SIGNAL = "request"

# Stock sync: the requests within this window become one push per channel (channels
# see availability at most this late; marketplaces throttle stock updates anyway).
STOCK_SYNC_COALESCE = timedelta(seconds=2)
STOCK_SYNC_ROUNDS_PER_RUN = 200


class Steps:
    """How workflow code calls a step: the step's own timeouts and retries, the task
    queue its worker polls, the result decoded into the step's output type."""

    def __init__(self, queues: TaskQueues) -> None:
        self._queues = queues

    async def call(self, step: Step[In, Out], arg: In, *, deadline: timedelta | None = None) -> Out:
        if not isinstance(arg, step.input):
            raise TypeError(f"step {step.name} takes {step.input.__name__}, not {type(arg)}")
        timing = step.timing
        result_type = None if step.output is NONE else step.output
        if step.local:
            result = await workflow.execute_local_activity(
                step.name,
                arg,
                result_type=result_type,
                start_to_close_timeout=timing.start_to_close,
                schedule_to_close_timeout=deadline or timing.deadline,
                retry_policy=timing.retry,
            )
        else:
            queue = None if step.queue is Queue.ORDERS else self._queues.name(step.queue.value)
            result = await workflow.execute_activity(
                step.name,
                arg,
                result_type=result_type,
                task_queue=queue,
                start_to_close_timeout=timing.start_to_close,
                schedule_to_close_timeout=deadline or timing.deadline,
                heartbeat_timeout=timing.heartbeat,
                retry_policy=timing.retry,
            )
        return checked(step, result)


def checked(step: Step[In, Out], result: object) -> Out:
    """The step's result as its declared output type (the converter decoded it into
    that type; this proves it)."""
    if isinstance(result, step.output):
        return result
    raise TypeError(f"step {step.name} returned {type(result).__name__}, not {step.output}")


def implements(
    step: Step[In, Out],
) -> Callable[[Callable[[S, In], Awaitable[Out]]], Callable[[S, In], Awaitable[Out]]]:
    """Mark an activity method as the implementation of `step` (registered under the
    step's name; mypy checks its parameter and return types against the step's)."""

    def mark(fn: Callable[[S, In], Awaitable[Out]]) -> Callable[[S, In], Awaitable[Out]]:
        _IMPLEMENTED[fn] = step
        return activity.defn(name=step.name)(fn)

    return mark


_IMPLEMENTED: dict[object, Step[Any, Any]] = {}


def step_of(fn: object) -> Step[Any, Any] | None:
    """The step an activity (function or bound method) implements, if any."""
    target = getattr(fn, "__func__", fn)
    return _IMPLEMENTED.get(target) if callable(target) else None


def queue_steps(queue: Queue) -> list[Step[Any, Any]]:
    return [s for s in STEPS.values() if s.queue is queue]

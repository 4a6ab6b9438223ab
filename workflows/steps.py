"""The order workflow's steps: activity names, and every timeout and retry policy in one
place. Activities register under these names; the workflow calls them by name, so it
imports nothing with I/O."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Regular activities (external effects, on the `orders` queue).
FETCH_ORDER = "fetch_order"
PUSH_CHANNEL_STOCK = "push_channel_stock"
EMIT_INVOICE = "emit_invoice"
QUOTE_FREIGHT = "quote_freight"
BOOK_SHIPMENT = "book_shipment"
NOTIFY_SHIPPED = "notify_shipped"
CANCEL_PICKUP = "cancel_pickup"
CANCEL_INVOICE = "cancel_invoice"
REFUND = "refund_payment"
NOTIFY_CANCELLED = "notify_cancelled"

# Local activities (short database writes in the worker's process).
RECORD_ORDER = "record_order"
RESERVE_STOCK = "reserve_stock"
RELEASE_STOCK = "release_stock"
PREPARE_INVOICE = "prepare_invoice"
OPEN_WAREHOUSE_TASK = "open_warehouse_task"
RECORD_WAREHOUSE_STEP = "record_warehouse_step"
DISPATCH = "dispatch"
RECORD_STATUS = "record_status"
RECORD_ATTENTION = "record_attention"
RECORD_TRACKING = "record_tracking"
REQUEST_STOCK_SYNC = "request_stock_sync"

# Error types activities raise as non-retryable ApplicationError (business rejections).
OUT_OF_STOCK = "OutOfStock"

# Transient provider failures are retried without an attempt limit, for a bounded time:
# a flaky provider (timeouts, 503, 429) recovers by itself; one still failing after the
# step's deadline becomes a needs-attention case for ops. Rejections are not retried.
PROVIDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)
PROVIDER_DEADLINE = timedelta(minutes=10)
SEFAZ_DEADLINE = timedelta(minutes=30)
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
)

PROVIDER_TIMEOUT = timedelta(seconds=30)
SEFAZ_TIMEOUT = timedelta(seconds=60)
LOCAL_TIMEOUT = timedelta(seconds=15)

FLAG_RETURN_INVOICE = "flag_return_invoice"

# Stock sync: a channel that is down is retried until it is back (every attempt reads
# the availability afresh, so what finally lands is current).
CHANNEL_STOCK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=0,
)
STOCK_SYNC_COALESCE = timedelta(milliseconds=500)
STOCK_SYNC_ROUNDS_PER_RUN = 200
